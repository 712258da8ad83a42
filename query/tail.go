package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"octobase/engine"
	"octobase/oplog"
)

// TailEvent is one change of a filtered change stream: an op-log record and
// the blocks it changed that match the stream's predicate (docs/oql.md,
// section TAIL).
type TailEvent struct {
	LSN    oplog.LSN
	Time   time.Time // the record's timestamp
	Origin string    // the origin passed to Apply or Transact
	// Blocks are the matching blocks the change touched, sorted by space
	// then id, as engine.Change.Blocks lists them. Never empty when the
	// stream has a predicate; with none, every change is an event and
	// Blocks is the change's whole list (possibly empty).
	Blocks []engine.BlockChange
}

// TailStream is a filtered change stream (OpenTail, TailStmt).
type TailStream struct {
	// C delivers the events in strictly increasing LSN order. It is closed
	// when the stream ends: Close, the context given to OpenTail done, the
	// store closed, or an error; Err then says why.
	C <-chan TailEvent

	c      chan TailEvent
	pos    atomic.Uint64 // last LSN examined (see Position)
	cancel context.CancelCauseFunc
	done   chan struct{}
	// err is why the stream ended, set (under errMu) before C is closed.
	errMu sync.Mutex
	err   error

	ws   *engine.Workspace
	f    *tailFilter  // nil: no predicate
	priv *privateTail // the stream's own replica and subscription, or nil while on a hub
	wake chan struct{}
	hub  *tailHub // the hub the stream is on, while priv is nil
	// skip: the hub ignores records up to it for this stream (they were
	// handled before the stream joined). Guarded by hub.mu.
	skip oplog.LSN

	// mu guards what the hub hands the stream (tail_hub.go).
	mu struct {
		sync.Mutex
		queue    []tailItem
		sending  bool      // an event is out of the queue, not yet received
		events   int       // events in queue
		detached bool      // the hub dropped the stream (queue full) …
		at       oplog.LSN // … with every record up to at in the queue
		end      error     // the hub ended (after the queue)
		ended    bool
	}
}

// OpenTail follows ws's changes that match the OQL predicate where (""
// means every change) with params bound to its $1, $2, … It starts at LSN
// from: 0 streams only the changes logged after the call (FROM NOW); n ≥ 1
// replays the history from record n (which must be at most the last LSN +
// 1), then continues live without a gap or a duplicate.
//
// A block of the default space is in an event when it satisfies the
// predicate in the state right before the change or in the state right
// after it (so a block that stops matching, or is deleted, is reported
// once more). Both states are exact at the change's LSN, for history and
// live changes alike: the state comes from a replica of the workspace
// (engine.Replica) advanced record by record, so predicates that look at
// other blocks (DESCENDANT OF, LINKED FROM) see those blocks as they were
// at that point of the log. Only the blocks a change lists are
// candidates. Live filtered streams of one workspace share one replica (a
// tail hub, tail_hub.go): a stream FROM NOW joins it at once, a stream
// from an older LSN replays with a private replica until it catches up,
// then joins. Details and costs: docs/oql.md, section TAIL.
//
// Errors: *Error for a predicate that does not parse or check or
// parameters that do not fit; engine.ErrFuture for from beyond the last
// LSN + 1; oplog.ErrCompacted when the history before from is gone.
func OpenTail(ctx context.Context, ws *engine.Workspace, where string, params []any, from oplog.LSN) (*TailStream, error) {
	var e Expr
	if where != "" {
		var err error
		if e, err = ParseExpr(where); err != nil {
			return nil, err
		}
		if e, err = BindExpr(e, params); err != nil {
			return nil, err
		}
	} else if len(params) > 0 {
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Msg: fmt.Sprintf("%d parameters given, but there is no predicate", len(params))}
	}
	return openTail(ctx, ws, e, from)
}

