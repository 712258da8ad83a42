package query

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"octobase/engine"
	"octobase/oplog"
)

// Live filtered change streams of one workspace share a tail hub: one
// engine.Replica that follows the workspace's change stream, on which the
// hub evaluates the predicate of every stream it serves, right before and
// right after each record (evalRecord, the code a stream with a private
// replica runs), and queues each stream's events for it. N live streams
// cost one copy of the workspace and one integration per record, not N.
//
//   - A stream FROM NOW joins the hub at once (joinHubNow), building it
//     when the workspace has none: that is the only state rebuild.
//   - A stream from an older LSN replays the history with a private
//     replica (openPrivate), as before hubs existed. Once its position p
//     is at or past the hub's position h (the last record the hub has
//     evaluated), it joins (tryJoinHub): the hub then serves it every
//     record after p — records h+1 … p, which it already handled, are
//     skipped for it — so nothing is lost or repeated. When it catches up
//     with the engine and the workspace has no hub, its own replica and
//     subscription become the hub's, at no cost.
//   - The hub never waits for a stream. A stream whose queue holds
//     tailQueueMax events is detached: it delivers its queue, then replays
//     privately from there (a state rebuild) and joins again later.
//   - A hub is reference-counted (hub.refs: streams on it, or waiting for
//     it to be built) and closed, its subscription and replica dropped,
//     when its last stream leaves. When its subscription ends (the store
//     closed), its streams end with the same error after their queues.
//
// Lock order: hubs.mu, then tailHub.mu, then TailStream.mu.

// tailQueueMax is how many undelivered events a stream may have queued on
// its hub before the hub detaches it (a variable for tests).
var tailQueueMax = 1024

// replicasOpened counts state rebuilds for filtered streams (tests).
var replicasOpened atomic.Int64

var hubs struct {
	sync.Mutex
	m map[*engine.Workspace]*tailHub
}

// tailHub evaluates the filters of the live streams of one workspace.
type tailHub struct {
	ws    *engine.Workspace
	ready chan struct{} // closed once rep, sub and pos are set, or err
	err   error         // why the hub could not be built; set before ready
	refs  int           // guarded by hubs.mu

	rep       *engine.Replica
	sub       *engine.Subscription
	subCancel context.CancelCauseFunc
	done      chan struct{} // closed when run returns
	pos       atomic.Uint64 // the last record evaluated; written under mu

	mu struct {
		sync.Mutex
		streams []*TailStream
		closed  bool // serves no more streams
	}
}

// A tailItem is what a hub queues for a stream: an event, or (skip) a
// record without one, to advance Position once the events before it are
// received.
type tailItem struct {
	ev   TailEvent
	skip bool
	lsn  oplog.LSN
}

// privateTail is a stream's own replica (nil without a predicate) and
// subscription. The subscription's context does not end with the
// stream's, so a hub can take both over; close ends it.
type privateTail struct {
	rep    *engine.Replica
	sub    *engine.Subscription
	cancel context.CancelCauseFunc
}

// openPrivate rebuilds the state before start (with a filter) and
// subscribes from start.
func openPrivate(ctx context.Context, ws *engine.Workspace, f *tailFilter, start oplog.LSN) (*privateTail, error) {
	p := &privateTail{}
	if f != nil {
		var err error
		if p.rep, err = ws.OpenReplica(ctx, start-1); err != nil {
			return nil, err
		}
		replicasOpened.Add(1)
	}
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	sub, err := ws.Subscribe(sctx, start)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	p.sub, p.cancel = sub, cancel
	return p, nil
}

func (p *privateTail) close() {
	p.sub.Close()
	p.cancel(nil)
}

