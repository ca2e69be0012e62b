package reapitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/bazelbuild/remote-apis/build/bazel/semver"
	"google.golang.org/genproto/googleapis/bytestream"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func digestOf(b []byte) *repb.Digest {
	sum := sha256.Sum256(b)
	return &repb.Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(b))}
}

func key(d *repb.Digest) string { return fmt.Sprintf("%s/%d", d.GetHash(), d.GetSizeBytes()) }

func checkDigest(d *repb.Digest, data []byte) error {
	if key(digestOf(data)) != key(d) {
		return status.Errorf(codes.InvalidArgument, "data does not match digest %s", key(d))
	}
	return nil
}

type capabilities struct{ s *Server }

func (c capabilities) GetCapabilities(context.Context, *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	maxBatch := c.s.opts.MaxBatchTotalSizeBytes
	if maxBatch == 0 {
		maxBatch = 1 << 20
	}
	high := &semver.SemVer{Major: 2, Minor: 3}
	if v := c.s.opts.HighAPIVersion; v != "" {
		maj, min, _ := strings.Cut(v, ".")
		a, _ := strconv.Atoi(maj)
		b, _ := strconv.Atoi(min)
		high = &semver.SemVer{Major: int32(a), Minor: int32(b)}
	}
	sha := repb.DigestFunction_SHA256
	if f := c.s.opts.DigestFunction; f != "" {
		sha = repb.DigestFunction_Value(repb.DigestFunction_Value_value[f])
	}
	caps := &repb.ServerCapabilities{
		CacheCapabilities: &repb.CacheCapabilities{
			DigestFunctions:               []repb.DigestFunction_Value{sha},
			ActionCacheUpdateCapabilities: &repb.ActionCacheUpdateCapabilities{UpdateEnabled: true},
			MaxBatchTotalSizeBytes:        maxBatch,
		},
		ExecutionCapabilities: &repb.ExecutionCapabilities{
			DigestFunction:  sha,
			DigestFunctions: []repb.DigestFunction_Value{sha},
			ExecEnabled:     true,
		},
		LowApiVersion:  &semver.SemVer{Major: 2},
		HighApiVersion: high,
	}
	if c.s.opts.NoCAS {
		caps.CacheCapabilities = nil
	}
	return caps, nil
}

type cas struct {
	s *Server
	repb.UnimplementedContentAddressableStorageServer
}

func (c cas) FindMissingBlobs(_ context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	resp := &repb.FindMissingBlobsResponse{}
	for _, d := range req.GetBlobDigests() {
		if _, ok := c.s.get(d); !ok {
			resp.MissingBlobDigests = append(resp.MissingBlobDigests, d)
		}
	}
	return resp, nil
}

func (c cas) BatchUpdateBlobs(_ context.Context, req *repb.BatchUpdateBlobsRequest) (*repb.BatchUpdateBlobsResponse, error) {
	resp := &repb.BatchUpdateBlobsResponse{}
	for _, r := range req.GetRequests() {
		st := &rpcstatus.Status{}
		if err := checkDigest(r.GetDigest(), r.GetData()); err != nil {
			st = status.Convert(err).Proto()
		} else {
			c.s.receive(r.GetDigest(), r.GetData())
		}
		resp.Responses = append(resp.Responses, &repb.BatchUpdateBlobsResponse_Response{Digest: r.GetDigest(), Status: st})
	}
	return resp, nil
}

func (c cas) BatchReadBlobs(_ context.Context, req *repb.BatchReadBlobsRequest) (*repb.BatchReadBlobsResponse, error) {
	resp := &repb.BatchReadBlobsResponse{}
	for _, d := range req.GetDigests() {
		r := &repb.BatchReadBlobsResponse_Response{Digest: d, Status: &rpcstatus.Status{}}
		if data, ok := c.s.get(d); ok {
			r.Data = data
		} else {
			r.Status = status.New(codes.NotFound, "blob not found").Proto()
		}
		resp.Responses = append(resp.Responses, r)
	}
	return resp, nil
}

func (c cas) GetTree(req *repb.GetTreeRequest, stream grpc.ServerStreamingServer[repb.GetTreeResponse]) error {
	resp := &repb.GetTreeResponse{}
	queue := []*repb.Digest{req.GetRootDigest()}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		dir := &repb.Directory{}
		data, ok := c.s.get(d)
		if !ok {
			return status.Errorf(codes.NotFound, "directory %s not found", key(d))
		}
		if err := proto.Unmarshal(data, dir); err != nil {
			return status.Errorf(codes.InvalidArgument, "directory %s: %v", key(d), err)
		}
		resp.Directories = append(resp.Directories, dir)
		for _, sub := range dir.GetDirectories() {
			queue = append(queue, sub.GetDigest())
		}
	}
	return stream.Send(resp)
}