// TailStmt runs a bound TAIL statement (see Bind) on ws: OpenTail with the
// statement's WHERE and FROM (FROM NOW when absent). The statement's IN
// '<workspace>' is the caller's to resolve, as for Exec.
func TailStmt(ctx context.Context, ws *engine.Workspace, stmt Stmt) (*TailStream, error) {
	t, ok := stmt.(*Tail)
	if !ok {
		return nil, fmt.Errorf("oql: TailStmt of a %T", stmt)
	}
	var from oplog.LSN
	if t.From != nil {
		lit, err := literal(t.From)
		if err != nil {
			return nil, err
		}
		if lit.Kind != KindInt || lit.Int < 0 {
			return nil, &Error{Pos: lit.At, Msg: "FROM needs a log position (an integer ≥ 0)"}
		}
		from = oplog.LSN(lit.Int)
	}
	if t.Where != nil {
		if err := checkParamCount(t.Where, nil); err != nil {
			return nil, err
		}
	}
	return openTail(ctx, ws, t.Where, from)
}

func openTail(ctx context.Context, ws *engine.Workspace, where Expr, from oplog.LSN) (*TailStream, error) {
	var f *tailFilter
	if where != nil {
		lk := &viewLookup{}
		pred, err := compile(where, lk)
		if err != nil {
			return nil, err
		}
		f = &tailFilter{pred: pred, lk: lk}
	}
	last, err := ws.LastLSN(ctx)
	if err != nil {
		return nil, err
	}
	start := from
	if from == 0 {
		start = last + 1
	} else if from > last+1 {
		return nil, fmt.Errorf("oql: tail from %d, last is %d: %w", from, last, engine.ErrFuture)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	c := make(chan TailEvent)
	t := &TailStream{C: c, c: c, cancel: cancel, done: make(chan struct{}), ws: ws, f: f,
		wake: make(chan struct{}, 1)}
	if f != nil && from == 0 {
		// FROM NOW: share the workspace's hub (tail_hub.go); its position
		// is never past the last LSN, read under its lock.
		if err := joinHubNow(ctx, t); err != nil {
			cancel(nil)
			return nil, err
		}
		go t.run(sctx)
		return t, nil
	}
	t.pos.Store(uint64(start - 1))
	p, err := openPrivate(ctx, ws, f, start)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	t.priv = p
	go t.run(sctx)
	return t, nil
}

// Position returns the LSN of the last change the stream has finished
// with: its event received from C, or skipped because nothing in it
// matched (start-1 before the first). Once Position ≥ n, every event up to
// n has been received.
func (t *TailStream) Position() oplog.LSN { return oplog.LSN(t.pos.Load()) }

// Close ends the stream and waits until C is closed. Safe to call more
// than once.
func (t *TailStream) Close() {
	t.cancel(context.Canceled)
	<-t.done
}

// Err returns why the stream ended (nil while it runs; set before C is
// closed, so a reader that found C closed gets it): context.Canceled
// after Close, the context's cause, engine.ErrClosed after the store
// closed, or the error that stopped it.
func (t *TailStream) Err() error {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return t.err
}

// run delivers the stream's events: from its private replica (history,
// or no predicate) until it joins the workspace's hub, then from the hub;
// back to a private replica if it falls too far behind the hub.
func (t *TailStream) run(ctx context.Context) {
	var err error
	defer func() {
		if t.priv != nil {
			t.priv.close()
			if err == nil {
				err = t.priv.sub.Err()
			}
		}
		if err == nil || errors.Is(err, context.Canceled) {
			if cause := context.Cause(ctx); cause != nil {
				err = cause
			}
		}
		t.errMu.Lock()
		t.err = err
		t.errMu.Unlock()
		t.cancel(nil)
		close(t.c)
		close(t.done)
	}()
	for {
		if t.priv != nil {
			if err = t.runPrivate(ctx); err != nil || t.priv != nil {
				return
			}
			continue
		}
		var at oplog.LSN
		if at, err = t.runHub(ctx); err != nil {
			return
		}
		// Detached from the hub at position at: catch up privately.
		p, perr := openPrivate(ctx, t.ws, t.f, at+1)
		if perr != nil {
			err = perr
			return
		}
		t.priv = p
	}
}

// runPrivate follows t.priv until the stream joins a hub (then t.priv is
// nil and it returns nil), or ends: it returns the error that stopped it,
// or nil with t.priv still set when the subscription or ctx ended.
func (t *TailStream) runPrivate(ctx context.Context) error {
	p := t.priv
	var kept [][]engine.BlockChange
	fs := []*tailFilter{t.f}
	for {
		var ch engine.Change
		var ok bool
		select {
		case ch, ok = <-p.sub.C:
		default:
			// Idle: caught up with what the engine has published, the
			// moment to hand over to (or found) the workspace's hub.
			if t.f != nil && tryJoinHub(t, true) {
				return nil
			}
			select {
			case ch, ok = <-p.sub.C:
			case <-ctx.Done():
				return nil
			}
		}
		if !ok {
			return nil
		}
		ev := TailEvent{LSN: ch.LSN, Time: ch.Time, Origin: ch.Origin}
		if t.f == nil {
			ev.Blocks = ch.Blocks
		} else {
			var err error
			if kept, err = evalRecord(p.rep, ch, fs, kept); err != nil {
				return err
			}
			ev.Blocks = kept[0]
			if len(ev.Blocks) == 0 {
				t.pos.Store(uint64(ch.LSN))
				if tryJoinHub(t, false) {
					return nil
				}
				continue
			}
		}
		select {
		case t.c <- ev:
			t.pos.Store(uint64(ch.LSN))
		case <-ctx.Done():
			return nil
		}
		if t.f != nil && tryJoinHub(t, false) {
			return nil
		}
	}
}

// A tailFilter is one stream's compiled predicate with the lookup it was
// compiled against; whoever evaluates it (the stream, or its hub) points
// the lookup at the state to judge.
type tailFilter struct {
	pred Pred
	lk   *viewLookup
}

// evalRecord advances rep by ch (the record right after rep's state) and
// returns, for each filter, the blocks of ch's default space that match it
// right before or right after the record (nil if none), reusing out. The
// blocks are read once per state and shared by every filter.
func evalRecord(rep *engine.Replica, ch engine.Change, fs []*tailFilter, out [][]engine.BlockChange) ([][]engine.BlockChange, error) {
	out = slices.Grow(out[:0], len(fs))[:len(fs)]
	clear(out)
	nb := len(ch.Blocks)
	before := make([]bool, len(fs)*nb)
	judge := func(v *engine.ReadView, into func(i, j int)) {
		for j, bc := range ch.Blocks {
			if bc.Space != engine.DefaultSpace {
				continue
			}
			b, ok := blockOf(v, bc.ID)
			if !ok {
				continue
			}
			for i, f := range fs {
				f.lk.v = v
				if f.pred(&b) {
					into(i, j)
				}
			}
		}
		for _, f := range fs {
			f.lk.v = nil
		}
	}
	err := rep.Apply(ch, func(v *engine.ReadView, _ []engine.BlockChange) {
		judge(v, func(i, j int) { before[i*nb+j] = true })
	})
	if err != nil {
		return out, err
	}
	after := make([]bool, len(fs)*nb)
	judge(rep.View(), func(i, j int) { after[i*nb+j] = true })
	for i := range fs {
		for j, bc := range ch.Blocks {
			if before[i*nb+j] || after[i*nb+j] {
				out[i] = append(out[i], bc)
			}
		}
	}
	return out, nil
}

// viewLookup resolves blocks in an engine read view that the caller
// switches between evaluations (the predicate is compiled once against the
// lookup, and evaluated against many states).
type viewLookup struct {
	v *engine.ReadView
}

var _ lookup = (*viewLookup)(nil)

// Block implements lookup.
func (l *viewLookup) Block(id string) (Block, bool) {
	return blockOf(l.v, engine.BlockID(id))
}

// blockOf reads block id of v as a Block.
func blockOf(v *engine.ReadView, id engine.BlockID) (Block, bool) {
	bv, ok := v.Get(id)
	if !ok {
		return Block{}, false
	}
	var links []string
	for _, l := range v.Links(id) {
		links = append(links, string(l))
	}
	return Block{
		ID: string(bv.ID), Type: bv.Flavour, Creator: bv.Creator, Parent: string(bv.Parent),
		Created: bv.Created, Updated: bv.Updated, Props: bv.Props, Links: links,
	}, true
}
