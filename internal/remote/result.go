package remote

import (
	"context"
	"fmt"
	"io"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
)

// result turns an ActionResult into a Result, fetching stdout, stderr and
// the output files the Spec asked for.
func (c *Client) result(ctx context.Context, p *prepared, ar *repb.ActionResult, start time.Time) (*Result, error) {
	res := &Result{
		ExitCode: int(ar.GetExitCode()),
		Stdout:   ar.GetStdoutRaw(),
		Stderr:   ar.GetStderrRaw(),
		Outputs:  map[string][]byte{},
		Worker:   ar.GetExecutionMetadata().GetWorker(),
		Duration: time.Since(start),
	}
	if u, ok := auxUsage(ar.GetExecutionMetadata()); ok {
		res.Signal, res.CPU, res.MaxRSS = u.Signal, u.User+u.System, u.MaxRSS
	} else {
		res.Signal = signalName(res.ExitCode)
	}
	if md := ar.GetExecutionMetadata(); md.GetExecutionStartTimestamp() != nil && md.GetExecutionCompletedTimestamp() != nil {
		if d := md.GetExecutionCompletedTimestamp().AsTime().Sub(md.GetExecutionStartTimestamp().AsTime()); d >= 0 {
			res.Duration = d
		}
	}
	want := map[digestKey]*repb.Digest{}
	need := func(d *repb.Digest) {
		if d.GetSizeBytes() > 0 {
			want[keyOf(d)] = d
		}
	}
	if len(res.Stdout) == 0 {
		need(ar.GetStdoutDigest())
	}
	if len(res.Stderr) == 0 {
		need(ar.GetStderrDigest())
	}
	for _, f := range ar.GetOutputFiles() {
		if _, ok := p.outputs[f.GetPath()]; ok && int64(len(f.GetContents())) != f.GetDigest().GetSizeBytes() {
			need(f.GetDigest())
		}
	}
	got, err := c.download(ctx, want)
	if err != nil {
		return nil, err
	}
	if len(res.Stdout) == 0 && ar.GetStdoutDigest().GetSizeBytes() > 0 {
		res.Stdout = got[keyOf(ar.GetStdoutDigest())]
	}
	if len(res.Stderr) == 0 && ar.GetStderrDigest().GetSizeBytes() > 0 {
		res.Stderr = got[keyOf(ar.GetStderrDigest())]
	}
	for _, f := range ar.GetOutputFiles() {
		name, ok := p.outputs[f.GetPath()]
		if !ok {
			continue
		}
		switch {
		case f.GetDigest().GetSizeBytes() == 0:
			res.Outputs[name] = []byte{}
		case int64(len(f.GetContents())) == f.GetDigest().GetSizeBytes():
			res.Outputs[name] = f.GetContents()
		default:
			res.Outputs[name] = got[keyOf(f.GetDigest())]
		}
	}
	return res, nil
}

// download fetches blobs: small ones with BatchReadBlobs, large ones with
// ByteStream Read. Every blob is checked against its digest.
func (c *Client) download(ctx context.Context, want map[digestKey]*repb.Digest) (map[digestKey][]byte, error) {
	got := make(map[digestKey][]byte, len(want))
	limit := max(c.maxBatch, minBatch)
	var batch []*repb.Digest
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.batchRead(ctx, batch, got)
		batch, size = nil, 0
		return err
	}
	for _, d := range want {
		n := d.GetSizeBytes() + batchHeader
		if n > limit {
			data, err := c.byteStreamRead(ctx, d)
			if err != nil {
				return nil, err
			}
			got[keyOf(d)] = data
			continue
		}
		if size+n > limit {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch = append(batch, d)
		size += n
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return got, nil
}

func (c *Client) batchRead(ctx context.Context, digests []*repb.Digest, got map[digestKey][]byte) error {
	req := &repb.BatchReadBlobsRequest{InstanceName: c.cfg.Instance, Digests: digests, DigestFunction: repb.DigestFunction_SHA256}
	var resp *repb.BatchReadBlobsResponse
	err := c.retry(ctx, "batch read blobs", func() error {
		var err error
		resp, err = c.cas.BatchReadBlobs(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range resp.GetResponses() {
		if r.GetStatus().GetCode() != 0 {
			return fmt.Errorf("read blob %s: %s", keyOf(r.GetDigest()), r.GetStatus().GetMessage())
		}
		if err := verify(r.GetDigest(), r.GetData()); err != nil {
			return err
		}
		c.stats.bytesDown.Add(int64(len(r.GetData())))
		got[keyOf(r.GetDigest())] = r.GetData()
	}
	for _, d := range digests {
		if _, ok := got[keyOf(d)]; !ok {
			return fmt.Errorf("read blob %s: not returned", keyOf(d))
		}
	}
	return nil
}

func (c *Client) byteStreamRead(ctx context.Context, d *repb.Digest) ([]byte, error) {
	name := fmt.Sprintf("blobs/%s/%d", d.GetHash(), d.GetSizeBytes())
	if c.cfg.Instance != "" {
		name = c.cfg.Instance + "/" + name
	}
	var data []byte
	err := c.retry(ctx, "bytestream read", func() error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.bs.Read(ctx, &bytestream.ReadRequest{ResourceName: name})
		if err != nil {
			return err
		}
		data = make([]byte, 0, d.GetSizeBytes())
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			data = append(data, r.GetData()...)
		}
		return verify(d, data)
	})
	if err != nil {
		return nil, err
	}
	c.stats.bytesDown.Add(int64(len(data)))
	return data, nil
}

func verify(d *repb.Digest, data []byte) error {
	if got := digestBytes(data); keyOf(got) != keyOf(d) {
		return fmt.Errorf("blob %s: server sent data of digest %s", keyOf(d), keyOf(got))
	}
	return nil
}

// signalName infers the signal from the 128+N exit code some workers use
// for a process killed by signal N ("" when the code is not one of those).
// It is used only when the server reports no resource usage.
func signalName(code int) string {
	names := map[int]string{
		1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
		7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
	}
	return names[code-128]
}