// joinHubNow puts t, a filtered stream FROM NOW, on its workspace's hub,
// building the hub if there is none: t starts after the last LSN, read
// while the hub cannot move.
func joinHubNow(ctx context.Context, t *TailStream) error {
	for {
		hubs.Lock()
		if hubs.m == nil {
			hubs.m = map[*engine.Workspace]*tailHub{}
		}
		h := hubs.m[t.ws]
		build := h == nil
		if build {
			h = &tailHub{ws: t.ws, ready: make(chan struct{}), done: make(chan struct{})}
			hubs.m[t.ws] = h
		}
		h.refs++
		hubs.Unlock()
		if build {
			h.build(ctx)
		} else {
			select {
			case <-h.ready:
			case <-ctx.Done():
				h.release()
				return ctx.Err()
			}
		}
		if h.err != nil {
			h.release()
			return h.err
		}
		h.mu.Lock()
		if h.mu.closed {
			h.mu.Unlock()
			h.release()
			continue // it ended meanwhile: build another
		}
		last, err := t.ws.LastLSN(ctx)
		if err != nil {
			h.mu.Unlock()
			h.release()
			return err
		}
		t.skip = last
		t.pos.Store(uint64(last))
		t.hub = h
		h.mu.streams = append(h.mu.streams, t)
		h.mu.Unlock()
		return nil
	}
}

// build rebuilds the state at the last LSN and subscribes after it, then
// starts the hub; on failure it sets h.err and unregisters h. The first
// stream's context bounds the rebuild but not the hub's life.
func (h *tailHub) build(ctx context.Context) {
	defer close(h.ready)
	ctx = context.WithoutCancel(ctx)
	last, err := h.ws.LastLSN(ctx)
	var p *privateTail
	if err == nil {
		p, err = openPrivate(ctx, h.ws, &tailFilter{}, last+1)
	}
	if err != nil {
		h.err = err
		hubs.Lock()
		if hubs.m[h.ws] == h {
			delete(hubs.m, h.ws)
		}
		hubs.Unlock()
		close(h.done)
		return
	}
	h.rep, h.sub, h.subCancel = p.rep, p.sub, p.cancel
	h.pos.Store(uint64(last))
	go h.run()
}

// tryJoinHub moves t, a filtered stream with a private replica, onto its
// workspace's hub if the hub is not past t's position; with found, it
// makes t's replica and subscription a new hub when the workspace has
// none. It reports whether t is on a hub now (then t.priv is nil).
func tryJoinHub(t *TailStream, found bool) bool {
	p := t.priv
	at := p.rep.LSN()
	hubs.Lock()
	if hubs.m == nil {
		hubs.m = map[*engine.Workspace]*tailHub{}
	}
	h := hubs.m[t.ws]
	if h == nil {
		if !found {
			hubs.Unlock()
			return false
		}
		h = &tailHub{ws: t.ws, ready: make(chan struct{}), done: make(chan struct{}),
			rep: p.rep, sub: p.sub, subCancel: p.cancel, refs: 1}
		h.pos.Store(uint64(at))
		close(h.ready)
		t.skip = at
		h.mu.streams = []*TailStream{t}
		hubs.m[t.ws] = h
		hubs.Unlock()
		t.priv, t.hub = nil, h
		go h.run()
		return true
	}
	select {
	case <-h.ready:
	default:
		hubs.Unlock()
		return false
	}
	if h.err != nil || oplog.LSN(h.pos.Load()) > at {
		hubs.Unlock()
		return false
	}
	h.refs++
	h.mu.Lock()
	hubs.Unlock()
	if h.mu.closed || oplog.LSN(h.pos.Load()) > at {
		h.mu.Unlock()
		h.release()
		return false
	}
	t.skip = at
	h.mu.streams = append(h.mu.streams, t)
	h.mu.Unlock()
	p.close()
	t.priv, t.hub = nil, h
	return true
}

// release drops one reference to h, closing h when it was the last.
func (h *tailHub) release() {
	hubs.Lock()
	h.refs--
	last := h.refs == 0
	if last {
		if hubs.m[h.ws] == h {
			delete(hubs.m, h.ws)
		}
		h.mu.Lock()
		h.mu.closed = true
		h.mu.Unlock()
	}
	hubs.Unlock()
	if last && h.sub != nil {
		h.sub.Close()
		h.subCancel(nil)
		<-h.done
	}
}

// leave takes t off h (if h has not dropped it already) and releases it.
func (h *tailHub) leave(t *TailStream) {
	h.mu.Lock()
	if i := slices.Index(h.mu.streams, t); i >= 0 {
		h.mu.streams = slices.Delete(h.mu.streams, i, i+1)
	}
	h.mu.Unlock()
	h.release()
}

