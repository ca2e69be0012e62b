package reapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type execution struct {
	s *Server
	repb.UnimplementedExecutionServer
}

func (e execution) Execute(req *repb.ExecuteRequest, stream grpc.ServerStreamingServer[longrunningpb.Operation]) error {
	s := e.s
	if err := s.checkInstance(req.GetInstanceName()); err != nil {
		return err
	}
	n := s.counts.executes.Add(1)
	if s.opts.OutageAfter > 0 && n == int64(s.opts.OutageAfter) {
		go s.outage(s.opts.OutageFor)
		return status.Error(codes.Unavailable, "server stopping")
	}
	action, cmd, err := s.load(req.GetActionDigest())
	if err != nil {
		return err
	}
	if len(cmd.GetArguments()) == 0 || !strings.Contains(cmd.GetArguments()[0], "/") {
		return status.Errorf(codes.InvalidArgument, "arguments[0] must be a path containing a slash, got %q", strings.Join(cmd.GetArguments()[:min(1, len(cmd.GetArguments()))], ""))
	}
	platform := action.GetPlatform()
	if platform == nil {
		platform = cmd.GetPlatform()
	}
	s.mu.Lock()
	noWorkers := s.noWorkers > 0
	if noWorkers {
		s.noWorkers--
	}
	s.mu.Unlock()
	if noWorkers {
		return status.Errorf(codes.Unavailable, "No workers exist for instance name prefix %q platform %s", req.GetInstanceName(), platformString(platform))
	}
	if !s.matches(platform) {
		return status.Errorf(codes.FailedPrecondition, "No workers exist for instance name prefix %q platform %s", req.GetInstanceName(), platformString(platform))
	}
	if !req.GetSkipCacheLookup() && !action.GetDoNotCache() {
		s.mu.Lock()
		ar, ok := s.ac[key(req.GetActionDigest())]
		s.mu.Unlock()
		if ok {
			s.counts.hits.Add(1)
			ar = s.inline(ar, req.GetInlineStdout(), req.GetInlineStderr(), req.GetInlineOutputFiles())
			op := &operation{name: "operations/cached"}
			return stream.Send(doneOp(op.name, &repb.ExecuteResponse{Result: ar, CachedResult: true, Status: &rpcstatus.Status{}}))
		}
	}
	s.mu.Lock()
	lose := s.loses > 0
	if lose {
		s.loses--
	}
	s.mu.Unlock()
	if lose {
		s.loseFileBlob(action.GetInputRootDigest())
	}

	op := s.newOperation()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		resp := s.run(req, action, cmd)
		op.op = doneOp(op.name, resp)
		close(op.done)
	}()
	md, _ := anypb.New(&repb.ExecuteOperationMetadata{Stage: repb.ExecutionStage_QUEUED, ActionDigest: req.GetActionDigest()})
	if err := stream.Send(&longrunningpb.Operation{Name: op.name, Metadata: md}); err != nil {
		return err
	}
	s.mu.Lock()
	drop := s.drops > 0
	if drop {
		s.drops--
	}
	s.mu.Unlock()
	if drop {
		return status.Error(codes.Unavailable, "injected: execute stream dropped")
	}
	return s.wait(op, stream)
}

func (e execution) WaitExecution(req *repb.WaitExecutionRequest, stream grpc.ServerStreamingServer[longrunningpb.Operation]) error {
	s := e.s
	s.counts.waits.Add(1)
	s.mu.Lock()
	op, ok := s.ops[req.GetName()]
	s.mu.Unlock()
	if !ok {
		return status.Errorf(codes.NotFound, "operation %q not found", req.GetName())
	}
	if err := stream.Send(&longrunningpb.Operation{Name: op.name}); err != nil {
		return err
	}
	return s.wait(op, stream)
}

func (s *Server) wait(op *operation, stream grpc.ServerStreamingServer[longrunningpb.Operation]) error {
	select {
	case <-op.done:
		return stream.Send(op.op)
	case <-stream.Context().Done():
		return stream.Context().Err()
	case <-s.ctx.Done():
		return status.Error(codes.Unavailable, "server stopping")
	}
}

func doneOp(name string, resp *repb.ExecuteResponse) *longrunningpb.Operation {
	a, _ := anypb.New(resp)
	md, _ := anypb.New(&repb.ExecuteOperationMetadata{Stage: repb.ExecutionStage_COMPLETED})
	return &longrunningpb.Operation{Name: name, Done: true, Metadata: md, Result: &longrunningpb.Operation_Response{Response: a}}
}

