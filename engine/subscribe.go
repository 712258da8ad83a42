package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"octobase/oplog"
)

// Subscription is a stream of a workspace's changes (see Workspace.Subscribe).
type Subscription struct {
	// C delivers the changes. It is closed when the subscription ends:
	// Close, the context given to Subscribe done, Store.Close, or an error
	// reading history; Err then says why.
	C <-chan Change

	w      *Workspace
	c      chan Change
	ctx    context.Context
	cancel context.CancelCauseFunc
	wake   chan struct{}
	done   chan struct{}
	// err is why the subscription ended, set (under errMu) before C is
	// closed: a reader that sees C closed can call Err at once.
	errMu sync.Mutex
	err   error
	// backlog counts the live changes queued and not yet handed to C
	// (Backlog).
	backlog atomic.Int64

	mu struct {
		sync.Mutex
		queue    []Change
		spare    []Change  // an emptied queue array, for the next queue
		overflow bool      // the queue overflowed and was dropped
		liveFrom oplog.LSN // the queue holds every change from this LSN on
	}
}

// Subscribe streams the workspace's changes, one Change per op-log record,
// starting at LSN from (0: from now, that is, the first record after the
// current last one).
//
// Ordering guarantee: changes arrive in strictly increasing LSN order
// without gaps (from the start position on), each exactly once, and only
// after its record is acknowledged (durable per Options.Durability), so a
// subscriber never sees a change a crash could take back in SyncAlways
// mode. History (from an LSN at or before the last one) is re-derived by
// replaying the log into a scratch document from the nearest snapshot, then
// the stream continues with live changes. A subscriber that falls more than
// Options.SubscriberBuffer changes behind is switched back to reading the
// log, so a slow reader costs the writers nothing and loses nothing.
//
// oplog.ErrCompacted if the state before from can no longer be rebuilt:
// history retention (Options.Retention) dropped the records and snapshots
// needed. A subscription keeps its workspace open (it is never closed
// as idle).
func (w *Workspace) Subscribe(ctx context.Context, from oplog.LSN) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	st, err := w.ensureLocked()
	if err != nil {
		w.mu.Unlock()
		return nil, err
	}
	if from > 0 && from <= st.lsn {
		if err := reconstructible(st.log, from-1); err != nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("engine: subscribe from %d: %w", from, err)
		}
	}
	s := &Subscription{w: w, c: make(chan Change), wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.C = s.c
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	s.mu.liveFrom = w.mu.published + 1
	if from == 0 {
		from = s.mu.liveFrom
	}
	w.mu.subs[s] = struct{}{}
	w.acquire()
	w.mu.Unlock()
	go s.run(from)
	return s, nil
}

// Close ends the subscription and waits until C is closed. Safe to call
// more than once.
func (s *Subscription) Close() {
	s.cancel(context.Canceled)
	<-s.done
}

// Err returns why the subscription ended (nil while it runs; set before C
// is closed, so a reader that found C closed gets it): context.Canceled
// after Close, the context's cause, ErrClosed after Store.Close, or the
// error that stopped a history replay.
func (s *Subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Backlog is how many published changes wait behind the one C delivers
// now: a hint for a consumer that can batch (the server writes an update
// to idle connections at once when nothing waits behind it, and queues it
// otherwise). Changes replayed from the log after the queue overflowed are
// not counted.
func (s *Subscription) Backlog() int { return int(s.backlog.Load()) }

// publishLocked hands a change to every subscriber's queue.
func (w *Workspace) publishLocked(ch Change) {
	w.mu.published = ch.LSN
	max := w.s.opts.SubscriberBuffer
	for s := range w.mu.subs {
		s.mu.Lock()
		if !s.mu.overflow {
			if len(s.mu.queue) >= max {
				s.backlog.Add(-int64(len(s.mu.queue)))
				s.mu.overflow, s.mu.queue = true, nil
			} else {
				if s.mu.queue == nil {
					s.mu.queue, s.mu.spare = s.mu.spare, nil
				}
				s.mu.queue = append(s.mu.queue, ch)
				s.backlog.Add(1)
			}
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// spareMax bounds the queue array a subscription keeps for reuse.
const spareMax = 64

func (s *Subscription) send(ch Change) bool {
	select {
	case s.c <- ch:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// run delivers changes from pos on: history from the log up to the point
// where the live queue starts, then the queue; after an overflow, history
// again from where it stopped.
func (s *Subscription) run(pos oplog.LSN) {
	w := s.w
	var err error // why it ended, if not its context
	defer func() {
		w.mu.Lock()
		delete(w.mu.subs, s)
		w.mu.Unlock()
		w.release()
		if err == nil {
			err = context.Cause(s.ctx)
		}
		s.errMu.Lock()
		s.err = err
		s.errMu.Unlock()
		s.cancel(nil)
		close(s.c)
		close(s.done)
	}()
	for {
		s.mu.Lock()
		liveFrom := s.mu.liveFrom
		s.mu.Unlock()
		if pos < liveFrom {
			next, herr := w.history(s.ctx, pos, liveFrom-1, s.send)
			if herr != nil {
				if s.ctx.Err() == nil {
					err = herr
				}
				return
			}
			pos = next
		}
		for {
			s.mu.Lock()
			if s.mu.overflow {
				s.mu.Unlock()
				// Re-register: from now on the queue holds every change
				// after the current last one; the log serves the rest.
				w.mu.Lock()
				s.mu.Lock()
				s.mu.overflow, s.mu.queue = false, nil
				s.mu.liveFrom = w.mu.published + 1
				s.mu.Unlock()
				w.mu.Unlock()
				break
			}
			batch := s.mu.queue
			s.mu.queue = nil
			s.mu.Unlock()
			for _, ch := range batch {
				s.backlog.Add(-1) // before the send: it counts what waits behind ch
				if ch.LSN < pos {
					continue
				}
				if !s.send(ch) {
					return
				}
				pos = ch.LSN + 1
			}
			if batch != nil && cap(batch) <= spareMax {
				clear(batch) // keep no change alive
				s.mu.Lock()
				s.mu.spare = batch[:0]
				s.mu.Unlock()
			}
			select {
			case <-s.wake:
			case <-s.ctx.Done():
				return
			}
		}
	}
}
