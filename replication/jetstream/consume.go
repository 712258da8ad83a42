package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for dseq := uint64(1); ; dseq++ {
		msg, err := it.Next()
		if err != nil {
			return progressed, err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return progressed, err
		}
		if meta.Sequence.Consumer != dseq {
			return progressed, fmt.Errorf("consumer gap: delivery %d, want %d", meta.Sequence.Consumer, dseq)
		}
		if err := n.handle(ctx, streamID, meta.Sequence.Stream, msg); err != nil {
			return progressed, err
		}
		progressed = true
	}
}

// handle applies one message (unless it is this node's own) and advances
// the consumed position. An error leaves the position where it was.
func (n *Node) handle(ctx context.Context, streamID string, seq uint64, msg jetstream.Msg) error {
	if msgNode(msg.Headers().Get(jetstream.MsgIDHeader)) == n.nodeID {
		n.skipped.Add(1)
		n.st.setConsumed(streamID, seq)
		return nil
	}
	name, err := unescapeToken(strings.TrimPrefix(msg.Subject(), DefaultSubjectPrefix))
	if err != nil {
		return n.drop(streamID, seq, msg, err)
	}
	w, err := n.workspace(ctx, name)
	if errors.Is(err, engine.ErrInvalidName) {
		return n.drop(streamID, seq, msg, err)
	} else if err != nil {
		return err
	}
	origin := OriginPrefix + msg.Headers().Get(hdrNode)
	if len(origin) > oplog.MaxOriginLen {
		origin = origin[:oplog.MaxOriginLen]
	}
	if _, err := w.Apply(ctx, msg.Data(), origin); err != nil {
		if errors.Is(err, crdt.ErrMalformed) || errors.Is(err, crdt.ErrUnsupported) {
			return n.drop(streamID, seq, msg, err)
		}
		return fmt.Errorf("apply %s seq %d: %w", name, seq, err)
	}
	n.applied.Add(1)
	n.st.setConsumed(streamID, seq)
	n.ensurePublisher(name)
	return nil
}

// drop skips a message no node can apply (a bad subject, an update the
// CRDT rejects): retrying would block every workspace behind it.
func (n *Node) drop(streamID string, seq uint64, msg jetstream.Msg, err error) error {
	n.log.Error("dropping a message that cannot be applied", "seq", seq, "subject", msg.Subject(), "err", err)
	n.skipped.Add(1)
	n.st.setConsumed(streamID, seq)
	return nil
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