// load reads the Action and its Command from the CAS.
func (s *Server) load(d *repb.Digest) (*repb.Action, *repb.Command, error) {
	action := &repb.Action{}
	if err := s.unmarshal(d, action); err != nil {
		return nil, nil, err
	}
	cmd := &repb.Command{}
	if err := s.unmarshal(action.GetCommandDigest(), cmd); err != nil {
		return nil, nil, err
	}
	return action, cmd, nil
}

func (s *Server) unmarshal(d *repb.Digest, m proto.Message) error {
	data, ok := s.get(d)
	if !ok {
		return missing(d).Err()
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return status.Errorf(codes.InvalidArgument, "blob %s: %v", key(d), err)
	}
	return nil
}

// missing is FAILED_PRECONDITION with a MISSING violation for each digest.
func missing(ds ...*repb.Digest) *status.Status {
	pf := &errdetails.PreconditionFailure{}
	for _, d := range ds {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
			Type: "MISSING", Subject: "blobs/" + key(d), Description: "blob not in the CAS",
		})
	}
	st, _ := status.New(codes.FailedPrecondition, fmt.Sprintf("%d input blobs missing", len(ds))).WithDetails(pf)
	return st
}

func (s *Server) matches(p *repb.Platform) bool {
	got := map[string]string{}
	for _, pr := range p.GetProperties() {
		if _, dup := got[pr.GetName()]; dup {
			return false
		}
		got[pr.GetName()] = pr.GetValue()
	}
	if len(got) != len(s.opts.Platform) {
		return false
	}
	for k, v := range s.opts.Platform {
		if w, ok := got[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// platformString renders p as Buildbarn's scheduler does in its errors:
// {"properties":[{"name":"OSFamily","value":"linux"}]}.
func platformString(p *repb.Platform) string {
	type prop struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	v := struct {
		Properties []prop `json:"properties"`
	}{Properties: []prop{}}
	for _, pr := range p.GetProperties() {
		v.Properties = append(v.Properties, prop{pr.GetName(), pr.GetValue()})
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// loseFileBlob deletes the first non-empty file blob under root.
func (s *Server) loseFileBlob(root *repb.Digest) {
	dir := &repb.Directory{}
	if s.unmarshal(root, dir) != nil {
		return
	}
	for _, f := range dir.GetFiles() {
		if f.GetDigest().GetSizeBytes() > 0 {
			s.mu.Lock()
			delete(s.cas, key(f.GetDigest()))
			s.mu.Unlock()
			return
		}
	}
	for _, sub := range dir.GetDirectories() {
		s.loseFileBlob(sub.GetDigest())
	}
}

// run executes the action on a "worker": this machine, in a fresh directory.
func (s *Server) run(req *repb.ExecuteRequest, action *repb.Action, cmd *repb.Command) *repb.ExecuteResponse {
	meta := &repb.ExecutedActionMetadata{Worker: "reapitest-worker", QueuedTimestamp: timestamppb.Now()}
	if s.workers != nil {
		select {
		case s.workers <- struct{}{}:
			defer func() { <-s.workers }()
		case <-s.ctx.Done():
			return failed(codes.Unavailable, "server stopping")
		}
	}
	if s.opts.Delay > 0 {
		select {
		case <-time.After(s.opts.Delay):
		case <-s.ctx.Done():
			return failed(codes.Unavailable, "server stopping")
		}
	}
	meta.WorkerStartTimestamp = timestamppb.Now()
	root, err := os.MkdirTemp("", "reapitest-action-")
	if err != nil {
		return failed(codes.Internal, err.Error())
	}
	defer os.RemoveAll(root)
	var lost []*repb.Digest
	if err := s.materialize(root, action.GetInputRootDigest(), &lost); err != nil {
		return failed(codes.Internal, err.Error())
	}
	if len(lost) > 0 {
		return &repb.ExecuteResponse{Status: missing(lost...).Proto()}
	}
	workDir := filepath.Join(root, filepath.FromSlash(cmd.GetWorkingDirectory()))
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return failed(codes.Internal, err.Error())
	}
	outputs := cmd.GetOutputPaths()
	if len(outputs) == 0 {
		outputs = cmd.GetOutputFiles()
	}
	for _, o := range outputs {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(workDir, filepath.FromSlash(o))), 0o755); err != nil {
			return failed(codes.Internal, err.Error())
		}
	}

	if max, t := s.opts.MaxExecutionTimeout, action.GetTimeout().AsDuration(); max > 0 && t > max {
		return failed(codes.InvalidArgument, fmt.Sprintf("Execution timeout of %s exceeds maximum permitted value of %s", t, max))
	}
	// The timeout runs from when the process started, as on a real
	// worker: not while its inputs are staged or a busy binary is retried.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var timedOut atomic.Bool
	args := cmd.GetArguments()
	exe := args[0]
	if !filepath.IsAbs(exe) {
		exe = filepath.Join(workDir, filepath.FromSlash(exe))
	}
	var stdout, stderr bytes.Buffer
	var c *exec.Cmd
	meta.ExecutionStartTimestamp = timestamppb.Now()
	for try := 1; ; try++ {
		c = exec.CommandContext(ctx, exe)
		c.Args = args
		c.Dir = workDir
		c.Env = []string{}
		for _, v := range cmd.GetEnvironmentVariables() {
			c.Env = append(c.Env, v.GetName()+"="+v.GetValue())
		}
		stdout.Reset()
		stderr.Reset()
		c.Stdout, c.Stderr = &stdout, &stderr
		c.WaitDelay = 2 * time.Second
		ownGroup(c)
		err = c.Start()
		// A file just written can be briefly "busy" while a concurrent
		// fork still holds its descriptor (golang.org/issue/22315).
		if !textBusy(err) || try == 20 {
			break
		}
		time.Sleep(time.Duration(try) * 5 * time.Millisecond)
	}
	if err != nil {
		return failed(codes.InvalidArgument, fmt.Sprintf("cannot start %s: %v", args[0], err))
	}
	if t := action.GetTimeout().AsDuration(); t > 0 {
		timer := time.AfterFunc(t, func() { timedOut.Store(true); cancel() })
		defer timer.Stop()
	}
	err = c.Wait()
	meta.ExecutionCompletedTimestamp = timestamppb.Now()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && c.ProcessState == nil {
		return failed(codes.Internal, fmt.Sprintf("wait for %s: %v", args[0], err))
	}

	meta.OutputUploadStartTimestamp = timestamppb.Now()
	end := endOf(c.ProcessState)
	if s.opts.ExitCode128 {
		if end.signal != "" {
			end.code = 128 + signalNumber(end.signal)
		}
	} else {
		meta.AuxiliaryMetadata = []*anypb.Any{unknownAny(), usageAny(end)}
	}
	ar := &repb.ActionResult{ExitCode: int32(end.code), ExecutionMetadata: meta}
	if stdout.Len() > 0 {
		ar.StdoutDigest = s.put(stdout.Bytes())
	}
	if stderr.Len() > 0 {
		ar.StderrDigest = s.put(stderr.Bytes())
	}
	sort.Strings(outputs)
	for _, o := range outputs {
		p := filepath.Join(workDir, filepath.FromSlash(o))
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // not produced (directories are not supported here)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return failed(codes.Internal, err.Error())
		}
		ar.OutputFiles = append(ar.OutputFiles, &repb.OutputFile{Path: o, Digest: s.put(data), IsExecutable: fi.Mode()&0o111 != 0})
	}
	meta.OutputUploadCompletedTimestamp = timestamppb.Now()
	meta.WorkerCompletedTimestamp = timestamppb.Now()

	st := &rpcstatus.Status{}
	if timedOut.Load() {
		st = status.Newf(codes.DeadlineExceeded, "action timed out after %v", action.GetTimeout().AsDuration()).Proto()
	} else if ar.ExitCode == 0 && !action.GetDoNotCache() {
		s.mu.Lock()
		s.ac[key(req.GetActionDigest())] = ar
		s.mu.Unlock()
	}
	ar = s.inline(ar, req.GetInlineStdout(), req.GetInlineStderr(), req.GetInlineOutputFiles())
	return &repb.ExecuteResponse{Result: ar, Status: st}
}

func failed(code codes.Code, msg string) *repb.ExecuteResponse {
	return &repb.ExecuteResponse{Status: status.New(code, msg).Proto()}
}

// materialize writes the tree at d into dir, collecting missing blobs.
func (s *Server) materialize(dir string, d *repb.Digest, lost *[]*repb.Digest) error {
	data, ok := s.get(d)
	if !ok {
		*lost = append(*lost, d)
		return nil
	}
	tree := &repb.Directory{}
	if err := proto.Unmarshal(data, tree); err != nil {
		return fmt.Errorf("directory %s: %v", key(d), err)
	}
	for _, f := range tree.GetFiles() {
		if err := checkName(f.GetName()); err != nil {
			return err
		}
		content, ok := s.get(f.GetDigest())
		if !ok {
			*lost = append(*lost, f.GetDigest())
			continue
		}
		mode := os.FileMode(0o644)
		if f.GetIsExecutable() {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, f.GetName()), content, mode); err != nil {
			return err
		}
	}
	for _, sub := range tree.GetDirectories() {
		if err := checkName(sub.GetName()); err != nil {
			return err
		}
		p := filepath.Join(dir, sub.GetName())
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		if err := s.materialize(p, sub.GetDigest(), lost); err != nil {
			return err
		}
	}
	return nil
}

func checkName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
		return fmt.Errorf("bad node name %q", n)
	}
	return nil
}
