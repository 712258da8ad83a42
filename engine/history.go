package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
)

// scratchClientID is the client id of scratch documents (history replay,
// ReadAt). They never make local edits, so any valid id serves.
const scratchClientID = 1

func keepClientID(old uint64) uint64 { return old }

// openLog returns the op-log of the open state, opening the workspace if
// needed, and its last LSN.
func (w *Workspace) openLog() (*oplog.Log, oplog.LSN, *wsState, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.ensureLocked()
	if err != nil {
		return nil, 0, nil, err
	}
	return st.log, st.lsn, st, nil
}

// reconstructible reports (nil) whether the state as of lsn can be rebuilt
// from l: from the beginning if the log still starts at 1, else from a
// snapshot at or before lsn followed by records the log still holds.
func reconstructible(l *oplog.Log, lsn oplog.LSN) error {
	first := l.FirstLSN()
	if first <= 1 {
		return nil
	}
	s, err := l.SnapshotAtOrBefore(lsn)
	if err != nil && !errors.Is(err, oplog.ErrNoSnapshot) {
		return err
	}
	if err == nil && (s.LSN == lsn || s.LSN+1 >= first) {
		return nil
	}
	return fmt.Errorf("state at %d, log starts at %d: %w", lsn, first, oplog.ErrCompacted)
}

// scratchAt returns a new document holding the state as of LSN upTo,
// rebuilt from the newest snapshot at or before upTo and the records after
// it. With keepReader, the reader is left positioned after upTo and
// returned for the caller to continue. It stops with ctx's error if ctx
// ends during the replay (checked every scratchCheck records).
func scratchAt(ctx context.Context, l *oplog.Log, upTo oplog.LSN, keepReader bool) (*crdt.Doc, *oplog.Reader, error) {
	doc, r, _, err := scratchFrom(ctx, l, upTo, keepReader, true)
	return doc, r, err
}

// scratchCheck is how many records a scratch replay applies between two
// looks at its context.
const scratchCheck = 1024

// scratchFrom is scratchAt that starts from the first record when
// snapshots is false, and also returns where it started: the snapshot's
// LSN, or 0.
func scratchFrom(ctx context.Context, l *oplog.Log, upTo oplog.LSN, keepReader, snapshots bool) (*crdt.Doc, *oplog.Reader, oplog.LSN, error) {
	doc := crdt.MustNewDoc(crdt.Options{ClientID: scratchClientID, NewClientID: keepClientID})
	var base oplog.LSN
	if snapshots {
		snap, err := l.SnapshotAtOrBefore(upTo)
		switch {
		case err == nil:
			if err := doc.ApplyUpdate(snap.Data, nil); err != nil {
				return nil, nil, 0, fmt.Errorf("%w: snapshot at LSN %d: %w", ErrBadState, snap.LSN, err)
			}
			base = snap.LSN
		case !errors.Is(err, oplog.ErrNoSnapshot):
			return nil, nil, 0, err
		}
	}
	if base == upTo && !keepReader {
		return doc, nil, base, nil
	}
	r, err := l.NewReader(base + 1)
	if err != nil {
		return nil, nil, 0, err
	}
	for lsn := base + 1; lsn <= upTo; lsn++ {
		rec, err := r.Next()
		if err == nil && rec.LSN != lsn {
			err = fmt.Errorf("%w: record %d where %d was expected", ErrBadState, rec.LSN, lsn)
		}
		if err == io.EOF {
			err = fmt.Errorf("engine: log ends before LSN %d", lsn)
		}
		if err == nil {
			if err = doc.ApplyUpdate(rec.Data, rec.Origin); err != nil {
				err = fmt.Errorf("%w: record %d: %w", ErrBadState, lsn, err)
			}
		}
		if err == nil && (lsn-base)%scratchCheck == 0 {
			err = ctx.Err()
		}
		if err != nil {
			r.Close()
			return nil, nil, 0, err
		}
	}
	if !keepReader {
		r.Close()
		r = nil
	}
	return doc, r, base, nil
}

