package index

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// RowID is a block's dense row number within one index: 0, 1, 2, … in the
// order block ids were first seen. A row never changes its block and is
// never reused.
type RowID uint32

// MaxRows is the most rows an index holds (row ids 0 … MaxRows-1).
const MaxRows = math.MaxUint32

// noRow is the parent of a root block in rowState.
const noRow = RowID(math.MaxUint32)

// BlockChange is the new materialized state of one block, as the engine
// sees it after a transaction: either its current fields or its deletion.
// The index keeps what it needs to compute the difference to the block's
// previous state itself, so the engine never supplies the old state; it
// may say which fields it knows did not change (Same), which spares the
// index comparing them.
type BlockChange struct {
	ID      string // sys:id; must not be empty
	Deleted bool   // the block was deleted; the fields below are ignored
	Flavour string // sys:flavour, e.g. "affine:paragraph" ("" is a flavour too)
	Creator string // sys:creator ("" is a creator too)
	Parent  string // sys:parent; "" for a root block
	// Links are the ids this block references (prop values and Y.Text
	// reference attributes). Order and duplicates do not matter; empty
	// strings are ignored. A block may link to itself.
	Links   []string
	Created int64 // sys:created, ms since the Unix epoch
	Updated int64 // space:updated[id], ms since the Unix epoch
	// Same names fields the caller knows to be equal to those of the
	// block's previous change applied to this index, which was not a
	// deletion: a promise the index relies on instead of comparing them
	// (each comparison is a few cache misses on a large index). It is
	// ignored for a row that is not live. Zero promises nothing. Builds
	// with invariants (the invariants tag, or -race) check every promise.
	Same Fields
}

// Fields is a set of BlockChange fields, for BlockChange.Same.
type Fields uint8

// The fields of BlockChange.Same.
const (
	SameFlavour Fields = 1 << iota
	SameCreator
	SameParent
	SameLinks // the set of links; Links must still be given
	SameAll   = SameFlavour | SameCreator | SameParent | SameLinks
)

// Index is the writable index of one workspace. Apply, ApplyAt and
// ReadFrom are serialized by a mutex (call them from one goroutine or many;
// they run one at a time). Snapshot may be called at any time from any
// goroutine and never blocks on a writer. The zero Index is empty and ready
// to use; New returns the same.
type Index struct {
	once sync.Once
	cur  atomic.Pointer[Snapshot] // the latest published snapshot

	mu struct {
		sync.Mutex
		// rows is the writer's per-row state, from which Apply computes
		// deltas. It is derivable from the postings (ReadFrom does so) and
		// is never seen by readers.
		rows    rowStates
		owned   map[*roaring.Bitmap]struct{} // bitmaps private to the batch
		scratch []RowID
		pre     []known // what a batch resolved before it started
	}
}

// row status
const (
	unborn  uint8 = iota // seen only as a parent or link target
	live                 // current state known, not deleted
	deleted              // deleted (possibly never seen alive)
)

// rowState is what the writer remembers of a row. For a live row every
// field is set and the row is in exactly the postings these fields name;
// for other rows only status is meaningful. Links live in Snapshot.links.
type rowState struct {
	status  uint8
	links   bool   // the row has links (in Snapshot.links): most have none, and need no trie lookup
	flavour uint32 // term number in the flavour dictionary
	creator uint32 // term number in the creator dictionary
	parent  RowID  // noRow for a root
	cHour   uint32 // created hour bucket
	uHour   uint32 // updated hour bucket
}

// rowStates is the per-row state in chunks: no slack beyond the last chunk,
// and no copying as it grows.
type rowStates struct {
	chunks []*[rowChunk]rowState
	n      int
}

const rowChunk = 4096

func (rs *rowStates) append(st rowState) {
	if rs.n == len(rs.chunks)*rowChunk {
		rs.chunks = append(rs.chunks, new([rowChunk]rowState))
	}
	rs.chunks[rs.n/rowChunk][rs.n%rowChunk] = st
	rs.n++
}

// at returns row r's state, for reading and writing.
func (rs *rowStates) at(r RowID) *rowState {
	return &rs.chunks[r/rowChunk][r%rowChunk]
}

// New returns an empty index.
func New() *Index {
	ix := &Index{}
	ix.init()
	return ix
}

func (ix *Index) init() {
	ix.once.Do(func() {
		if ix.cur.Load() == nil {
			ix.cur.Store(emptySnapshot())
		}
	})
}

func emptySnapshot() *Snapshot {
	return &Snapshot{
		ids: newDict(), flavours: newDict(), creators: newDict(),
		live: roaring.New(), deleted: roaring.New(), roots: roaring.New(),
	}
}

