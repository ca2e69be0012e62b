package remote

import (
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestAuxUsage(t *testing.T) {
	user, _ := proto.Marshal(durationpb.New(1500 * time.Millisecond))
	sys, _ := proto.Marshal(durationpb.New(250 * time.Millisecond))
	var b []byte
	b = protowire.AppendTag(b, rusageUserTime, protowire.BytesType)
	b = protowire.AppendBytes(b, user)
	b = protowire.AppendTag(b, rusageSystemTime, protowire.BytesType)
	b = protowire.AppendBytes(b, sys)
	b = protowire.AppendTag(b, rusageMaxRSS, protowire.VarintType)
	b = protowire.AppendVarint(b, 7<<20)
	b = protowire.AppendTag(b, 8, protowire.VarintType) // page_faults: skipped
	b = protowire.AppendVarint(b, 3)
	b = protowire.AppendTag(b, rusageTerminationSignal, protowire.BytesType)
	b = protowire.AppendString(b, "SEGV")
	md := &repb.ExecutedActionMetadata{AuxiliaryMetadata: []*anypb.Any{
		{TypeUrl: "type.googleapis.com/buildbarn.resourceusage.FilePoolResourceUsage", Value: []byte{8, 1}},
		{TypeUrl: "type.googleapis.com/" + POSIXResourceUsageType, Value: b},
	}}
	u, ok := auxUsage(md)
	want := Usage{User: 1500 * time.Millisecond, System: 250 * time.Millisecond, MaxRSS: 7 << 20, Signal: "SIGSEGV"}
	if !ok || u != want {
		t.Errorf("auxUsage = %+v, %v; want %+v", u, ok, want)
	}
	// Unknown types only, or a malformed message: nothing.
	for _, aux := range [][]*anypb.Any{
		{{TypeUrl: "type.googleapis.com/other.Thing", Value: b}},
		{{TypeUrl: "type.googleapis.com/" + POSIXResourceUsageType, Value: []byte{0x8a}}},
	} {
		if u, ok := auxUsage(&repb.ExecutedActionMetadata{AuxiliaryMetadata: aux}); ok {
			t.Errorf("auxUsage(%v) = %+v, want none", aux, u)
		}
	}
}

func FuzzDecodeUsage(f *testing.F) {
	f.Add([]byte{0x0a, 0x02, 0x08, 0x01, 0x8a, 0x01, 0x04, 'S', 'E', 'G', 'V'})
	f.Fuzz(func(t *testing.T, b []byte) { decodeUsage(b) })
}
