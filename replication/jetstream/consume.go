package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
)

// consumeLoop reads the whole stream (every workspace subject) from the
// persisted position and applies other nodes' messages, restarting from
// the position after any error.
func (n *Node) consumeLoop() {
	defer n.wg.Done()
	var bo backoff
	for n.ctx.Err() == nil {
		progressed, err := n.consumeOnce(n.ctx)
		if n.ctx.Err() != nil {
			return
		}
		if progressed {
			bo.reset()
		}
		n.log.Debug("consumer retrying", "err", err)
		if !bo.wait(n.ctx) {
			return
		}
	}
}

func (n *Node) consumeOnce(ctx context.Context) (progressed bool, err error) {
	streamID, err := n.ensureStream(ctx)
	if err != nil {
		return false, err
	}
	sid, seq := n.st.consumed()
	if sid != "" && sid != streamID {
		n.log.Warn("the stream was recreated; consuming it from the start", "stream", DefaultStream)
		seq = 0
		n.st.setConsumed(streamID, 0)
	}
	if n.mayBootstrap && seq == 0 {
		start, covered, err := n.bootstrap(ctx, streamID)
		if err != nil {
			return false, fmt.Errorf("bootstrap: %w", err)
		}
		n.mayBootstrap = false
		if start > 0 {
			// The snapshots are applied and durable: they stand for every
			// message up to start (J3).
			seq, n.covered = start, covered
			n.st.setConsumed(streamID, start)
			n.bootstrapSeq.Store(start)
			n.log.Info("bootstrapped from snapshots", "seq", start, "workspaces", len(covered))
		}
	}
	// An ephemeral consumer of our own (not nats.go's ordered consumer,
	// whose internal retries wait up to 10 s per attempt): created from the
	// position with a short timeout, checked for gaps by its delivery
	// sequence, replaced from the position after any error.
	cfg := jetstream.ConsumerConfig{
		Name:              fmt.Sprintf("octo_%s_%s_%d", n.nodeID, n.runID, n.consumerSerial.Add(1)),
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     DefaultSubjectPrefix + ">",
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if seq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = seq + 1
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	cons, err := n.js.CreateConsumer(cctx, DefaultStream, cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("create consumer: %w", err)
	}
	defer func() {
		if ctx.Err() == nil {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = n.js.DeleteConsumer(dctx, DefaultStream, cfg.Name)
			cancel()
		}
	}()
	// The consumer lives on one server; when that one goes away, only
	// missing heartbeats tell, so keep them frequent.
	it, err := cons.Messages(jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return false, err
	}
	// A reader goroutine hands deliveries over, so the loop below can take
	// every message already delivered as one batch.
	msgs := make(chan jetstream.Msg, maxApplyMsgs)
	rerr := make(chan error, 1)
	done := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Go(func() {
		for {
			msg, err := it.Next()
			if err != nil {
				rerr <- err
				return
			}
			select {
			case msgs <- msg:
			case <-done:
				return
			}
		}
	})
	stop := context.AfterFunc(ctx, it.Stop)
	defer func() {
		stop()
		close(done)
		it.Stop()
		rwg.Wait()
	}()
	dseq := uint64(1)
	batch := make([]jetstream.Msg, 0, maxApplyMsgs)
	for {
		batch = batch[:0]
		select {
		case msg := <-msgs:
			batch = append(batch, msg)
		case err := <-rerr:
			return progressed, err
		}
	more:
		for len(batch) < maxApplyMsgs {
			select {
			case msg := <-msgs:
				batch = append(batch, msg)
			default:
				break more
			}
		}
		err := n.applyBatch(ctx, streamID, &dseq, batch)
		if err != nil {
			return progressed, err
		}
		progressed = true
	}
}

// maxApplyMsgs bounds the messages the consumer applies before it waits
// for their records to be durable.
const maxApplyMsgs = 128

// applying is one message of a batch being applied: its stream sequence,
// the waits of the records queued with Workspace.ApplyAsync, and whether
// the consumed position may move over it.
type applying struct {
	seq   uint64
	waits []func() (oplog.LSN, error)
	msgs  uint64 // 1 if the message was applied (not skipped)
	ok    bool
}

// applyBatch applies the messages of batch in order: every record is
// queued with Workspace.ApplyAsync (integrated at once, logged in call
// order), then all are awaited, so consecutive records share the op-log's
// fsyncs; the consumed position then moves over each message whose
// records are all durable, in stream order, and stops at the first
// failure (J3). *dseq is the next expected delivery sequence.
func (n *Node) applyBatch(ctx context.Context, streamID string, dseq *uint64, batch []jetstream.Msg) error {
	items := make([]applying, 0, len(batch))
	var firstErr error
	for _, msg := range batch {
		meta, err := msg.Metadata()
		if err != nil {
			firstErr = err
			break
		}
		if meta.Sequence.Consumer != *dseq {
			firstErr = fmt.Errorf("consumer gap: delivery %d, want %d", meta.Sequence.Consumer, *dseq)
			break
		}
		*dseq++
		a := applying{seq: meta.Sequence.Stream}
		err = n.start(ctx, meta.Sequence.Stream, msg, &a)
		items = append(items, a)
		if err != nil {
			firstErr = err
			break
		}
	}
	// Every wait must be called, also after a failure.
	advance := true
	for i := range items {
		a := &items[i]
		applied := uint64(0)
		for _, wait := range a.waits {
			if _, err := wait(); err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("apply seq %d: %w", a.seq, err)
				}
				a.ok = false
			} else {
				applied++
			}
		}
		n.applied.Add(applied)
		advance = advance && a.ok
		if advance {
			n.appliedMsgs.Add(a.msgs)
			n.st.setConsumed(streamID, a.seq)
		}
	}
	return firstErr
}

