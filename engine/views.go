package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"octobase/engine/crdt"
	"octobase/index"
	"octobase/oplog"
)

// views are the materialized block views of a workspace: every block of
// every space as plain values, the backlink index, space:updated times and
// space:meta. They are a function of the document (invariant V1): applying
// the deltas of a sequence of transactions gives what buildViews gives on
// the resulting document. Blocks are immutable once stored (copy-on-write),
// so a reader can keep one after releasing mu.
type views struct {
	mu      sync.RWMutex
	lsn     oplog.LSN
	spaces  map[string]*spaceView
	updated map[BlockID]int64
	meta    map[string]any

	skipIndex bool // apply leaves the indexes alone (while building; always if noIndex)
	noIndex   bool // a Replica's views keep no index: ReadView.Index returns nil
	// ixNanos, when set (the live views of a store's workspace), counts
	// the time spent in index upkeep: StoreStats.IndexTime.
	ixNanos *atomic.Int64
}

type spaceView struct {
	blocks    map[BlockID]*block
	backlinks map[BlockID]map[BlockID]struct{} // target → sources

	// ix is the space's roaring-bitmap index (engine/index.go), kept in
	// step with blocks: apply queues each changed block's new entry in
	// pending, and the queue is applied as one batch when the index is
	// read or the queue is long (flushIndex). It is nil in a copy made by
	// clone; then ReadView.Index builds one on first use (lazy).
	ix    *index.Index
	ixErr error // the index refused a change (an empty block id): no index
	// pending is appended to under views.mu held for writing, and
	// applied and emptied under ixMu with views.mu held at least for
	// reading, so concurrent readers flush it once.
	pending []index.BlockChange
	ixMu    sync.Mutex
	lazy    struct {
		once sync.Once
		snap *index.Snapshot
	}
}

func newViews() *views {
	return &views{spaces: map[string]*spaceView{}, updated: map[BlockID]int64{}, meta: map[string]any{}}
}

func (v *views) space(id string) *spaceView {
	sv := v.spaces[id]
	if sv == nil {
		sv = &spaceView{blocks: map[BlockID]*block{}, backlinks: map[BlockID]map[BlockID]struct{}{}, ix: index.New()}
		v.spaces[id] = sv
	}
	return sv
}

// buildViews materializes the views of tr's document from scratch, reading
// every tracked space: what recovery does after loading a snapshot, what
// ReadAt does, and what tests compare the incremental views against.
func buildViews(tr *tracker, lsn oplog.LSN) *views {
	return buildViewsWith(tr, lsn, nil)
}

// buildViewsWith is buildViews that takes the index of the spaces in
// loaded as given (recovery loaded them from files at lsn) and builds the
// others' from the blocks, one batch per space.
func buildViewsWith(tr *tracker, lsn oplog.LSN, loaded map[string]*index.Index) *views {
	return buildViewsIndexed(tr, lsn, loaded, true)
}

func buildViewsIndexed(tr *tracker, lsn oplog.LSN, loaded map[string]*index.Index, indexed bool) *views {
	v := newViews()
	v.lsn = lsn
	v.skipIndex, v.noIndex = true, !indexed
	defer func() {
		if v.noIndex {
			return
		}
		v.skipIndex = false
		for id, sv := range v.spaces {
			if ix := loaded[id]; ix != nil {
				sv.ix = ix
				continue
			}
			ix, err := buildIndex(sv, v.updated, lsn)
			sv.ix, sv.ixErr = ix, err
		}
	}()
	d := delta{lsn: lsn}
	for id, sm := range tr.spaces {
		v.space(id)
		for _, k := range sm.Keys() {
			if m, ok := tr.blockMap(id, BlockID(k)); ok {
				d.blocks = append(d.blocks, blockOp{space: id, id: BlockID(k), b: readBlock(BlockID(k), m)})
			}
		}
	}
	if tr.updated != nil {
		for _, k := range tr.updated.Keys() {
			d.updated = append(d.updated, readUpdated(tr.updated, BlockID(k)))
		}
	}
	if tr.meta != nil {
		for _, k := range tr.meta.Keys() {
			d.meta = append(d.meta, readMeta(tr.meta, k))
		}
	}
	for id := range loaded {
		v.space(id)
	}
	v.apply(&d)
	return v
}