// history re-derives the changes of records from..to (inclusive) by
// replaying the log into a scratch document, calling send for each; it
// returns the next LSN to deliver. It stops early, returning ctx's error,
// when send returns false.
func (w *Workspace) history(ctx context.Context, from, to oplog.LSN, send func(Change) bool) (oplog.LSN, error) {
	next := from
	err := retryClosed(ctx, func() error {
		l, _, _, err := w.openLog()
		if err != nil {
			return err
		}
		doc, r, err := scratchAt(ctx, l, next-1, true)
		if err != nil {
			return err
		}
		defer r.Close()
		tr := newTracker(doc)
		tr.checkRoots()
		tr.on = true
		for next <= to {
			rec, err := r.Next()
			if err == io.EOF {
				return fmt.Errorf("engine: log ends before LSN %d", next)
			}
			if err != nil {
				return err
			}
			if rec.LSN != next {
				return fmt.Errorf("%w: record %d where %d was expected", ErrBadState, rec.LSN, next)
			}
			if err := doc.ApplyUpdate(rec.Data, rec.Origin); err != nil {
				return fmt.Errorf("%w: record %d: %w", ErrBadState, rec.LSN, err)
			}
			tr.checkRoots()
			t := tr.take()
			ch := Change{LSN: rec.LSN, Time: time.Unix(0, rec.Time), Origin: rec.Origin, Blocks: tr.changes(&t), Update: rec.Data}
			if !send(ch) {
				return context.Cause(ctx)
			}
			next++
		}
		return nil
	})
	return next, err
}

// ReadAt returns a read-only view of the workspace as it was right after
// the record at lsn (0: the empty workspace), in the default space
// (ReadView.Space for others). It is rebuilt from the nearest snapshot at
// or before lsn plus the log up to lsn, unless lsn is the current last LSN
// (then it copies the live views). ErrFuture for an lsn after the last
// acknowledged record; oplog.ErrCompacted for one whose history retention
// dropped.
func (w *Workspace) ReadAt(ctx context.Context, lsn oplog.LSN) (*ReadView, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.touchUsed()
	w.acquire()
	defer w.release()
	var rv *ReadView
	err := retryClosed(ctx, func() error {
		l, last, st, err := w.openLog()
		if err != nil {
			return err
		}
		if lsn > last {
			return fmt.Errorf("engine: read at %d, last is %d: %w", lsn, last, ErrFuture)
		}
		if lsn == last {
			st.views.mu.RLock()
			v := st.views.clone()
			st.views.mu.RUnlock()
			if v.lsn == lsn {
				rv = &ReadView{v: v, space: DefaultSpace}
				return nil
			}
		}
		doc, _, err := scratchAt(ctx, l, lsn, false)
		if err != nil {
			return err
		}
		tr := newTracker(doc)
		tr.checkRoots()
		rv = &ReadView{v: buildViews(tr, lsn), space: DefaultSpace}
		return nil
	})
	return rv, err
}

// clone returns an independent copy of v (blocks are immutable and shared;
// so is the index snapshot). The caller holds v.mu, at least for reading.
func (v *views) clone() *views {
	c := &views{lsn: v.lsn, spaces: make(map[string]*spaceView, len(v.spaces)),
		updated: maps.Clone(v.updated), meta: maps.Clone(v.meta)}
	for id, sv := range v.spaces {
		bl := make(map[BlockID]map[BlockID]struct{}, len(sv.backlinks))
		for t, src := range sv.backlinks {
			bl[t] = maps.Clone(src)
		}
		cs := &spaceView{blocks: maps.Clone(sv.blocks), backlinks: bl}
		v.shareIndex(sv, cs) // the same LSN: share the index snapshot
		c.spaces[id] = cs
	}
	return c
}
