package reapitest

import (
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"
)

// usageAny encodes e as Buildbarn's buildbarn.resourceusage.POSIXResourceUsage
// (user_time = 1, system_time = 2, maximum_resident_set_size = 3,
// termination_signal = 17), as bb_worker attaches it to
// ExecutedActionMetadata.auxiliary_metadata.
func usageAny(e ended) *anypb.Any {
	var b []byte
	b = appendDuration(b, 1, e.user)
	b = appendDuration(b, 2, e.system)
	if e.maxRSS != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(e.maxRSS))
	}
	if e.signal != "" {
		b = protowire.AppendTag(b, 17, protowire.BytesType)
		b = protowire.AppendString(b, e.signal)
	}
	return &anypb.Any{TypeUrl: "type.googleapis.com/buildbarn.resourceusage.POSIXResourceUsage", Value: b}
}

func appendDuration(b []byte, field protowire.Number, d time.Duration) []byte {
	var m []byte
	if s := int64(d / time.Second); s != 0 {
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(s))
	}
	if n := int64(d % time.Second); n != 0 {
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(n))
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// unknownAny is auxiliary metadata of a type clients do not know, as real
// workers attach several (file pool, input root statistics).
func unknownAny() *anypb.Any {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 42)
	return &anypb.Any{TypeUrl: "type.googleapis.com/reapitest.WorkerStatistics", Value: b}
}
