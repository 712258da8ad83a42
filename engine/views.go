package engine

import (
	"maps"
	"slices"
	"sync"

	"octobase/engine/crdt"
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
}

type spaceView struct {
	blocks    map[BlockID]*block
	backlinks map[BlockID]map[BlockID]struct{} // target → sources
}

func newViews() *views {
	return &views{spaces: map[string]*spaceView{}, updated: map[BlockID]int64{}, meta: map[string]any{}}
}

func (v *views) space(id string) *spaceView {
	sv := v.spaces[id]
	if sv == nil {
		sv = &spaceView{blocks: map[BlockID]*block{}, backlinks: map[BlockID]map[BlockID]struct{}{}}
		v.spaces[id] = sv
	}
	return sv
}

// buildViews materializes the views of tr's document from scratch, reading
// every tracked space: what recovery does after loading a snapshot, what
// ReadAt does, and what tests compare the incremental views against.
func buildViews(tr *tracker, lsn oplog.LSN) *views {
	v := newViews()
	v.lsn = lsn
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

// apply applies d; the caller holds mu (or owns v alone).
func (v *views) apply(d *delta) {
	for _, op := range d.blocks {
		sv := v.space(op.space)
		if old := sv.blocks[op.id]; old != nil {
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
		if op.del {
			delete(v.updated, op.id)
		} else {
			v.updated[op.id] = op.ms
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