// Snapshot returns the latest published state: an immutable view that
// later writes never change. It costs one atomic load, except the first
// call after a batch, which seals the batch's snapshot (below) under the
// writer's mutex and so waits for a batch in progress.
func (ix *Index) Snapshot() *Snapshot {
	s := ix.cur.Load()
	if s == nil {
		ix.init()
		s = ix.cur.Load()
	}
	if s.isSealed() {
		return s
	}
	ix.mu.Lock()
	s = ix.cur.Load()
	ix.sealLocked(s)
	ix.mu.Unlock()
	return s
}

// Position returns the position of the latest batch: Snapshot().Position()
// without taking (and so sealing) a snapshot.
func (ix *Index) Position() uint64 {
	ix.init()
	return ix.cur.Load().pos
}

// Open snapshots.
//
// Copy-on-write is what keeps a snapshot unchanged while readers hold it;
// a snapshot no reader has obtained needs none of it. So a batch publishes
// its snapshot open (sealed false), and the next batch continues an open
// snapshot in place: it keeps its generation, so the trie nodes the
// previous batches copied are written again without another copy, and the
// bitmaps they own stay owned (not frozen). The first Index.Snapshot after
// a batch seals the snapshot, under the writer's mutex: it freezes the
// owned bitmaps and marks it sealed, and the next batch takes a new
// generation and copies as before. Both the writer's decision and the seal
// happen under the mutex, and a reader never uses an open snapshot before
// sealing it, so no reader can see a snapshot that a batch is changing.
// An owner that applies many batches between reads (the engine queues
// changes and applies them 1024 at a time when nobody reads) pays each
// copy once per read instead of once per batch.

func (s *Snapshot) isSealed() bool { return s.sealed == nil || s.sealed.Load() }

// sealLocked seals s, the current snapshot, if it is open.
func (ix *Index) sealLocked(s *Snapshot) {
	if s.isSealed() {
		return
	}
	for bm := range ix.mu.owned {
		freeze(bm)
	}
	clear(ix.mu.owned)
	s.sealed.Store(true)
}

// Apply applies a batch of block changes in order (a later change of the
// same block wins) and publishes the result as one new snapshot, keeping
// the current log position. See ApplyAt.
func (ix *Index) Apply(changes []BlockChange) error {
	ix.init()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.applyLocked(ix.cur.Load().pos, changes)
}

// ApplyAt is Apply that also records pos, the engine's log position (LSN)
// the index reflects once the batch is applied. The index never interprets
// pos; it is persisted and returned by Snapshot.Position, so an index file
// can be matched with a log snapshot.
//
// The batch is validated first: with an empty id (ErrEmptyID) or too many
// new rows (ErrFull) nothing is applied. Otherwise every change is applied
// and readers see all of it or none of it.
//
// Cost: O(fields that changed) per change (O(links) for links), each
// touching a posting: a small posting (≤ 64 rows) is copied whole (≤ 256
// bytes), a bitmap shares its unchanged 2^16-row containers with the
// previous snapshot and copies the one it changes (≤ 8 KiB) once per
// batch, and each changed trie slot copies O(height) nodes once per batch.
// Batching amortizes those copies; see the package documentation.
func (ix *Index) ApplyAt(pos uint64, changes []BlockChange) error {
	ix.init()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.applyLocked(pos, changes)
}

func (ix *Index) applyLocked(pos uint64, changes []BlockChange) error {
	old := ix.cur.Load()
	mentions := uint64(old.idv.n)
	for i := range changes {
		c := &changes[i]
		if c.ID == "" {
			return fmt.Errorf("%w (change %d of %d)", ErrEmptyID, i, len(changes))
		}
		mentions += 2 + uint64(len(c.Links))
	}
	if mentions > MaxRows {
		// Conservative: counts every mention as a possible new row.
		return fmt.Errorf("%w: %d rows and a batch of %d changes", ErrFull, old.idv.n, len(changes))
	}
	if len(changes) == 0 && pos == old.pos {
		return nil
	}
	b := ix.beginLocked(old)
	// Resolve what can be resolved before the batch changes anything, in
	// a loop of independent lookups: the rows of the ids that have one,
	// and whether each keeps its parent. On a large index each lookup
	// misses the cache (hash slot, string header, string bytes, row
	// state); with no dependency between iterations the processor
	// overlaps those misses, which one change after another cannot.
	pre := ix.mu.pre[:0]
	for i := range changes {
		c := &changes[i]
		k := known{row: ^uint32(0), parent: noRow}
		promised := false // apply takes the row's parent as it is then (an earlier change of the batch may move the block)
		if r, ok := b.w.ids.lookupWriter(c.ID); ok {
			k.row = r
			if promised = c.Same&SameParent != 0; !promised {
				if st := ix.mu.rows.at(RowID(r)); c.Parent != "" && st.status == live && st.parent != noRow && b.w.ids.vec.get(uint32(st.parent)) == c.Parent {
					k.parent = st.parent
				}
			}
		}
		if k.parent == noRow && !promised && c.Parent != "" && !c.Deleted {
			// A new block or a move: the new parent's row, and its
			// children posting, which the change adds to.
			if p, ok := b.w.ids.lookupWriter(c.Parent); ok {
				k.parent = RowID(p)
				b.w.children.lookup(p)
			}
		}
		pre = append(pre, k)
	}
	ix.mu.pre = pre
	for i := range changes {
		b.apply(&changes[i], pre[i])
	}
	if len(b.w.uPend) >= pendMax {
		b.settleAll()
	}
	b.w.pos = pos
	ix.publishLocked(b)
	return nil
}

