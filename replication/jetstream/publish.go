package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// inflight is a change the publisher handled but whose position is not
// advanced yet: a publish awaiting its acknowledgement (fut), or a change
// it skips (fut nil) queued behind one.
type inflight struct {
	lsn oplog.LSN
	fut jetstream.PubAckFuture
}

// once subscribes from the persisted position and publishes until an
// error: the position advances only over acknowledged (or skipped)
// changes, in LSN order, so after any error the next round resumes with
// the first change JetStream did not acknowledge.
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
	window := n.cfg.Window
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
			if strings.HasPrefix(ch.Origin, OriginPrefix) {
				if len(queue) == 0 {
					n.st.setPublished(p.name, ch.LSN)
					progressed = true
				} else {
					queue = append(queue, inflight{lsn: ch.LSN})
				}
				continue
			}
			// Many workspaces share the connection's limit of pending
			// acknowledgements: wait for room rather than fail at once.
			fut, err := n.js.PublishMsgAsync(p.msg(ch.LSN, ch.Update), jetstream.WithStallWait(5*time.Second))
			if err != nil {
				return progressed, fmt.Errorf("publish %s lsn %d: %w", p.name, ch.LSN, err)
			}
			queue = append(queue, inflight{lsn: ch.LSN, fut: fut})
		case <-okc:
			lsn := queue[0].lsn
			queue = queue[1:]
			for len(queue) > 0 && queue[0].fut == nil {
				lsn = queue[0].lsn
				queue = queue[1:]
			}
			n.st.setPublished(p.name, lsn)
			n.published.Add(1)
			progressed = true
		case err := <-errc:
			return progressed, fmt.Errorf("publish %s lsn %d: %w", p.name, queue[0].lsn, err)
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
	}
}

func (p *publisher) msg(lsn oplog.LSN, update []byte) *nats.Msg {
	m := nats.NewMsg(p.subject)
	m.Data = update
	m.Header.Set(jetstream.MsgIDHeader, msgID(p.n.nodeID, p.name, p.n.st.epoch(p.name), lsn))
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
	m := p.msg(last, state)
	m.Header.Set(jetstream.MsgIDHeader, m.Header.Get(jetstream.MsgIDHeader)+".s")
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.n.js.PublishMsg(pctx, m); err != nil {
		return fmt.Errorf("publish state of %s: %w", p.name, err)
	}
	p.n.st.setPublished(p.name, last)
	p.n.published.Add(1)
	return nil
}
