package index

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// The model: a naive, map-based description of what every query should
// answer (raft quorum/quick_test.go, pebble metamorphic). Random change
// sequences go to the index and the model; every answer must agree.

type mblock struct {
	deleted          bool
	flavour, creator string
	parent           string
	links            []string // unique, non-empty
	created, updated int64
}

type model struct {
	blocks map[string]*mblock // applied blocks, live or deleted
	seen   map[string]bool    // every id seen: blocks, parents, link targets
}

func newModel() *model {
	return &model{blocks: map[string]*mblock{}, seen: map[string]bool{}}
}

func (m *model) clone() *model {
	c := newModel()
	maps.Copy(c.seen, m.seen)
	for id, b := range m.blocks {
		cb := *b
		c.blocks[id] = &cb
	}
	return c
}

func (m *model) apply(c BlockChange) {
	m.seen[c.ID] = true
	if c.Deleted {
		m.blocks[c.ID] = &mblock{deleted: true}
		return
	}
	b := &mblock{flavour: c.Flavour, creator: c.Creator, parent: c.Parent, created: c.Created, updated: c.Updated}
	if c.Parent != "" {
		m.seen[c.Parent] = true
	}
	for _, l := range c.Links {
		if l != "" {
			m.seen[l] = true
			if !slices.Contains(b.links, l) {
				b.links = append(b.links, l)
			}
		}
	}
	m.blocks[c.ID] = b
}

func (m *model) live(id string) bool {
	b, ok := m.blocks[id]
	return ok && !b.deleted
}