// batch is one write in progress: a private copy of the snapshot struct
// whose tries and bitmaps are copied on first write.
type batch struct {
	ix *Index
	w  Snapshot
}

func (ix *Index) beginLocked(old *Snapshot) *batch {
	b := &batch{ix: ix, w: *old}
	if old.isSealed() {
		b.w.gen = old.gen + 1
		clear(ix.mu.owned) // empty already, unless ReadFrom replaced an open snapshot
	} // else continue old in place: same generation, same owned bitmaps
	b.w.sealed = new(atomic.Bool)
	if ix.mu.owned == nil {
		ix.mu.owned = make(map[*roaring.Bitmap]struct{})
	}
	return b
}

// publishLocked publishes the batch's snapshot, open.
func (ix *Index) publishLocked(b *batch) {
	w := &b.w
	w.idv, w.flv, w.crv = w.ids.vec, w.flavours.vec, w.creators.vec
	ix.cur.Store(w)
}

// own returns a version of bm that this batch may modify: bm itself if the
// batch created it, else a copy-on-write copy (or a new bitmap for nil).
func (b *batch) own(bm *roaring.Bitmap) *roaring.Bitmap {
	owned := b.ix.mu.owned
	if bm != nil {
		if _, ok := owned[bm]; ok {
			return bm
		}
	}
	bm = cow(bm)
	owned[bm] = struct{}{}
	return bm
}

// addTo adds row r to the posting at key k of t.
func (b *batch) addTo(t *trie[rowSet], k uint32, r RowID) {
	s := t.get(k)
	if s.big != nil {
		bm := b.own(s.big)
		bm.Add(uint32(r))
		if bm != s.big {
			t.set(b.w.gen, k, rowSet{big: bm})
		}
		return
	}
	i, found := slices.BinarySearch(s.small, r)
	if found {
		return
	}
	if len(s.small) >= smallMax {
		bm := b.own(nil)
		for _, x := range s.small {
			bm.Add(uint32(x))
		}
		bm.Add(uint32(r))
		t.set(b.w.gen, k, rowSet{big: bm})
		return
	}
	n := make([]RowID, len(s.small)+1)
	copy(n, s.small[:i])
	n[i] = r
	copy(n[i+1:], s.small[i:])
	t.set(b.w.gen, k, rowSet{small: n})
}

// removeFrom removes row r from the posting at key k of t; an emptied
// posting is dropped.
func (b *batch) removeFrom(t *trie[rowSet], k uint32, r RowID) {
	s, ok := t.lookup(k)
	if !ok {
		return
	}
	if s.big != nil {
		if !s.big.Contains(uint32(r)) {
			return
		}
		switch c := s.big.GetCardinality(); {
		case c == 1:
			t.del(b.w.gen, k)
		case c-1 <= smallMax/2:
			n := make([]RowID, 0, c-1)
			s.big.Iterate(func(x uint32) bool {
				if x != uint32(r) {
					n = append(n, RowID(x))
				}
				return true
			})
			t.set(b.w.gen, k, rowSet{small: n})
		default:
			bm := b.own(s.big)
			bm.Remove(uint32(r))
			if bm != s.big {
				t.set(b.w.gen, k, rowSet{big: bm})
			}
		}
		return
	}
	i, found := slices.BinarySearch(s.small, r)
	if !found {
		return
	}
	if len(s.small) == 1 {
		t.del(b.w.gen, k)
		return
	}
	n := make([]RowID, len(s.small)-1)
	copy(n, s.small[:i])
	copy(n[i:], s.small[i+1:])
	t.set(b.w.gen, k, rowSet{small: n})
}

