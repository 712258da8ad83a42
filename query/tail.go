package query

import (
	"context"
	"errors"
	"fmt"
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
	err    error // set before done is closed
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
// live changes alike: the stream keeps a private replica of the workspace
// (engine.Replica) that it advances record by record, so predicates that
// look at other blocks (DESCENDANT OF, LINKED FROM) see those blocks as
// they were at that point of the log. Only the blocks a change lists are
// candidates. Details and costs: docs/oql.md, section TAIL.
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
	lk := &viewLookup{}
	var pred Pred
	if where != nil {
		var err error
		if pred, err = compile(where, lk); err != nil {
			return nil, err
		}
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
	var rep *engine.Replica
	if pred != nil {
		if rep, err = ws.OpenReplica(ctx, start-1); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	sub, err := ws.Subscribe(sctx, start)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	c := make(chan TailEvent)
	t := &TailStream{C: c, c: c, cancel: cancel, done: make(chan struct{})}
	t.pos.Store(uint64(start - 1))
	go t.run(sctx, sub, rep, pred, lk)
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

// Err returns why the stream ended (nil while it runs): context.Canceled
// after Close, the context's cause, engine.ErrClosed after the store
// closed, or the error that stopped it.
func (t *TailStream) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

func (t *TailStream) run(ctx context.Context, sub *engine.Subscription, rep *engine.Replica, pred Pred, lk *viewLookup) {
	var err error
	defer func() {
		sub.Close()
		if err == nil {
			err = sub.Err()
		}
		if err == nil || errors.Is(err, context.Canceled) {
			if cause := context.Cause(ctx); cause != nil {
				err = cause
			}
		}
		t.err = err
		t.cancel(nil)
		close(t.c)
		close(t.done)
	}()
	var before []bool
	for ch := range sub.C {
		ev := TailEvent{LSN: ch.LSN, Time: ch.Time, Origin: ch.Origin}
		if pred == nil {
			ev.Blocks = ch.Blocks
		} else {
			before = before[:0]
			err = rep.Apply(ch, func(v *engine.ReadView, _ []engine.BlockChange) {
				lk.v = v
				for _, bc := range ch.Blocks {
					before = append(before, bc.Space == engine.DefaultSpace && lk.match(pred, bc.ID))
				}
			})
			if err != nil {
				return
			}
			lk.v = rep.View()
			for i, bc := range ch.Blocks {
				if before[i] || (bc.Space == engine.DefaultSpace && lk.match(pred, bc.ID)) {
					ev.Blocks = append(ev.Blocks, bc)
				}
			}
			lk.v = nil
			if len(ev.Blocks) == 0 {
				t.pos.Store(uint64(ch.LSN))
				continue
			}
		}
		select {
		case t.c <- ev:
			t.pos.Store(uint64(ch.LSN))
		case <-ctx.Done():
			return
		}
	}
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

// match reports whether block id exists in the current view and satisfies p.
func (l *viewLookup) match(p Pred, id engine.BlockID) bool {
	b, ok := blockOf(l.v, id)
	return ok && p(&b)
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
