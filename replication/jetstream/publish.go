package jetstream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"octobase/engine"
	"octobase/oplog"
)

// publisher follows one workspace's change stream and publishes its
// local changes.
type publisher struct {
	n       *Node
	name    string
	subject string
}

// scanLoop starts a publisher for every workspace of the store, now and
// every ScanInterval (new workspaces appear as directories).
func (n *Node) scanLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.ScanInterval)
	defer t.Stop()
	for {
		names, err := n.store.Workspaces()
		if err != nil {
			n.log.Error("listing workspaces", "err", err)
		}
		for _, name := range names {
			n.ensurePublisher(name)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ensurePublisher starts the publisher of workspace name unless it runs.
func (n *Node) ensurePublisher(name string) {
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	if _, ok := n.pubMu.pubs[name]; ok || n.ctx.Err() != nil {
		return
	}
	p := &publisher{n: n, name: name, subject: DefaultSubjectPrefix + escapeToken(name)}
	n.pubMu.pubs[name] = p
	n.wg.Add(1)
	go p.run()
}

func (p *publisher) run() {
	n := p.n
	defer n.wg.Done()
	var bo backoff
	for n.ctx.Err() == nil {
		progressed, err := p.once(n.ctx)
		if n.ctx.Err() != nil {
			return
		}
		if progressed {
			bo.reset()
		}
		n.log.Debug("publisher retrying", "workspace", p.name, "err", err)
		if !bo.wait(n.ctx) {
			return
		}
	}
}

// inflight is a range of changes the publisher handled but whose position
// is not advanced yet: a publish awaiting its acknowledgement (fut), or
// changes it skips (fut nil) queued behind one. lsn is the last LSN of the
// range, records the number of local records it published.
type inflight struct {
	lsn     oplog.LSN
	records int
	fut     jetstream.PubAckFuture
}

// once subscribes from the persisted position and publishes until an
// error: the position advances only over acknowledged (or skipped)
// changes, in LSN order, so after any error the next round resumes with
// the first change JetStream did not acknowledge.
//
// Publishing is pipelined: up to Options.Window messages await their
// acknowledgement, which are taken in order. While fewer than
// batchThreshold(window) are in flight each record is a message of its own;
// beyond that, the changes already waiting are coalesced into one batch
// message (see batch.go), so a busy workspace sends fewer, larger messages
// and an idle one adds no delay.
func (p *publisher) once(ctx context.Context) (progressed bool, err error) {
	n := p.n
	w, err := n.store.Workspace(ctx, p.name)
	if err != nil {
		return false, err
	}
	pos := n.st.published(p.name)
	last, err := w.LastLSN(ctx)
	if err != nil {
		return false, err
	}
	if pos > last {
		// The workspace's log is behind the position: it was removed or
		// restored from an older copy. Publish it all again.
		n.log.Warn("published position is ahead of the workspace log; republishing it in a new epoch", "workspace", p.name, "position", pos, "last", last)
		pos = 0
		n.st.restart(p.name)
	}
	sub, err := w.Subscribe(ctx, pos+1)
	if errors.Is(err, oplog.ErrCompacted) {
		// History before the position is gone: publish the whole state
		// once, then follow from there.
		if sub, err = w.Subscribe(ctx, 0); err != nil {
			return false, err
		}
		defer sub.Close()
		if err := p.publishState(ctx, w); err != nil {
			return false, err
		}
		progressed = true
	} else if err != nil {
		return false, err
	} else {
		defer sub.Close()
	}

	var queue []inflight
	var b batcher
	b.maxBytes = min(maxBatchBytes, int(n.nc.MaxPayload())/2)
	window := n.cfg.Window
	threshold := batchThreshold(window)
	epoch := n.st.epoch(p.name)
	// send publishes (or, if it holds only replicated changes, queues as
	// skipped) the range in b.
	send := func() error {
		if b.first == 0 {
			return nil
		}
		defer b.reset()
		if len(b.updates) == 0 {
			if len(queue) == 0 {
				n.st.setPublished(p.name, b.last)
				progressed = true
			} else {
				queue = append(queue, inflight{lsn: b.last})
			}
			return nil
		}
		m := p.msg(epoch, &b)
		if err := n.fitMessage(ctx, m); err != nil {
			return fmt.Errorf("publish %s lsn %d: large update: %w", p.name, b.first, err)
		}
		// Many workspaces share the connection's limit of pending
		// acknowledgements: wait for room rather than fail at once.
		fut, err := n.js.PublishMsgAsync(m, jetstream.WithStallWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("publish %s lsn %d-%d: %w", p.name, b.first, b.last, err)
		}
		queue = append(queue, inflight{lsn: b.last, records: len(b.updates), fut: fut})
		return nil
	}
	for {
		in := sub.C
		if len(queue) >= window {
			in = nil
		}
		var okc <-chan *jetstream.PubAck
		var errc <-chan error
		if len(queue) > 0 {
			okc, errc = queue[0].fut.Ok(), queue[0].fut.Err()
		}
		select {
		case ch, ok := <-in:
			if !ok {
				if err := sub.Err(); err != nil {
					return progressed, err
				}
				return progressed, errors.New("jetstream: subscription ended")
			}
			b.add(ch)
			if len(queue) >= threshold {
				// Busy: coalesce what is already waiting.
				// The subscription hands changes over one at a time from
				// its goroutine: yield once before concluding that none
				// is waiting.
				yielded := false
			drain:
				for !b.full() {
					select {
					case ch, ok := <-sub.C:
						if !ok {
							break drain
						}
						if !b.fits(ch) {
							if err := send(); err != nil {
								return progressed, err
							}
						}
						b.add(ch)
						yielded = false
					default:
						if yielded {
							break drain
						}
						runtime.Gosched()
						yielded = true
					}
				}
			}
			if err := send(); err != nil {
				return progressed, err
			}
		case <-okc:
			lsn, records := queue[0].lsn, queue[0].records
			queue = queue[1:]
			for len(queue) > 0 && queue[0].fut == nil {
				lsn = queue[0].lsn
				queue = queue[1:]
			}
			n.st.setPublished(p.name, lsn)
			n.published.Add(uint64(records))
			n.publishedMsgs.Add(1)
			progressed = true
		case err := <-errc:
			return progressed, fmt.Errorf("publish %s lsn %d: %w", p.name, queue[0].lsn, err)
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
	}
}

// msg builds the message of the range in b: its one update as the payload,
// or with several, the batch encoding and the Octo-Batch header.
func (p *publisher) msg(epoch uint32, b *batcher) *nats.Msg {
	m := nats.NewMsg(p.subject)
	if len(b.updates) == 1 {
		m.Data = b.updates[0]
	} else {
		m.Data = appendBatch(make([]byte, 0, b.size), b.updates)
		m.Header.Set(hdrBatch, strconv.Itoa(len(b.updates)))
	}
	m.Header.Set(jetstream.MsgIDHeader, msgID(p.n.nodeID, p.name, epoch, b.first, b.last))
	m.Header.Set(hdrNode, p.n.cfg.NodeName)
	return m
}

// publishState publishes the workspace's whole state as one update and
// waits for the acknowledgement, then moves the position to the LSN the
// state covers. Used when the log no longer holds the history after the
// position (op-log retention).
func (p *publisher) publishState(ctx context.Context, w *engine.Workspace) error {
	last, err := w.LastLSN(ctx)
	if err != nil {
		return err
	}
	state, err := w.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		return err
	}
	m := nats.NewMsg(p.subject)
	m.Data = state
	m.Header.Set(jetstream.MsgIDHeader, msgID(p.n.nodeID, p.name, p.n.st.epoch(p.name), last, last)+".s")
	m.Header.Set(hdrNode, p.n.cfg.NodeName)
	if err := p.n.fitMessage(ctx, m); err != nil {
		return fmt.Errorf("publish state of %s: %w", p.name, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.n.js.PublishMsg(pctx, m); err != nil {
		return fmt.Errorf("publish state of %s: %w", p.name, err)
	}
	p.n.st.setPublished(p.name, last)
	p.n.published.Add(1)
	p.n.publishedMsgs.Add(1)
	return nil
}