func (m *model) where(pred func(id string, b *mblock) bool) []string {
	var out []string
	for id, b := range m.blocks {
		if !b.deleted && pred(id, b) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (m *model) descendants(id string) []string {
	set := map[string]bool{}
	frontier := []string{id}
	for len(frontier) > 0 {
		var next []string
		for _, p := range frontier {
			for _, c := range m.where(func(_ string, b *mblock) bool { return b.parent == p }) {
				if c != id && !set[c] {
					set[c] = true
					next = append(next, c)
				}
			}
		}
		frontier = next
	}
	return slices.Sorted(maps.Keys(set))
}

// ids converts a bitmap of rows to sorted block ids.
func ids(t *testing.T, s *Snapshot, bm *roaring.Bitmap) []string {
	var out []string
	bm.Iterate(func(r uint32) bool {
		id, ok := s.ID(RowID(r))
		if !ok {
			t.Fatalf("bitmap holds row %d, beyond %d rows", r, s.Rows())
		}
		out = append(out, id)
		return true
	})
	slices.Sort(out)
	return out
}

// workload generates random change sequences over a small pool of ids, so
// that updates, deletions, resurrections, dangling references and parent
// cycles are all frequent.
type workload struct {
	rng      *rand.Rand
	pool     []string
	flavours []string
	creators []string
	times    []int64
	// For large postings: hubs receive most parents and links while set,
	// and hot concentrates times into a few hours.
	hubs  []string
	hot   bool
	probe []string // ids to query; nil means pool
}

const t0 = 1714521600000 // 2024-05-01T00:00:00Z

func newWorkload(seed uint64, poolSize int) *workload {
	w := &workload{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		flavours: []string{"affine:page", "affine:note", "affine:paragraph", "affine:list", ""},
		creators: []string{"alice", "bob", "carol", ""},
	}
	for i := range poolSize {
		w.pool = append(w.pool, fmt.Sprintf("b%d", i))
	}
	w.times = []int64{
		math.MinInt64, MinTime - 1, MinTime, MinTime + hourMs - 1, MinTime + hourMs, MinTime + dayMs,
		-1, 0, 1,
		t0, t0 - 1, t0 + 1, t0 + hourMs - 1, t0 + hourMs, t0 + 5*hourMs + 17, t0 + dayMs - 1, t0 + dayMs,
		t0 + 3*dayMs + 7*hourMs, t0 + 40*dayMs,
		MaxTime - hourMs, MaxTime - 1, MaxTime, MaxTime + 1, math.MaxInt64,
	}
	return w
}

func (w *workload) time() int64 {
	if w.hot && w.rng.IntN(2) == 0 {
		return t0 + int64(w.rng.IntN(2))*hourMs + w.rng.Int64N(hourMs)
	}
	if w.rng.IntN(3) == 0 {
		return t0 + w.rng.Int64N(4*dayMs)
	}
	return w.times[w.rng.IntN(len(w.times))]
}

func (w *workload) id() string { return w.pool[w.rng.IntN(len(w.pool))] }

func (w *workload) change() BlockChange {
	c := BlockChange{ID: w.id()}
	if w.rng.IntN(7) == 0 {
		c.Deleted = true
		if w.rng.IntN(2) == 0 { // fields of a deletion are ignored
			c.Flavour, c.Parent, c.Links = "junk", w.id(), []string{w.id()}
		}
		return c
	}
	c.Flavour = w.flavours[w.rng.IntN(len(w.flavours))]
	c.Creator = w.creators[w.rng.IntN(len(w.creators))]
	if w.rng.IntN(4) != 0 {
		c.Parent = w.id() // may be itself, or close a cycle
		if len(w.hubs) > 0 && w.rng.IntN(10) < 8 {
			c.Parent = w.hubs[w.rng.IntN(len(w.hubs))]
		}
	}
	for range w.rng.IntN(5) {
		switch w.rng.IntN(8) {
		case 0:
			c.Links = append(c.Links, "")
		case 1:
			c.Links = append(c.Links, c.ID)
		case 2, 3:
			if len(w.hubs) > 0 {
				c.Links = append(c.Links, w.hubs[w.rng.IntN(len(w.hubs))])
			} else {
				c.Links = append(c.Links, w.id())
			}
		default:
			c.Links = append(c.Links, w.id())
		}
	}
	c.Created, c.Updated = w.time(), w.time()
	return c
}

func (w *workload) batch() []BlockChange {
	out := make([]BlockChange, 1+w.rng.IntN(8))
	for i := range out {
		out[i] = w.change()
	}
	return out
}

// promise sets BlockChange.Same in the changes of b, in order, to a random
// subset of the fields each shares with the block's previous change in
// prev (which it then updates), as the engine does: the model test checks
// the index keeps its answers with them, and invariants builds check each
// promise is true.
func promise(rng *rand.Rand, prev map[string]BlockChange, b []BlockChange) {
	linkSet := func(l []string) []string {
		l = slices.DeleteFunc(slices.Clone(l), func(s string) bool { return s == "" })
		slices.Sort(l)
		return slices.Compact(l)
	}
	for i := range b {
		c := &b[i]
		p, ok := prev[c.ID]
		if c.Deleted {
			delete(prev, c.ID)
			continue
		}
		if ok && rng.IntN(2) == 0 {
			// Mostly, a block changes little: its time, or one field.
			keep := *c
			*c = p
			c.Updated, c.Same = keep.Updated, 0
			switch rng.IntN(6) {
			case 0:
				c.Flavour = keep.Flavour
			case 1:
				c.Creator = keep.Creator
			case 2:
				c.Parent = keep.Parent
			case 3:
				c.Links = keep.Links
			case 4:
				c.Links = slices.Concat(slices.Clone(p.Links), []string{"", c.ID}) // the same set
			}
		}
		prev[c.ID] = *c
		if !ok {
			continue
		}
		var same Fields
		if p.Flavour == c.Flavour {
			same |= SameFlavour
		}
		if p.Creator == c.Creator {
			same |= SameCreator
		}
		if p.Parent == c.Parent {
			same |= SameParent
		}
		if slices.Equal(linkSet(p.Links), linkSet(c.Links)) {
			same |= SameLinks
		}
		c.Same = same & Fields(rng.IntN(int(SameAll)+1))
	}
}

// checkModel compares every query answer of s with the model.
func checkModel(t *testing.T, s *Snapshot, m *model, w *workload, rowOf map[string]RowID) {
	t.Helper()
	eq := func(what string, got, want []string) {
		if !slices.Equal(got, want) {
			t.Fatalf("%s: index %q, model %q", what, got, want)
		}
	}
	// Rows: dense, stable, one per id seen.
	if s.Rows() != len(m.seen) {
		t.Fatalf("Rows() = %d, model has seen %d ids", s.Rows(), len(m.seen))
	}
	for r := range s.Rows() {
		id, ok := s.ID(RowID(r))
		if !ok || !m.seen[id] {
			t.Fatalf("row %d: id %q ok=%v, not seen by the model", r, id, ok)
		}
		if back, ok := s.Row(id); !ok || back != RowID(r) {
			t.Fatalf("Row(ID(%d)=%q) = %d, %v", r, id, back, ok)
		}
		if prev, ok := rowOf[id]; ok && prev != RowID(r) {
			t.Fatalf("id %q moved from row %d to %d", id, prev, r)
		}
		rowOf[id] = RowID(r)
	}
	if _, ok := s.ID(RowID(s.Rows())); ok {
		t.Fatal("ID(Rows()) exists")
	}
	if _, ok := s.Row("no-such-block"); ok {
		t.Fatal("Row of an unseen id exists")
	}
	all := func(string, *mblock) bool { return true }
	eq("Live", ids(t, s, s.Live()), m.where(all))
	var del []string
	for id, b := range m.blocks {
		if b.deleted {
			del = append(del, id)
		}
	}
	slices.Sort(del)
	eq("Deleted", ids(t, s, s.Deleted()), del)
	if s.LiveCount() != uint64(len(m.where(all))) {
		t.Fatalf("LiveCount %d", s.LiveCount())
	}

	var flavours, creators []string
	for _, b := range m.blocks {
		if !b.deleted {
			flavours = append(flavours, b.flavour)
			creators = append(creators, b.creator)
		}
	}
	slices.Sort(flavours)
	slices.Sort(creators)
	eq("Flavours", s.Flavours(), slices.Compact(flavours))
	eq("Creators", s.Creators(), slices.Compact(creators))
	for _, f := range append(slices.Clone(w.flavours), "nope") {
		eq("ByFlavour "+f, ids(t, s, s.ByFlavour(f)), m.where(func(_ string, b *mblock) bool { return b.flavour == f }))
	}
	for _, c := range append(slices.Clone(w.creators), "nope") {
		eq("ByCreator "+c, ids(t, s, s.ByCreator(c)), m.where(func(_ string, b *mblock) bool { return b.creator == c }))
	}
	probe := w.probe
	if probe == nil {
		probe = w.pool
	}
	for _, id := range append(slices.Clone(probe), "", "nope") {
		eq("ChildrenOf "+id, ids(t, s, s.ChildrenOf(id)), m.where(func(_ string, b *mblock) bool { return b.parent == id }))
		if id == "" {
			continue
		}
		eq("DescendantsOf "+id, ids(t, s, s.DescendantsOf(id)), m.descendants(id))
		eq("LinkingTo "+id, ids(t, s, s.LinkingTo(id)), m.where(func(_ string, b *mblock) bool { return slices.Contains(b.links, id) }))
		var from []string
		if m.live(id) {
			for _, l := range m.blocks[id].links {
				if m.live(l) {
					from = append(from, l)
				}
			}
		}
		slices.Sort(from)
		eq("LinkedFrom "+id, ids(t, s, s.LinkedFrom(id)), from)
		var links []RowID
		if m.live(id) {
			for _, l := range m.blocks[id].links {
				links = append(links, rowOf[l])
			}
		}
		slices.Sort(links)
		if got := s.Links(id); !slices.Equal(got, links) {
			t.Fatalf("Links %s: index %v, model %v", id, got, links)
		}
	}
	for range 6 {
		from, to := w.time(), w.time()
		if w.rng.IntN(4) == 0 {
			from, to = to, from // sometimes empty
		}
		checkRange(t, s, m, "created", from, to)
		checkRange(t, s, m, "updated", from, to)
	}
}

func checkRange(t *testing.T, s *Snapshot, m *model, field string, from, to int64) {
	t.Helper()
	get := func(b *mblock) int64 { return b.created }
	exact, cand := s.CreatedRange(from, to)
	if field == "updated" {
		get = func(b *mblock) int64 { return b.updated }
		exact, cand = s.UpdatedRange(from, to)
	}
	what := fmt.Sprintf("%sRange(%d, %d)", field, from, to)
	if exact.Intersects(cand) {
		t.Fatalf("%s: exact and candidates intersect", what)
	}
	match := m.where(func(_ string, b *mblock) bool { v := get(b); return from <= v && v <= to })
	union := ids(t, s, roaring.Or(exact, cand))
	for _, id := range ids(t, s, exact) {
		if !slices.Contains(match, id) {
			t.Fatalf("%s: exact holds %s (time %d), which does not match", what, id, get(m.blocks[id]))
		}
	}
	for _, id := range match {
		if !slices.Contains(union, id) {
			t.Fatalf("%s: %s (time %d) matches but is in neither exact nor candidates", what, id, get(m.blocks[id]))
		}
	}
	for _, id := range ids(t, s, cand) {
		r, _ := s.Row(id)
		if field == "updated" && s.uMoved != nil && s.uMoved.Contains(uint32(r)) {
			continue // a deferred move (pending.go): any hour may list it
		}
		if h := hourOf(get(m.blocks[id])); h != hourOf(from) && h != hourOf(to) {
			t.Fatalf("%s: candidate %s lies in hour %d, not a boundary hour", what, id, h)
		}
	}
}

func mustWrite(t testing.TB, s *Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := s.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d, %v (wrote %d)", n, err, buf.Len())
	}
	return buf.Bytes()
}

func mustRead(t testing.TB, b []byte) *Index {
	t.Helper()
	ix := New()
	n, err := ix.ReadFrom(bytes.NewReader(b))
	if err != nil || n != int64(len(b)) {
		t.Fatalf("ReadFrom: %d of %d bytes, %v", n, len(b), err)
	}
	return ix
}

func mustApply(t testing.TB, ix *Index, pos uint64, b []BlockChange) {
	t.Helper()
	if err := ix.ApplyAt(pos, b); err != nil {
		t.Fatal(err)
	}
}

// TestModel runs thousands of random change sequences against the index
// and the model. Along the way it also checks, metamorphically: Verify;
// a persisted and reloaded copy that keeps receiving the same batches
// stays equal; old snapshots stay as they were (isolation); and the same
// changes applied as one batch, or one change per batch, give an equal
// index.
func TestModel(t *testing.T) {
	seqs := 2000
	if testing.Short() || raceEnabled {
		seqs = 300
	}
	for seq := range seqs {
		seed := uint64(seq)*7919 + 1
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("seed %d (sequence %d)", seed, seq)
				}
			}()
			runModelSequence(t, seed)
		}()
		if t.Failed() {
			return
		}
	}
}

