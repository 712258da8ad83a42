package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"octobase/index"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// The materialized views keep, per space, an index.Index over the space's
// blocks (type, creator, parent, backlinks, deleted, time buckets), in step
// with the blocks:
//
//   - views.apply turns every block a delta changed (its block op, or its
//     space:updated entry) into an index.BlockChange of its new state,
//     sorted by block id, and queues it for the space's index. It skips a
//     block whose indexed fields did not change (a prop or its children
//     changed; its updated time stayed in the same hour), and tells the
//     index which fields it knows unchanged (index.BlockChange.Same,
//     computed by indexSame from the block's old and new views), so that
//     the index need not compare them: on a large index each comparison
//     is a few cache misses, the bulk of its upkeep. The queue
//     is applied as one batch when the index is read (ReadView.Index), or
//     by the writer once it holds indexFlushAt changes: the copy-on-write
//     cost of a batch (a container copy per large posting it touches) is
//     paid once per read or per 1024 changes, not once per record. Rows are
//     allocated in the order of the queued changes, whatever the batches,
//     so replaying the same log records gives the same rows
//     (index.Snapshot.Compare holds exactly).
//   - buildViews (recovery, ReadAt) builds it from every block in one
//     batch, unless recovery loaded a persisted index (loadIndexes).
//   - ReadView.Index returns the snapshot of the view's space: immutable,
//     and consistent with the view (a live view is read under views.mu,
//     which apply holds while it changes blocks and index together).
//
// A space whose index refused a change (a block stored under the empty key,
// which the index cannot hold) has no index: ReadView.Index returns nil
// and queries scan.

// indexKey names a block whose index entry must be recomputed, and the
// fields of it known not to have changed (index.BlockChange.Same).
type indexKey struct {
	space string
	id    BlockID
	same  index.Fields
}

// indexSame returns the index fields that b, the new state of a block,
// shares with old, its state before (nil: none).
//
// Every change of a block's index fields is queued for its index, so the
// previous change the index received for the block is old's: which is
// what index.BlockChange.Same promises about.
func indexSame(old, b *block) index.Fields {
	if old == nil || b == nil {
		return 0
	}
	var same index.Fields
	if old.flavour == b.flavour {
		same |= index.SameFlavour
	}
	if old.creator == b.creator {
		same |= index.SameCreator
	}
	if old.parent == b.parent {
		same |= index.SameParent
	}
	if slices.Equal(old.links, b.links) {
		same |= index.SameLinks
	}
	return same
}

// indexFlushAt is the queue length at which a write applies the pending
// changes without waiting for a reader: it bounds the queue's memory, and
// batches this long cost a few µs per change (index/doc.go).
const indexFlushAt = 1024

