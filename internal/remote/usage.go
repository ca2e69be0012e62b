package remote

import (
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/encoding/protowire"
)

// POSIXResourceUsageType is the message Buildbarn's workers attach to
// ExecutedActionMetadata.auxiliary_metadata: getrusage(2) of the action and
// the signal that ended it.
const POSIXResourceUsageType = "buildbarn.resourceusage.POSIXResourceUsage"

// Field numbers of buildbarn.resourceusage.POSIXResourceUsage
// (bb-remote-execution pkg/proto/resourceusage/resourceusage.proto).
const (
	rusageUserTime          = 1  // google.protobuf.Duration
	rusageSystemTime        = 2  // google.protobuf.Duration
	rusageMaxRSS            = 3  // int64, bytes
	rusageTerminationSignal = 17 // string, without "SIG": "SEGV"
)

// Usage is what a worker measured about the process.
type Usage struct {
	User, System time.Duration
	MaxRSS       int64  // bytes
	Signal       string // "SIGSEGV" when a signal ended the process
}

// auxUsage reads the POSIXResourceUsage among the auxiliary metadata, if
// any; other types are ignored.
func auxUsage(md *repb.ExecutedActionMetadata) (Usage, bool) {
	for _, a := range md.GetAuxiliaryMetadata() {
		name := a.GetTypeUrl()
		name = name[strings.LastIndexByte(name, '/')+1:]
		if name != POSIXResourceUsageType {
			continue
		}
		if u, ok := decodeUsage(a.GetValue()); ok {
			return u, true
		}
	}
	return Usage{}, false
}

// decodeUsage parses a serialized POSIXResourceUsage; ok is false when the
// bytes are not a well-formed message.
func decodeUsage(b []byte) (u Usage, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Usage{}, false
		}
		b = b[n:]
		switch {
		case (num == rusageUserTime || num == rusageSystemTime) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Usage{}, false
			}
			d, ok := decodeDuration(v)
			if !ok {
				return Usage{}, false
			}
			if num == rusageUserTime {
				u.User = d
			} else {
				u.System = d
			}
			b = b[n:]
		case num == rusageMaxRSS && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return Usage{}, false
			}
			u.MaxRSS = int64(v)
			b = b[n:]
		case num == rusageTerminationSignal && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Usage{}, false
			}
			if len(v) > 0 {
				u.Signal = "SIG" + string(v)
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Usage{}, false
			}
			b = b[n:]
		}
	}
	return u, true
}

// decodeDuration parses a google.protobuf.Duration (seconds = 1, nanos = 2).
func decodeDuration(b []byte) (time.Duration, bool) {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, false
			}
			if num == 1 {
				secs = int64(v)
			} else {
				nanos = int64(int32(v))
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
	}
	return time.Duration(secs)*time.Second + time.Duration(nanos), true
}