type actionCache struct {
	s *Server
	repb.UnimplementedActionCacheServer
}

func (a actionCache) GetActionResult(_ context.Context, req *repb.GetActionResultRequest) (*repb.ActionResult, error) {
	a.s.mu.Lock()
	ar, ok := a.s.ac[key(req.GetActionDigest())]
	a.s.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "action not in cache")
	}
	a.s.counts.hits.Add(1)
	return a.s.inline(ar, req.GetInlineStdout(), req.GetInlineStderr(), req.GetInlineOutputFiles()), nil
}

func (a actionCache) UpdateActionResult(_ context.Context, req *repb.UpdateActionResultRequest) (*repb.ActionResult, error) {
	a.s.mu.Lock()
	a.s.ac[key(req.GetActionDigest())] = req.GetActionResult()
	a.s.mu.Unlock()
	return req.GetActionResult(), nil
}

// inline copies ar with the requested outputs inlined, if Options.Inline.
func (s *Server) inline(ar *repb.ActionResult, stdout, stderr bool, files []string) *repb.ActionResult {
	ar = proto.Clone(ar).(*repb.ActionResult)
	if !s.opts.Inline {
		return ar
	}
	if stdout && ar.StdoutDigest != nil {
		ar.StdoutRaw, _ = s.get(ar.StdoutDigest)
	}
	if stderr && ar.StderrDigest != nil {
		ar.StderrRaw, _ = s.get(ar.StderrDigest)
	}
	for _, f := range ar.OutputFiles {
		for _, want := range files {
			if want == f.Path {
				f.Contents, _ = s.get(f.Digest)
			}
		}
	}
	return ar
}

type byteStream struct {
	s *Server
	bytestream.UnimplementedByteStreamServer
}

// parseResource finds "blobs/{hash}/{size}" in a resource name.
func parseResource(name string) (*repb.Digest, error) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == "blobs" && i+2 < len(parts) {
			n, err := strconv.ParseInt(parts[i+2], 10, 64)
			if err != nil || len(parts[i+1]) != 64 {
				break
			}
			return &repb.Digest{Hash: parts[i+1], SizeBytes: n}, nil
		}
		if p == "compressed-blobs" {
			return nil, status.Errorf(codes.Unimplemented, "compressed blobs are not supported")
		}
	}
	return nil, status.Errorf(codes.InvalidArgument, "bad resource name %q", name)
}

func (b byteStream) Read(req *bytestream.ReadRequest, stream bytestream.ByteStream_ReadServer) error {
	d, err := parseResource(req.GetResourceName())
	if err != nil {
		return err
	}
	data, ok := b.s.get(d)
	if !ok {
		return status.Errorf(codes.NotFound, "blob %s not found", key(d))
	}
	off := req.GetReadOffset()
	if off < 0 || off > int64(len(data)) {
		return status.Errorf(codes.OutOfRange, "offset %d", off)
	}
	data = data[off:]
	if l := req.GetReadLimit(); l > 0 && l < int64(len(data)) {
		data = data[:l]
	}
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		if err := stream.Send(&bytestream.ReadResponse{Data: data[:n]}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (b byteStream) Write(stream bytestream.ByteStream_WriteServer) error {
	var d *repb.Digest
	var buf []byte
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return status.Error(codes.InvalidArgument, "stream ended before finish_write")
		}
		if err != nil {
			return err
		}
		if d == nil {
			if d, err = parseResource(req.GetResourceName()); err != nil {
				return err
			}
			if !strings.Contains(req.GetResourceName(), "uploads/") {
				return status.Errorf(codes.InvalidArgument, "write resource %q lacks uploads/{uuid}", req.GetResourceName())
			}
		}
		if req.GetWriteOffset() != int64(len(buf)) {
			return status.Errorf(codes.InvalidArgument, "write offset %d, want %d", req.GetWriteOffset(), len(buf))
		}
		buf = append(buf, req.GetData()...)
		if req.GetFinishWrite() {
			break
		}
	}
	if err := checkDigest(d, buf); err != nil {
		return err
	}
	b.s.receive(d, buf)
	return stream.SendAndClose(&bytestream.WriteResponse{CommittedSize: int64(len(buf))})
}