// run advances the hub's replica record by record, evaluating the filters
// of its streams and queueing their events, until its subscription ends.
func (h *tailHub) run() {
	defer close(h.done)
	var (
		err error
		out [][]engine.BlockChange
		fs  []*tailFilter
		ss  []*TailStream
	)
	for ch := range h.sub.C {
		h.mu.Lock()
		fs, ss = fs[:0], ss[:0]
		for _, t := range h.mu.streams {
			if ch.LSN > t.skip {
				fs, ss = append(fs, t.f), append(ss, t)
			}
		}
		if out, err = evalRecord(h.rep, ch, fs, out); err != nil {
			h.mu.Unlock()
			break
		}
		for i, t := range ss {
			if !t.offer(ch, out[i]) {
				h.mu.streams = slices.DeleteFunc(h.mu.streams, func(x *TailStream) bool { return x == t })
			}
		}
		h.pos.Store(uint64(ch.LSN))
		h.mu.Unlock()
	}
	if err == nil {
		err = h.sub.Err()
	}
	if err == nil {
		err = errors.New("oql: change stream ended")
	}
	hubs.Lock()
	if hubs.m[h.ws] == h {
		delete(hubs.m, h.ws)
	}
	hubs.Unlock()
	h.mu.Lock()
	h.mu.closed = true
	for _, t := range h.mu.streams {
		t.mu.Lock()
		t.mu.ended, t.mu.end = true, err
		t.mu.Unlock()
		t.notify()
	}
	h.mu.streams = nil
	h.mu.Unlock()
}

// offer queues the outcome of record ch for t: an event with blocks, or a
// position to advance to. It reports false, detaching t, when t's queue is
// full. The caller is t's hub, holding its mu.
func (t *TailStream) offer(ch engine.Change, blocks []engine.BlockChange) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.mu.queue
	if len(blocks) == 0 {
		switch {
		case len(q) == 0 && !t.mu.sending:
			t.pos.Store(uint64(ch.LSN))
		case len(q) > 0 && q[len(q)-1].skip:
			q[len(q)-1].lsn = ch.LSN
		default:
			t.mu.queue = append(q, tailItem{skip: true, lsn: ch.LSN})
		}
		return true
	}
	if t.mu.events >= tailQueueMax {
		t.mu.detached, t.mu.at = true, ch.LSN-1
		t.notify()
		return false
	}
	t.mu.queue = append(q, tailItem{ev: TailEvent{LSN: ch.LSN, Time: ch.Time, Origin: ch.Origin, Blocks: blocks}, lsn: ch.LSN})
	t.mu.events++
	t.notify()
	return true
}

func (t *TailStream) notify() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// runHub delivers what t's hub queues, until the hub detaches t (it
// returns the position to replay from, after which t is off the hub), the
// hub ends (its error) or ctx is done (the context's cause; t leaves).
func (t *TailStream) runHub(ctx context.Context) (oplog.LSN, error) {
	h := t.hub
	for {
		t.mu.Lock()
		if len(t.mu.queue) > 0 {
			it := t.mu.queue[0]
			t.mu.queue[0] = tailItem{}
			t.mu.queue = t.mu.queue[1:]
			if it.skip {
				t.pos.Store(uint64(it.lsn))
				t.mu.Unlock()
				continue
			}
			t.mu.events--
			t.mu.sending = true
			t.mu.Unlock()
			select {
			case t.c <- it.ev:
			case <-ctx.Done():
				t.hub = nil
				h.leave(t)
				return 0, context.Cause(ctx)
			}
			t.mu.Lock()
			t.pos.Store(uint64(it.lsn))
			t.mu.sending = false
			t.mu.Unlock()
			continue
		}
		if t.mu.detached {
			at := t.mu.at
			t.mu.detached = false
			t.mu.queue = nil
			t.pos.Store(uint64(at)) // nothing between Position and at matched
			t.mu.Unlock()
			t.hub = nil
			h.release()
			return at, nil
		}
		if t.mu.ended {
			err := t.mu.end
			t.mu.Unlock()
			t.hub = nil
			h.release()
			return 0, err
		}
		t.mu.Unlock()
		select {
		case <-t.wake:
		case <-ctx.Done():
			t.hub = nil
			h.leave(t)
			return 0, context.Cause(ctx)
		}
	}
}