// start queues the records of one message (unless it is this node's own,
// or cannot be applied) into a. a.ok says whether the position may move
// over the message once a.waits succeed; an error stops the batch.
func (n *Node) start(ctx context.Context, seq uint64, msg jetstream.Msg, a *applying) error {
	h := msg.Headers()
	batch := h.Get(hdrBatch)
	if msgNode(h.Get(jetstream.MsgIDHeader)) == n.nodeID {
		k := 1
		if batch != "" {
			k, _ = strconv.Atoi(batch)
		}
		n.skipped.Add(uint64(max(k, 1)))
		a.ok = true
		return nil
	}
	name, err := unescapeToken(strings.TrimPrefix(msg.Subject(), DefaultSubjectPrefix))
	if err != nil {
		n.drop(seq, msg, err)
		a.ok = true
		return nil
	}
	data := msg.Data()
	if obj := h.Get(hdrObject); obj != "" {
		if data, err = n.largeUpdate(ctx, obj); err != nil {
			return fmt.Errorf("seq %d: read large update: %w", seq, err)
		} else if data == nil {
			n.drop(seq, msg, errors.New("its large update is missing from "+LargeBucket))
			a.ok = true
			return nil
		}
	}
	updates, err := splitBatch(batch, data)
	if err != nil {
		n.drop(seq, msg, err)
		a.ok = true
		return nil
	}
	if seq <= n.covered[name] {
		// In the workspace's bootstrap snapshot already.
		n.skipped.Add(uint64(len(updates)))
		a.ok = true
		return nil
	}
	w, err := n.workspace(ctx, name)
	if errors.Is(err, engine.ErrInvalidName) {
		n.drop(seq, msg, err)
		a.ok = true
		return nil
	} else if err != nil {
		return err
	}
	origin := OriginPrefix + h.Get(hdrNode)
	if len(origin) > oplog.MaxOriginLen {
		origin = origin[:oplog.MaxOriginLen]
	}
	for _, u := range updates {
		wait, err := w.ApplyAsync(ctx, u, origin)
		if err != nil {
			if errors.Is(err, crdt.ErrMalformed) || errors.Is(err, crdt.ErrUnsupported) {
				n.drop(seq, msg, err)
				continue
			}
			return fmt.Errorf("apply %s seq %d: %w", name, seq, err)
		}
		a.waits = append(a.waits, wait)
	}
	a.ok, a.msgs = true, 1
	n.ensurePublisher(name)
	return nil
}

// drop skips a message or record no node can apply (a bad subject, an
// update the CRDT rejects): retrying would block every workspace behind
// it.
func (n *Node) drop(seq uint64, msg jetstream.Msg, err error) {
	n.log.Error("dropping a message that cannot be applied", "seq", seq, "subject", msg.Subject(), "err", err)
	n.skipped.Add(1)
}

// workspace returns the consumer's handle of workspace name, creating the
// workspace on first use.
func (n *Node) workspace(ctx context.Context, name string) (*engine.Workspace, error) {
	n.wsMu.Lock()
	defer n.wsMu.Unlock()
	if w, ok := n.wsMu.ws[name]; ok {
		return w, nil
	}
	w, err := n.store.Workspace(ctx, name)
	if err != nil {
		return nil, err
	}
	n.wsMu.ws[name] = w
	return w, nil
}