// A delta is what one transaction (one log record) changes in the views.
// It is computed from the document under the workspace lock, before the
// record is appended, and applied to the views only once the append is
// acknowledged: the views never show unacknowledged data.
type delta struct {
	lsn     oplog.LSN
	blocks  []blockOp
	updated []updatedOp
	meta    []metaOp
}

type blockOp struct {
	space string
	id    BlockID
	b     *block // nil: delete
}

type updatedOp struct {
	id  BlockID
	ms  int64
	del bool
}

type metaOp struct {
	key string
	v   any
	del bool
}

func readUpdated(m *crdt.Map, id BlockID) updatedOp {
	v, ok := m.Get(string(id))
	if !ok {
		return updatedOp{id: id, del: true}
	}
	if a, isArray := v.(*crdt.Array); isArray {
		// Some OctoBase versions keep a history array per block; its
		// last entry's last number is the latest time.
		v = nil
		if n := a.Len(); n > 0 {
			v, _ = a.Get(n - 1)
			if s, ok := v.([]any); ok && len(s) > 0 {
				v = s[len(s)-1]
			}
		}
	}
	return updatedOp{id: id, ms: toMillis(v)}
}

func readMeta(m *crdt.Map, key string) metaOp {
	v, ok := m.Get(key)
	if !ok {
		return metaOp{key: key, del: true}
	}
	return metaOp{key: key, v: propValue(v)}
}

// makeDelta computes the views' delta for touches, reading the document of
// tr. It patches blocks field by field from their newest version: in ahead
// (records in flight, not yet in v; may be nil) or else in v. The caller
// holds the workspace lock, the only writer of v.
func makeDelta(tr *tracker, v *views, t *touches, lsn oplog.LSN, ahead map[touchKey]aheadBlock) *delta {
	d := &delta{lsn: lsn}
	for k, tc := range t.blocks {
		m, ok := tr.blockMap(k.space, k.id)
		if !ok {
			d.blocks = append(d.blocks, blockOp{space: k.space, id: k.id})
			continue
		}
		var old *block
		if a, ok := ahead[k]; ok {
			old = a.b
		} else if sv := v.spaces[k.space]; sv != nil {
			old = sv.blocks[k.id]
		}
		var b *block
		if tc.created || tc.deleted || old == nil {
			b = readBlock(k.id, m)
		} else if len(tc.fields) > 0 {
			b = old.patch(m, tc.fields)
		} else {
			continue
		}
		d.blocks = append(d.blocks, blockOp{space: k.space, id: k.id, b: b})
	}
	for id := range t.updated {
		d.updated = append(d.updated, readUpdated(tr.updated, id))
	}
	for key := range t.meta {
		d.meta = append(d.meta, readMeta(tr.meta, key))
	}
	return d
}