// TestModelDeferred is TestModel with every move between updated buckets
// deferred (pending.go), settled after every move, every few moves, or
// hardly ever: snapshots, files, comparisons and range queries must be
// those of the eager index.
func TestModelDeferred(t *testing.T) {
	defer func(a bool, m int) { deferAll, pendMax = a, m }(deferAll, pendMax)
	deferAll = true
	seqs := 400
	if testing.Short() || raceEnabled {
		seqs = 100
	}
	for _, pm := range []int{1, 7, 1 << 14} {
		pendMax = pm
		for seq := range seqs {
			seed := uint64(seq)*7919 + 3
			runModelSequence(t, seed)
			if t.Failed() {
				t.Fatalf("pendMax %d, seed %d", pm, seed)
			}
		}
	}
	// The sequences above did defer moves: one by hand.
	ix := New()
	c := BlockChange{ID: "a", Flavour: "p", Created: t0, Updated: t0}
	mustApply(t, ix, 1, []BlockChange{c, {ID: "b", Flavour: "p", Created: t0, Updated: t0}})
	c.Updated = t0 + 3*dayMs
	mustApply(t, ix, 2, []BlockChange{c})
	s := ix.Snapshot()
	if len(s.uPend) != 1 || s.uMoved.GetCardinality() != 1 {
		t.Fatalf("pending moves %v, rows %v", s.uPend, s.uMoved)
	}
	exact, cand := s.UpdatedRange(t0, t0+hourMs-1)
	if exact.GetCardinality() != 1 || !cand.Contains(0) {
		t.Fatalf("range of the old hour: exact %v, candidates %v", exact, cand)
	}
	eager := New()
	deferAll = false
	mustApply(t, eager, 2, []BlockChange{{ID: "a", Flavour: "p", Created: t0, Updated: t0 + 3*dayMs}, {ID: "b", Flavour: "p", Created: t0, Updated: t0}})
	if err := ix.Check(eager); err != nil {
		t.Fatal(err)
	}
}