func (b *batch) addBit(p **roaring.Bitmap, r RowID) {
	*p = b.own(*p)
	(*p).Add(uint32(r))
}

func (b *batch) removeBit(p **roaring.Bitmap, r RowID) {
	*p = b.own(*p)
	(*p).Remove(uint32(r))
}

// row returns the row of id, allocating it (as unborn) on first sight.
func (b *batch) row(id string) RowID {
	if r, ok := b.w.ids.lookupWriter(id); ok {
		return RowID(r)
	}
	r := RowID(b.w.ids.add(id))
	b.ix.mu.rows.append(rowState{status: unborn, parent: noRow})
	return r
}

// resolveLinks maps link targets to rows (allocating), sorted and without
// duplicates, in a scratch slice valid until the next call.
func (b *batch) resolveLinks(ids []string) []RowID {
	s := b.ix.mu.scratch[:0]
	for _, id := range ids {
		if id != "" {
			s = append(s, b.row(id))
		}
	}
	slices.Sort(s)
	s = slices.Compact(s)
	b.ix.mu.scratch = s
	return s
}

// known is what a batch resolved of a change before it started: the row
// of its id (^0: none yet), and the row of the parent the change names
// (noRow: none yet, or no parent). Rows, once allocated, never change, so
// both stay valid while the batch runs.
type known struct {
	row    uint32
	parent RowID
}

// apply applies c, with k from before the batch started.
func (b *batch) apply(c *BlockChange, k known) {
	r := RowID(k.row)
	if k.row == ^uint32(0) {
		r = b.row(c.ID)
	}
	if c.Deleted {
		b.delete(r)
		if invariantsOn {
			b.mustCheckRow(r)
		}
		return
	}
	// A live row usually keeps its flavour and creator: comparing the
	// strings spares hashing them, and a promise (c.Same) spares both.
	st := b.ix.mu.rows.at(r)
	same := c.Same
	if st.status != live {
		same = 0
	}
	if invariantsOn && same != 0 {
		b.mustKeepPromise(c, r, same)
	}
	var f, cr uint32
	if same&SameFlavour != 0 || st.status == live && b.w.flavours.vec.get(st.flavour) == c.Flavour {
		f = st.flavour
	} else {
		f = b.w.flavours.intern(c.Flavour)
	}
	if same&SameCreator != 0 || st.status == live && b.w.creators.vec.get(st.creator) == c.Creator {
		cr = st.creator
	} else {
		cr = b.w.creators.intern(c.Creator)
	}
	p := noRow
	switch {
	case same&SameParent != 0:
		p = st.parent
	case c.Parent == "":
	case k.parent != noRow:
		p = k.parent
	default:
		p = b.row(c.Parent)
	}
	var links []RowID
	if same&SameLinks == 0 {
		links = b.resolveLinks(c.Links)
	}
	ch, uh := hourOf(c.Created), hourOf(c.Updated)

	if st.status != live {
		if st.status == deleted {
			b.removeBit(&b.w.deleted, r)
		}
		*st = rowState{status: live, flavour: f, creator: cr, parent: p, cHour: ch, uHour: uh}
		b.addBit(&b.w.live, r)
		b.addTo(&b.w.flavour, f, r)
		b.addTo(&b.w.creator, cr, r)
		b.addParent(p, r)
		b.addTo(&b.w.createdHour, ch, r)
		b.addTo(&b.w.createdDay, dayOfHour(ch), r)
		b.addTo(&b.w.updatedHour, uh, r)
		b.addTo(&b.w.updatedDay, dayOfHour(uh), r)
		b.setLinks(r, links)
		if invariantsOn {
			b.mustCheckRow(r)
		}
		return
	}
	if st.flavour != f {
		b.removeFrom(&b.w.flavour, st.flavour, r)
		b.addTo(&b.w.flavour, f, r)
		st.flavour = f
	}
	if st.creator != cr {
		b.removeFrom(&b.w.creator, st.creator, r)
		b.addTo(&b.w.creator, cr, r)
		st.creator = cr
	}
	if st.parent != p {
		b.removeParent(st.parent, r)
		b.addParent(p, r)
		st.parent = p
	}
	if st.cHour != ch {
		b.moveHour(&b.w.createdHour, &b.w.createdDay, st.cHour, ch, r)
		st.cHour = ch
	}
	if st.uHour != uh {
		b.moveUpdated(st, uh, r)
		st.uHour = uh
	}
	if same&SameLinks == 0 {
		b.setLinks(r, links)
	}
	if invariantsOn {
		b.mustCheckRow(r)
	}
}

