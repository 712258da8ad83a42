package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RawPublishResult is what MeasureRawPublish measured.
type RawPublishResult struct {
	Msgs     int
	Size     int
	Replicas int
	Elapsed  time.Duration // first publish to last acknowledgement
}

// MsgsPerSec is the acknowledged publish rate.
func (r RawPublishResult) MsgsPerSec() float64 { return float64(r.Msgs) / r.Elapsed.Seconds() }

// MeasureRawPublish measures plain JetStream, for benchmarks that compare
// replication against it (`octobase bench replication`): on a connection
// of its own to the node's server (in-process for an embedded one, like
// the node's own), it creates a stream with the node's storage and replica
// count, publishes msgs messages of size bytes asynchronously, each with a
// message id, at most window unacknowledged at once (0: 1024), waits for
// every acknowledgement, and deletes the stream. It is the best case the
// replication path builds on: no consumers, no engine.
func (n *Node) MeasureRawPublish(ctx context.Context, size, msgs, window int) (RawPublishResult, error) {
	if window <= 0 {
		window = 1024
	}
	res := RawPublishResult{Msgs: msgs, Size: size, Replicas: n.cfg.Replicas}
	var nc *nats.Conn
	var err error
	if n.srv != nil {
		nc, err = nats.Connect("", nats.InProcessServer(n.srv))
	} else {
		nc, err = nats.Connect(n.cfg.URL)
	}
	if err != nil {
		return res, fmt.Errorf("jetstream: raw publish: %w", err)
	}
	defer nc.Close()
	var failed atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window), jetstream.WithPublishAsyncTimeout(30*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return res, err
	}
	name := "OCTO_RAW_" + randomHex(4)
	subject := "octo.raw." + name
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas, Duplicates: n.cfg.Duplicates}); err != nil {
		return res, fmt.Errorf("jetstream: raw publish: create stream: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = js.DeleteStream(dctx, name)
		cancel()
	}()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'x'
	}
	prefix := n.nodeID + ".raw."
	start := time.Now()
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if _, err := js.PublishAsync(subject, payload, jetstream.WithMsgID(prefix+strconv.FormatInt(int64(i), 36)),
			jetstream.WithStallWait(30*time.Second)); err != nil {
			return res, fmt.Errorf("jetstream: raw publish %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-cctx.Done():
		return res, errors.New("jetstream: raw publishes not acknowledged in time")
	}
	res.Elapsed = time.Since(start)
	if f := failed.Load(); f != 0 {
		return res, fmt.Errorf("jetstream: raw publish: %d of %d publishes failed", f, msgs)
	}
	return res, nil
}