// apply applies d, and the same change to the indexes (engine/index.go);
// the caller holds mu (or owns v alone).
func (v *views) apply(d *delta) {
	var reindex []indexKey
	for _, op := range d.blocks {
		sv := v.space(op.space)
		old := sv.blocks[op.id]
		if !v.skipIndex {
			if same := indexSame(old, op.b); same != index.SameAll || old.created != op.b.created {
				reindex = append(reindex, indexKey{op.space, op.id, same})
			} // else: nothing the index holds changed (props, children)
		}
		if old != nil {
			for _, t := range old.links {
				if src := sv.backlinks[t]; src != nil {
					delete(src, op.id)
					if len(src) == 0 {
						delete(sv.backlinks, t)
					}
				}
			}
		}
		if op.b == nil {
			delete(sv.blocks, op.id)
			continue
		}
		sv.blocks[op.id] = op.b
		for _, t := range op.b.links {
			src := sv.backlinks[t]
			if src == nil {
				src = map[BlockID]struct{}{}
				sv.backlinks[t] = src
			}
			src[op.id] = struct{}{}
		}
	}
	for _, op := range d.updated {
		was, had := v.updated[op.id]
		if op.del {
			delete(v.updated, op.id)
		} else {
			v.updated[op.id] = op.ms
		}
		if v.skipIndex {
			continue
		}
		for id, sv := range v.spaces {
			b := sv.blocks[op.id]
			if b == nil {
				continue
			}
			// The index holds the updated hour (the created time when
			// there is no entry); within the hour only the block's own
			// changes, queued above, matter.
			from, to := b.created, b.created
			if had {
				from = was
			}
			if !op.del {
				to = op.ms
			}
			if !index.SameHour(from, to) {
				reindex = append(reindex, indexKey{id, op.id, index.SameAll})
			}
		}
	}
	for _, op := range d.meta {
		if op.del {
			delete(v.meta, op.key)
		} else {
			v.meta[op.key] = op.v
		}
	}
	if d.lsn > v.lsn {
		v.lsn = d.lsn
	}
	v.applyIndex(reindex)
}

// ReadView is a read-only view of a workspace's blocks in one space, as of
// a log position. The live view (Workspace.View) is valid only inside the
// callback it is passed to; a ReadView from Workspace.ReadAt is the
// caller's to keep. Its methods are safe for concurrent use.
type ReadView struct {
	v     *views
	space string
}

// LSN returns the log position the view reflects: every record up to it is
// applied, none after it.
func (r *ReadView) LSN() oplog.LSN { return r.v.lsn }

// SpaceID returns the view's space id.
func (r *ReadView) SpaceID() string { return r.space }

// Space returns a view of another space of the same workspace state.
func (r *ReadView) Space(id string) *ReadView { return &ReadView{v: r.v, space: id} }

