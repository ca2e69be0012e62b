package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// flight is one blob's upload, shared by every Run that needs the blob.
type flight struct {
	done chan struct{}
	err  error
}

const (
	findBatch   = 4096     // digests per FindMissingBlobs request
	chunkSize   = 1 << 20  // ByteStream message payload
	batchHeader = 256      // bytes of request overhead per blob in a batch, a generous bound
	minBatch    = 64 << 10 // smallest batch limit worth using
)

// upload makes sure every blob is in the server's CAS. A blob is sent at
// most once per Client: concurrent Runs wait for the one sending it.
func (c *Client) upload(ctx context.Context, blobs map[digestKey]blob) error {
	for range 3 {
		var mine []blob
		var mineF, waits []*flight
		c.mu.Lock()
		for k, b := range blobs {
			if b.digest.GetSizeBytes() == 0 {
				continue // the empty blob is always present
			}
			f := c.flights[k]
			if f != nil {
				select {
				case <-f.done:
					if f.err == nil {
						continue
					}
					f = nil // failed before: try again
				default:
				}
			}
			if f == nil {
				f = &flight{done: make(chan struct{})}
				c.flights[k] = f
				mine = append(mine, b)
				mineF = append(mineF, f)
				continue
			}
			waits = append(waits, f)
		}
		c.mu.Unlock()

		err := c.send(ctx, mine)
		for _, f := range mineF {
			f.err = err
			close(f.done)
		}
		if err != nil {
			return err
		}
		failed := false
		for _, f := range waits {
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			failed = failed || f.err != nil
		}
		if !failed {
			return nil
		}
	}
	return errors.New("uploads by concurrent runs kept failing")
}

// forget drops blobs from the uploaded set (the server lost them).
func (c *Client) forget(digests []*repb.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range digests {
		k := keyOf(d)
		if f := c.flights[k]; f != nil {
			select {
			case <-f.done:
				delete(c.flights, k)
			default:
			}
		}
	}
}

// send uploads those of blobs the server lacks.
func (c *Client) send(ctx context.Context, blobs []blob) error {
	if len(blobs) == 0 {
		return nil
	}
	missing, err := c.findMissing(ctx, blobs)
	if err != nil {
		return err
	}
	return c.write(ctx, missing)
}

func (c *Client) findMissing(ctx context.Context, blobs []blob) ([]blob, error) {
	byKey := make(map[digestKey]blob, len(blobs))
	for _, b := range blobs {
		byKey[keyOf(b.digest)] = b
	}
	var missing []blob
	for i := 0; i < len(blobs); i += findBatch {
		req := &repb.FindMissingBlobsRequest{InstanceName: c.cfg.Instance, DigestFunction: repb.DigestFunction_SHA256}
		for _, b := range blobs[i:min(i+findBatch, len(blobs))] {
			req.BlobDigests = append(req.BlobDigests, b.digest)
		}
		var resp *repb.FindMissingBlobsResponse
		err := c.retry(ctx, "find missing blobs", func() error {
			var err error
			resp, err = c.cas.FindMissingBlobs(ctx, req)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, d := range resp.GetMissingBlobDigests() {
			if b, ok := byKey[keyOf(d)]; ok {
				missing = append(missing, b)
			}
		}
	}
	return missing, nil
}

// write sends blobs: small ones in BatchUpdateBlobs requests within the
// server's batch limit, large ones over ByteStream.
func (c *Client) write(ctx context.Context, blobs []blob) error {
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].digest.GetSizeBytes() < blobs[j].digest.GetSizeBytes() })
	limit := max(c.maxBatch, minBatch)
	var batch []blob
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.batchUpdate(ctx, batch)
		batch, size = nil, 0
		return err
	}
	for _, b := range blobs {
		n := b.digest.GetSizeBytes() + batchHeader
		if n > limit {
			if err := c.byteStreamWrite(ctx, b); err != nil {
				return err
			}
			continue
		}
		if size+n > limit {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, b)
		size += n
	}
	return flush()
}

func (c *Client) batchUpdate(ctx context.Context, blobs []blob) error {
	req := &repb.BatchUpdateBlobsRequest{InstanceName: c.cfg.Instance, DigestFunction: repb.DigestFunction_SHA256}
	var total int64
	for _, b := range blobs {
		data, err := b.bytes()
		if err != nil {
			return err
		}
		req.Requests = append(req.Requests, &repb.BatchUpdateBlobsRequest_Request{Digest: b.digest, Data: data})
		total += int64(len(data))
	}
	return c.retry(ctx, "batch update blobs", func() error {
		resp, err := c.cas.BatchUpdateBlobs(ctx, req)
		if err != nil {
			return err
		}
		// Keep only the failed ones for the next try; a transient failure of
		// one blob is retried like a failed call.
		var again []*repb.BatchUpdateBlobsRequest_Request
		var firstErr error
		byKey := map[digestKey]*repb.BatchUpdateBlobsRequest_Request{}
		for _, r := range req.Requests {
			byKey[keyOf(r.Digest)] = r
		}
		for _, r := range resp.GetResponses() {
			k := keyOf(r.GetDigest())
			if code := codes.Code(r.GetStatus().GetCode()); code != codes.OK {
				if firstErr == nil || classify(firstErr) != permanent {
					firstErr = status.ErrorProto(r.GetStatus())
				}
				again = append(again, byKey[k])
				continue
			}
			if in, ok := byKey[k]; ok {
				c.stats.blobsUp.Add(1)
				c.stats.bytesUp.Add(int64(len(in.Data)))
			}
		}
		req.Requests = again
		return firstErr
	})
}

func (c *Client) byteStreamWrite(ctx context.Context, b blob) error {
	var id [16]byte
	rand.Read(id[:])
	u := hex.EncodeToString(id[:])
	uuid := u[0:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:]
	name := fmt.Sprintf("uploads/%s/blobs/%s/%d", uuid, b.digest.GetHash(), b.digest.GetSizeBytes())
	if c.cfg.Instance != "" {
		name = c.cfg.Instance + "/" + name
	}
	return c.retry(ctx, "bytestream write", func() error {
		r, err := b.open()
		if err != nil {
			return err
		}
		defer r.Close()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.bs.Write(ctx)
		if err != nil {
			return err
		}
		buf := make([]byte, chunkSize)
		var off int64
		for {
			n, rerr := io.ReadFull(r, buf)
			if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
				return rerr
			}
			last := off+int64(n) >= b.digest.GetSizeBytes()
			req := &bytestream.WriteRequest{WriteOffset: off, Data: buf[:n], FinishWrite: last}
			if off == 0 {
				req.ResourceName = name
			}
			if err := stream.Send(req); err != nil {
				if err == io.EOF {
					break // the server ended the stream; its status comes from CloseAndRecv
				}
				return err
			}
			off += int64(n)
			if last {
				break
			}
			if n == 0 {
				return fmt.Errorf("%s: short read", b.path)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			if status.Code(err) == codes.AlreadyExists {
				return nil
			}
			return err
		}
		if got := resp.GetCommittedSize(); got != b.digest.GetSizeBytes() && got != -1 {
			return status.Errorf(codes.Aborted, "server committed %d of %d bytes", got, b.digest.GetSizeBytes())
		}
		c.stats.blobsUp.Add(1)
		c.stats.bytesUp.Add(off)
		return nil
	})
}