func runModelSequence(t *testing.T, seed uint64) {
	w := newWorkload(seed, 2+int(seed%23))
	ix, m := New(), newModel()
	rowOf := map[string]RowID{}
	var reloaded *Index
	var all []BlockChange
	type frozen struct {
		s     *Snapshot
		m     *model
		bytes []byte
	}
	var old []frozen
	nb := 1 + w.rng.IntN(25)
	prev := map[string]BlockChange{} // the last change applied, of blocks not deleted
	for pos := 1; pos <= nb; pos++ {
		b := w.batch()
		promise(w.rng, prev, b)
		all = append(all, b...)
		mustApply(t, ix, uint64(pos), b)
		if reloaded != nil {
			mustApply(t, reloaded, uint64(pos), b)
		}
		for _, c := range b {
			m.apply(c)
		}
		// Half the batches are not read: the next one continues their open
		// snapshot in place (index.go, "Open snapshots").
		if pos < nb && w.rng.IntN(2) == 0 {
			continue
		}
		s := ix.Snapshot()
		if pos == nb || w.rng.IntN(3) == 0 {
			checkModel(t, s, m, w, rowOf)
		}
		if w.rng.IntN(4) == 0 {
			if err := s.Verify(); err != nil {
				t.Fatalf("after batch %d: %v", pos, err)
			}
		}
		switch w.rng.IntN(8) {
		case 0:
			data := mustWrite(t, s)
			reloaded = mustRead(t, data)
			if err := ix.Check(reloaded); err != nil {
				t.Fatalf("reloaded after batch %d: %v", pos, err)
			}
			if !bytes.Equal(mustWrite(t, reloaded.Snapshot()), data) {
				t.Fatal("rewriting a reloaded index changes its bytes")
			}
		case 1:
			old = append(old, frozen{s, m.clone(), mustWrite(t, s)})
		}
	}
	if reloaded != nil {
		if err := ix.Check(reloaded); err != nil {
			t.Fatalf("reloaded index diverged: %v", err)
		}
	}
	for _, f := range old {
		checkModel(t, f.s, f.m, w, map[string]RowID{})
		if !bytes.Equal(mustWrite(t, f.s), f.bytes) {
			t.Fatal("an old snapshot changed")
		}
	}
	one := New()
	mustApply(t, one, uint64(nb), all)
	if err := ix.Check(one); err != nil {
		t.Fatalf("one batch vs many: %v", err)
	}
	each := New()
	for _, c := range all {
		mustApply(t, each, uint64(nb), []BlockChange{c})
	}
	if err := ix.Check(each); err != nil {
		t.Fatalf("one change per batch vs many: %v", err)
	}
	if err := ix.Snapshot().Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestModelLarge drives postings across the small/bitmap threshold
// (smallMax) both ways: hubs collect hundreds of children and backlinks,
// times crowd into a few hours, then the hubs go quiet and deletions and
// moves shrink those postings again.
func TestModelLarge(t *testing.T) {
	seqs := 12
	if testing.Short() || raceEnabled {
		seqs = 3
	}
	for seq := range seqs {
		seed := uint64(seq)*104729 + 5
		w := newWorkload(seed, 400)
		w.hubs = w.pool[:2]
		w.hot = true
		w.probe = append(slices.Clone(w.hubs), w.pool[2:22]...)
		ix, m := New(), newModel()
		rowOf := map[string]RowID{}
		var all []BlockChange
		const quiet, last = 21, 40
		for pos := uint64(1); pos <= last; pos++ {
			if pos == quiet { // quiet hubs: their postings shrink
				w.hubs, w.hot = nil, false
			}
			var b []BlockChange
			for range 40 {
				b = append(b, w.change())
			}
			if pos >= quiet {
				for i := range b { // delete or move many blocks
					if w.rng.IntN(3) == 0 {
						b[i] = BlockChange{ID: w.pool[w.rng.IntN(len(w.pool))], Deleted: true}
					}
				}
			}
			all = append(all, b...)
			mustApply(t, ix, pos, b)
			for _, c := range b {
				m.apply(c)
			}
			if pos%3 == 0 || pos == last {
				checkModel(t, ix.Snapshot(), m, w, rowOf)
				if err := ix.Snapshot().Verify(); err != nil {
					t.Fatalf("seed %d batch %d: %v", seed, pos, err)
				}
				if err := ix.Check(mustRead(t, mustWrite(t, ix.Snapshot()))); err != nil {
					t.Fatalf("seed %d batch %d: reload: %v", seed, pos, err)
				}
			}
			if t.Failed() {
				t.Fatalf("seed %d", seed)
			}
			s := ix.Snapshot()
			switch pos {
			case quiet - 1: // the test must reach bitmaps
				for i, tr := range []*trie[rowSet]{&s.children, &s.backlinks, &s.createdHour, &s.flavour} {
					if bigPostings(tr) == 0 {
						t.Fatalf("seed %d: no posting of family %d became a bitmap", seed, i)
					}
				}
			case last: // and come back
				if bigPostings(&s.children)+bigPostings(&s.backlinks) != 0 {
					t.Fatalf("seed %d: hub postings are still bitmaps", seed)
				}
			}
		}
		one := New()
		mustApply(t, one, last, all)
		if err := ix.Check(one); err != nil {
			t.Fatalf("seed %d: one batch vs many: %v", seed, err)
		}
	}
}

func bigPostings(t *trie[rowSet]) int {
	n := 0
	t.each(func(_ uint32, rs rowSet) bool {
		if rs.big != nil {
			n++
		}
		return true
	})
	return n
}