// Spaces returns the ids of the spaces that hold blocks, sorted.
func (r *ReadView) Spaces() []string {
	var out []string
	for id, sv := range r.v.spaces {
		if len(sv.blocks) > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (r *ReadView) sv() *spaceView { return r.v.spaces[r.space] }

// Get returns the block id.
func (r *ReadView) Get(id BlockID) (BlockView, bool) {
	sv := r.sv()
	if sv == nil {
		return BlockView{}, false
	}
	b := sv.blocks[id]
	if b == nil {
		return BlockView{}, false
	}
	ms, ok := r.v.updated[id]
	return b.view(r.space, ms, ok), true
}

// Has reports whether the space holds block id.
func (r *ReadView) Has(id BlockID) bool {
	sv := r.sv()
	return sv != nil && sv.blocks[id] != nil
}

// Len returns the number of blocks in the space.
func (r *ReadView) Len() int {
	if sv := r.sv(); sv != nil {
		return len(sv.blocks)
	}
	return 0
}

// IDs returns the ids of the space's blocks, sorted.
func (r *ReadView) IDs() []BlockID {
	sv := r.sv()
	if sv == nil {
		return nil
	}
	out := slices.Collect(maps.Keys(sv.blocks))
	slices.Sort(out)
	return out
}

// Children returns the children of block id, in order (nil if it has none
// or does not exist).
func (r *ReadView) Children(id BlockID) []BlockID {
	if sv := r.sv(); sv != nil {
		if b := sv.blocks[id]; b != nil {
			return slices.Clone(b.children)
		}
	}
	return nil
}

// Roots returns the blocks without a parent, sorted by id.
func (r *ReadView) Roots() []BlockID {
	var out []BlockID
	if sv := r.sv(); sv != nil {
		for id, b := range sv.blocks {
			if b.parent == "" {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Links returns the blocks that block id links to, sorted: targets of
// {"$ref": ...} values in its props and of reference attributes in its rich
// text. Targets need not exist.
func (r *ReadView) Links(id BlockID) []BlockID {
	if sv := r.sv(); sv != nil {
		if b := sv.blocks[id]; b != nil {
			return slices.Clone(b.links)
		}
	}
	return nil
}

// Backlinks returns the blocks of the space that link to id, sorted. id
// need not exist.
func (r *ReadView) Backlinks(id BlockID) []BlockID {
	sv := r.sv()
	if sv == nil {
		return nil
	}
	src := sv.backlinks[id]
	if len(src) == 0 {
		return nil
	}
	out := slices.Collect(maps.Keys(src))
	slices.Sort(out)
	return out
}

// Meta returns the workspace metadata (space:meta) as plain values.
func (r *ReadView) Meta() map[string]any { return maps.Clone(r.v.meta) }

// A Replica is a private copy of a workspace's state (document and
// materialized views) that its owner advances one record at a time with
// the Changes of a Subscription. Filtered change
// streams use it to evaluate predicates exactly at each change's LSN,
// before and after the change, whether the change comes from history or
// is live: the state never depends on how far the workspace has moved on.
//
// A Replica costs a copy of the workspace's document and views in memory
// (no index: its views' Index returns nil), and each Apply what the record
// changed. It is not safe for concurrent use.
type Replica struct {
	doc *crdt.Doc
	tr  *tracker
	v   *views
}

// OpenReplica returns a Replica holding the state right after record lsn
// (0: the empty workspace), rebuilt from the nearest snapshot at or before
// lsn plus the log. Errors as for ReadAt.
func (w *Workspace) OpenReplica(ctx context.Context, lsn oplog.LSN) (*Replica, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.acquire()
	defer w.release()
	var r *Replica
	err := retryClosed(ctx, func() error {
		l, last, _, err := w.openLog()
		if err != nil {
			return err
		}
		if lsn > last {
			return fmt.Errorf("engine: replica at %d, last is %d: %w", lsn, last, ErrFuture)
		}
		if err := reconstructible(l, lsn); err != nil {
			return fmt.Errorf("engine: replica at %d: %w", lsn, err)
		}
		doc, _, err := scratchAt(ctx, l, lsn, false)
		if err != nil {
			return err
		}
		tr := newTracker(doc)
		tr.checkRoots()
		v := buildViewsIndexed(tr, lsn, nil, false)
		tr.on = true
		r = &Replica{doc: doc, tr: tr, v: v}
		return nil
	})
	return r, err
}

// LSN returns the position of the replica's state: every record up to it
// is applied.
func (r *Replica) LSN() oplog.LSN { return r.v.lsn }

// View returns a view of the replica's default space. It reads the
// replica's state at the time of each call, so it is valid until the next
// Apply changes it.
func (r *Replica) View() *ReadView { return &ReadView{v: r.v, space: DefaultSpace} }

// Apply integrates ch, the change of the record right after the replica's
// state (ch.LSN must be LSN()+1), from ch.Update. If before is not nil it
// is called once the document holds the change but the views still show
// the state before it, with that view (valid only during the call) and the
// changes of blocks the record made, as Subscribe reports them. After
// Apply, View shows the state right after the record.
func (r *Replica) Apply(ch Change, before func(v *ReadView, blocks []BlockChange)) error {
	if ch.LSN != r.v.lsn+1 {
		return fmt.Errorf("engine: replica at %d cannot apply record %d", r.v.lsn, ch.LSN)
	}
	if err := r.doc.ApplyUpdate(ch.Update, ch.Origin); err != nil {
		return fmt.Errorf("%w: record %d: %w", ErrBadState, ch.LSN, err)
	}
	r.tr.checkRoots()
	t := r.tr.take()
	d := makeDelta(r.tr, r.v, &t, ch.LSN, nil)
	if before != nil {
		before(r.View(), r.tr.changes(&t))
	}
	r.v.apply(d)
	return nil
}