func (b *batch) delete(r RowID) {
	st := b.ix.mu.rows.at(r)
	switch st.status {
	case deleted:
		return
	case live:
		b.removeBit(&b.w.live, r)
		b.removeFrom(&b.w.flavour, st.flavour, r)
		b.removeFrom(&b.w.creator, st.creator, r)
		b.removeParent(st.parent, r)
		b.removeFrom(&b.w.createdHour, st.cHour, r)
		b.removeFrom(&b.w.createdDay, dayOfHour(st.cHour), r)
		b.removeFrom(&b.w.updatedHour, st.uHour, r)
		b.removeFrom(&b.w.updatedDay, dayOfHour(st.uHour), r)
		b.settleRow(r)
		b.setLinks(r, nil)
	}
	*st = rowState{status: deleted, parent: noRow}
	b.addBit(&b.w.deleted, r)
}

func (b *batch) addParent(p, r RowID) {
	if p == noRow {
		b.addBit(&b.w.roots, r)
	} else {
		b.addTo(&b.w.children, uint32(p), r)
	}
}

func (b *batch) removeParent(p, r RowID) {
	if p == noRow {
		b.removeBit(&b.w.roots, r)
	} else {
		b.removeFrom(&b.w.children, uint32(p), r)
	}
}

func (b *batch) moveHour(hours, days *trie[rowSet], from, to uint32, r RowID) {
	b.removeFrom(hours, from, r)
	b.addTo(hours, to, r)
	if df, dt := dayOfHour(from), dayOfHour(to); df != dt {
		b.removeFrom(days, df, r)
		b.addTo(days, dt, r)
	}
}

// setLinks makes next (sorted, unique; may be a scratch slice) the links of
// row r, updating the backlinks of every target that was added or removed.
func (b *batch) setLinks(r RowID, next []RowID) {
	st := b.ix.mu.rows.at(r)
	if !st.links && len(next) == 0 {
		return
	}
	st.links = len(next) > 0
	prev := b.w.links.get(uint32(r))
	if slices.Equal(prev, next) {
		return
	}
	i, j := 0, 0
	for i < len(prev) || j < len(next) {
		switch {
		case j == len(next) || (i < len(prev) && prev[i] < next[j]):
			b.removeFrom(&b.w.backlinks, uint32(prev[i]), r)
			i++
		case i == len(prev) || next[j] < prev[i]:
			b.addTo(&b.w.backlinks, uint32(next[j]), r)
			j++
		default:
			i++
			j++
		}
	}
	if len(next) == 0 {
		b.w.links.del(b.w.gen, uint32(r))
	} else {
		b.w.links.set(b.w.gen, uint32(r), slices.Clone(next))
	}
}

// mustKeepPromise panics unless the fields in same, the promise of change
// c to live row r, equal the row's (invariants builds).
func (b *batch) mustKeepPromise(c *BlockChange, r RowID, same Fields) {
	st := b.ix.mu.rows.at(r)
	broken := func(field, was, now string) {
		panic(fmt.Sprintf("index: change of %q promises the same %s, but it was %q and is %q", c.ID, field, was, now))
	}
	if same&SameFlavour != 0 && b.w.flavours.vec.get(st.flavour) != c.Flavour {
		broken("flavour", b.w.flavours.vec.get(st.flavour), c.Flavour)
	}
	if same&SameCreator != 0 && b.w.creators.vec.get(st.creator) != c.Creator {
		broken("creator", b.w.creators.vec.get(st.creator), c.Creator)
	}
	if same&SameParent != 0 {
		was := ""
		if st.parent != noRow {
			was = b.w.ids.vec.get(uint32(st.parent))
		}
		if was != c.Parent {
			broken("parent", was, c.Parent)
		}
	}
	if same&SameLinks != 0 {
		var was, now []string
		for _, t := range b.w.links.get(uint32(r)) {
			was = append(was, b.w.ids.vec.get(uint32(t)))
		}
		for _, l := range c.Links {
			if l != "" {
				now = append(now, l)
			}
		}
		slices.Sort(was)
		slices.Sort(now)
		if now = slices.Compact(now); !slices.Equal(was, now) {
			broken("links", fmt.Sprint(was), fmt.Sprint(now))
		}
	}
}

// mustCheckRow verifies row r against the postings (invariants builds).
func (b *batch) mustCheckRow(r RowID) {
	if err := checkRow(&b.w, &b.ix.mu.rows, r); err != nil {
		panic(err)
	}
}