// applyIndex queues the new index entries of keys (duplicates allowed),
// read from the views as they are now (after the delta), for the index of
// their space; flushIndex applies them.
func (v *views) applyIndex(keys []indexKey) {
	if v.skipIndex {
		return
	}
	if v.ixNanos != nil {
		defer v.countIndex(time.Now())
	}
	slices.SortFunc(keys, func(a, b indexKey) int {
		if c := strings.Compare(a.space, b.space); c != 0 {
			return c
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	// One change per block, promising what every queued reason for it
	// leaves unchanged.
	n := 0
	for i, k := range keys {
		if i > 0 && k.space == keys[n-1].space && k.id == keys[n-1].id {
			keys[n-1].same &= k.same
			continue
		}
		keys[n] = k
		n++
	}
	keys = keys[:n]
	for _, k := range keys {
		sv := v.spaces[k.space]
		if sv.ix == nil || sv.ixErr != nil {
			continue
		}
		if k.id == "" {
			sv.ixErr = fmt.Errorf("engine: space %q: a block with an empty id cannot be indexed", k.space)
			sv.pending = nil
			continue
		}
		c := v.indexChange(sv, k.id)
		c.Same = k.same
		sv.pending = append(sv.pending, c)
		if len(sv.pending) >= indexFlushAt {
			sv.ixMu.Lock()
			v.flushIndexLocked(sv)
			sv.ixMu.Unlock()
		}
	}
}

// flushIndex applies sv's pending changes as one batch and publishes the
// index at the views' LSN, and returns the index's snapshot for the caller
// to read or keep; nil if the space has no index. The caller holds mu (for
// reading at least).
//
// Queued changes are applied in the order they were made (each record's
// sorted by block id), so the rows the index allocates do not depend on
// where batches start and end: replaying the same records gives the same
// rows.
func (v *views) flushIndex(sv *spaceView) *index.Snapshot {
	if v.ixNanos != nil {
		defer v.countIndex(time.Now())
	}
	sv.ixMu.Lock()
	defer sv.ixMu.Unlock()
	if !v.flushIndexLocked(sv) {
		return nil
	}
	return sv.ix.Snapshot()
}

// countIndex adds the time since start to the store's index time
// (StoreStats.IndexTime).
func (v *views) countIndex(start time.Time) {
	v.ixNanos.Add(int64(time.Since(start)))
}

// flushIndexLocked applies the pending changes without taking a snapshot:
// the writer's flush (applyIndex, which counts its own time), after which
// the index's snapshot stays open, so that the next batch continues it in
// place instead of copying what this one copied (index.Index.Snapshot,
// "Open snapshots"). The caller holds sv.ixMu. It reports whether the
// space has an index.
func (v *views) flushIndexLocked(sv *spaceView) bool {
	if sv.ix == nil || sv.ixErr != nil {
		return false
	}
	if len(sv.pending) > 0 || sv.ix.Position() != uint64(v.lsn) {
		err := sv.ix.ApplyAt(uint64(v.lsn), sv.pending)
		clear(sv.pending)
		sv.pending = sv.pending[:0]
		if err != nil {
			sv.ixErr = err
			return false
		}
	}
	return true
}

// indexChange is the index entry of block id of sv as the views hold it now.
func (v *views) indexChange(sv *spaceView, id BlockID) index.BlockChange {
	b := sv.blocks[id]
	if b == nil {
		return index.BlockChange{ID: string(id), Deleted: true}
	}
	return blockIndexChange(b, v.updated)
}

func blockIndexChange(b *block, updated map[BlockID]int64) index.BlockChange {
	ms, ok := updated[b.id]
	if !ok {
		ms = b.created
	}
	var links []string
	if len(b.links) > 0 {
		links = make([]string, len(b.links))
		for i, l := range b.links {
			links[i] = string(l)
		}
	}
	return index.BlockChange{ID: string(b.id), Flavour: b.flavour, Creator: b.creator,
		Parent: string(b.parent), Links: links, Created: b.created, Updated: ms}
}

// buildIndex builds a fresh index of sv's blocks at lsn: what a rebuild
// gives, which tests compare the maintained index against.
func buildIndex(sv *spaceView, updated map[BlockID]int64, lsn oplog.LSN) (*index.Index, error) {
	ids := make([]BlockID, 0, len(sv.blocks))
	for id := range sv.blocks {
		if id == "" {
			return nil, errors.New("engine: a block with an empty id cannot be indexed")
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	changes := make([]index.BlockChange, len(ids))
	for i, id := range ids {
		changes[i] = blockIndexChange(sv.blocks[id], updated)
	}
	ix := index.New()
	if err := ix.ApplyAt(uint64(lsn), changes); err != nil {
		return nil, err
	}
	return ix, nil
}

// Index returns the roaring-bitmap index of the view's space as of the
// view's LSN (Snapshot.Position is that LSN): an immutable snapshot the
// caller may keep after the view is gone. A space without blocks has an
// empty index. Nil when the space cannot be indexed (a block stored under
// the empty key) and for a Replica's views; callers then scan the view.
//
// Live views and ReadAt views share the index the engine maintains; it
// costs nothing to call. A view copied from the live views without their
// index builds one on first use.
func (r *ReadView) Index() *index.Snapshot {
	if r.v.noIndex {
		return nil
	}
	sv := r.sv()
	if sv == nil {
		return emptyIndex(r.v.lsn)
	}
	if sv.ix != nil {
		return r.v.flushIndex(sv)
	}
	sv.lazy.once.Do(func() {
		if ix, err := buildIndex(sv, r.v.updated, r.v.lsn); err == nil {
			sv.lazy.snap = ix.Snapshot()
		}
	})
	return sv.lazy.snap
}

func emptyIndex(lsn oplog.LSN) *index.Snapshot {
	ix := index.New()
	ix.ApplyAt(uint64(lsn), nil) // cannot fail
	return ix.Snapshot()
}

// indexSnapshots returns the index snapshot of every space that has one, as
// of the views' LSN. The caller holds mu (or owns v).
func (v *views) indexSnapshots() map[string]*index.Snapshot {
	out := map[string]*index.Snapshot{}
	for id, sv := range v.spaces {
		if s := v.flushIndex(sv); s != nil && len(sv.blocks) > 0 {
			out[id] = s
		}
	}
	return out
}

// Persisted indexes live in the workspace directory, one file per space,
// beside the op-log and its snapshots:
//
//	<workspace>/index/<escaped space id>.idx    index file format (index/doc.go)
//
// A file is written (temporary file, fsync, rename, directory fsync) with
// the index as of the LSN of an op-log snapshot; recovery uses it only when
// its position equals the LSN of the snapshot it loads, and rebuilds the
// index from the views otherwise (a missing, stale, newer or damaged file
// costs recovery time, never correctness).
//
// Writing is wired into the snapshot writer (workspace.go): the snapshots
// of the indexes are taken with the document's state, under Workspace.mu
// (indexesAt; none while records are in flight, since the views then lag
// the document), and written once the op-log snapshot is (persistIndexes).
// Workspace.CheckIndex compares the files of the newest snapshot, and the
// live indexes, with rebuilds from the log.
const (
	indexDir = "index"
	indexExt = ".idx"
)

func indexPath(wsDir, space string) string {
	return filepath.Join(wsDir, indexDir, escapeName(space)+indexExt)
}

// writeIndexes persists snaps (space → snapshot at one LSN).
func writeIndexes(fs vfs.FS, wsDir string, snaps map[string]*index.Snapshot) error {
	dir := filepath.Join(wsDir, indexDir)
	if err := vfs.MkdirAllDurable(fs, dir); err != nil {
		return fmt.Errorf("engine: index directory: %w", err)
	}
	for space, s := range snaps {
		path := indexPath(wsDir, space)
		err := vfs.WriteFileAtomic(fs, path, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			if _, err := s.WriteTo(bw); err != nil {
				return err
			}
			return bw.Flush()
		}, false) // one directory fsync below, for every file
		if err != nil {
			return fmt.Errorf("engine: write %s: %w", path, err)
		}
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("engine: write index: %w", err)
	}
	return nil
}

// loadIndexes reads the persisted indexes whose position is lsn. Files
// that are missing, at another position or unreadable are skipped (the
// caller rebuilds those spaces' indexes); the returned error reports the
// unreadable ones, for logging only.
func loadIndexes(fs vfs.FS, wsDir string, lsn oplog.LSN) (map[string]*index.Index, error) {
	names, err := fs.List(filepath.Join(wsDir, indexDir))
	if err != nil {
		if vfs.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string]*index.Index{}
	var errs []error
	for _, name := range names {
		esc, ok := strings.CutSuffix(name, indexExt)
		if !ok {
			continue
		}
		space, ok := unescapeName(esc)
		if !ok {
			continue
		}
		ix, err := readIndexFile(fs, filepath.Join(wsDir, indexDir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ix.Snapshot().Position() == uint64(lsn) {
			out[space] = ix
		}
	}
	return out, errors.Join(errs...)
}

func readIndexFile(fs vfs.FS, path string) (*index.Index, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	ix := index.New()
	if _, err := ix.ReadFrom(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20)); err != nil {
		return nil, fmt.Errorf("engine: %s: %w", path, err)
	}
	return ix, nil
}

// indexesAt returns the index snapshots to persist beside an op-log
// snapshot at lsn: those of every indexed space, or nil when the views are
// not at lsn (a snapshot of a document ahead of its views; recovery then
// rebuilds the index, which costs time, not correctness). The caller holds
// Workspace.mu, like the code that encodes the snapshot.
func (st *wsState) indexesAt(lsn oplog.LSN) map[string]*index.Snapshot {
	st.views.mu.RLock()
	defer st.views.mu.RUnlock()
	if st.views.lsn != lsn {
		return nil
	}
	return st.views.indexSnapshots()
}

// persistIndexes writes snaps (from indexesAt) after the op-log snapshot
// they belong to was written, outside any lock. A failure is logged: the
// next recovery rebuilds the index.
func (w *Workspace) persistIndexes(lsn oplog.LSN, snaps map[string]*index.Snapshot) {
	if len(snaps) == 0 {
		return
	}
	if err := writeIndexes(w.s.opts.FS, w.dir, snaps); err != nil {
		w.s.opts.Logger.Error("engine: persist index", "workspace", w.name, "lsn", lsn, "err", err)
	}
}

// shareIndex makes c, a copy of sv made by views.clone at the same LSN,
// use sv's index snapshot instead of building one on first use. The caller
// holds v.mu, at least for reading (as clone's callers do). The hook for
// clone (history.go): create the copy as cs, call v.shareIndex(sv, cs),
// then store cs.
func (v *views) shareIndex(sv, c *spaceView) {
	if v.noIndex {
		return
	}
	s := v.flushIndex(sv)
	c.lazy.once.Do(func() { c.lazy.snap = s })
}
