package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"octobase/index"
	"octobase/oplog"
)

// IndexCheck is what Workspace.CheckIndex compared.
type IndexCheck struct {
	// LSN is the position at which the maintained indexes were compared
	// with a rebuild; Base is where that rebuild started: 0 when it
	// replayed every record of the log, else the LSN of the op-log
	// snapshot it started from (the log no longer starts at record 1).
	LSN, Base oplog.LSN
	// Spaces are the indexed spaces with blocks, in id order.
	Spaces []IndexCheckSpace
	// FileLSN is the LSN of the persisted index files that were compared
	// with a rebuild at that LSN (0: none was found at the newest op-log
	// snapshot), and Files how many there were.
	FileLSN oplog.LSN
	Files   int
}

// IndexCheckSpace is one space's maintained index, as compared.
type IndexCheckSpace struct {
	Space string
	Rows  int    // row ids allocated (blocks ever seen, parents and link targets included)
	Live  uint64 // live blocks
}

// CheckIndex rebuilds the roaring-bitmap index of every space from the op-log
// and compares it with the index the engine maintains incrementally:
//
//   - the live indexes, as of the last published LSN, against indexes
//     built in one batch from the blocks of a document rebuilt from the
//     log: from its first record if the log still holds it, else from its
//     newest snapshot at or before that LSN and the records after it;
//   - the index files persisted beside the newest op-log snapshot, if any
//     are there at its LSN, against indexes rebuilt at that LSN the same
//     way.
//
// A difference is an error wrapping index.ErrMismatch that names the space
// and the first difference (index.MismatchError). CheckIndex only reads:
// the workspace keeps serving while it runs, and the cost is that of
// replaying the log and building the indexes once or twice.
func (w *Workspace) CheckIndex(ctx context.Context) (IndexCheck, error) {
	var res IndexCheck
	if err := ctx.Err(); err != nil {
		return res, err
	}
	w.touchUsed()
	w.acquire()
	defer w.release()
	err := retryClosed(ctx, func() error {
		l, _, st, err := w.openLog()
		if err != nil {
			return err
		}
		// The maintained indexes, flushed and sealed at the views' LSN.
		st.views.mu.RLock()
		lsn := st.views.lsn
		live := st.views.indexSnapshots()
		st.views.mu.RUnlock()
		res = IndexCheck{LSN: lsn}

		rebuilt, base, err := rebuildIndexes(ctx, l, lsn)
		if err != nil {
			return err
		}
		res.Base = base
		if err := compareIndexes(live, rebuilt, lsn, "maintained"); err != nil {
			return err
		}
		for _, space := range slices.Sorted(maps.Keys(live)) {
			s := live[space]
			res.Spaces = append(res.Spaces, IndexCheckSpace{Space: space, Rows: s.Rows(), Live: s.LiveCount()})
		}

		// The persisted files of the newest snapshot, read while no
		// snapshot is being written (its index files follow it).
		var fileLSN oplog.LSN
		var loaded map[string]*index.Index
		if err := st.persistedStable(ctx, func() error {
			snaps, err := l.Snapshots()
			if err != nil || len(snaps) == 0 {
				fileLSN, loaded = 0, nil
				return err
			}
			fileLSN = snaps[len(snaps)-1]
			if loaded, err = loadIndexes(w.s.opts.FS, w.dir, fileLSN); err != nil {
				return fmt.Errorf("engine: persisted index: %w", err)
			}
			return nil
		}); err != nil {
			return err
		}
		if len(loaded) == 0 {
			return nil
		}
		files := map[string]*index.Snapshot{}
		for space, ix := range loaded {
			files[space] = ix.Snapshot()
		}
		if fileLSN != lsn {
			if rebuilt, _, err = rebuildIndexes(ctx, l, fileLSN); err != nil {
				return err
			}
		}
		if err := compareIndexes(files, rebuilt, fileLSN, "persisted"); err != nil {
			return err
		}
		res.FileLSN, res.Files = fileLSN, len(files)
		return nil
	})
	return res, err
}

// rebuildIndexes builds, from l, the index of every space with blocks as
// of lsn: the document is replayed from the first record when the log
// still has it (base 0), else from the newest snapshot at or before lsn
// (base: its LSN).
func rebuildIndexes(ctx context.Context, l *oplog.Log, lsn oplog.LSN) (map[string]*index.Snapshot, oplog.LSN, error) {
	doc, _, base, err := scratchFrom(ctx, l, lsn, false, l.FirstLSN() > 1)
	if err != nil {
		return nil, 0, err
	}
	tr := newTracker(doc)
	tr.checkRoots()
	v := buildViews(tr, lsn) // builds each space's index from its blocks in one batch
	out := map[string]*index.Snapshot{}
	for space, sv := range v.spaces {
		if len(sv.blocks) == 0 {
			continue
		}
		if sv.ixErr != nil {
			return nil, 0, fmt.Errorf("engine: space %q: %w", space, sv.ixErr)
		}
		out[space] = sv.ix.Snapshot()
	}
	return out, base, nil
}

// compareIndexes compares each space's index in got (what the engine
// keeps, named what) with the rebuilt one.
func compareIndexes(got, rebuilt map[string]*index.Snapshot, lsn oplog.LSN, what string) error {
	for _, space := range slices.Sorted(maps.Keys(rebuilt)) {
		g, ok := got[space]
		if !ok {
			return fmt.Errorf("engine: space %q at LSN %d: no %s index, but a rebuild has %d rows: %w", space, lsn, what, rebuilt[space].Rows(), index.ErrMismatch)
		}
		if err := g.CompareLive(rebuilt[space]); err != nil {
			return fmt.Errorf("engine: space %q: the %s index at LSN %d differs from a rebuild: %w", space, what, lsn, err)
		}
	}
	for space := range got {
		if _, ok := rebuilt[space]; !ok {
			return fmt.Errorf("engine: space %q at LSN %d: a %s index, but a rebuild has no blocks there: %w", space, lsn, what, index.ErrMismatch)
		}
	}
	return nil
}
