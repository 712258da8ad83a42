package index

import (
	"slices"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// Snapshot is an immutable view of an index at one point: what the planner
// reads. It never changes after Index.Snapshot returned it, whatever the
// writer does next, and every method is safe for concurrent use.
//
// Every bitmap a Snapshot returns is read-only: callers must not modify it,
// nor change its copy-on-write setting. Combine them with functions that
// allocate their result (roaring.And, Or, AndNot, Xor, FastAnd, FastOr,
// ParOr, the AndCardinality method, …), whose results are the caller's to
// modify, or Clone one first. Large postings are returned as the snapshot's
// own bitmaps, shared with other readers; modifying one would corrupt the
// index.
//
// Every posting except Deleted contains live rows only: a deleted block's
// row is in Deleted and nowhere else, and a row seen only as a parent or
// link target (never applied) is in no posting at all.
type Snapshot struct {
	gen uint64 // batch generation that published it
	pos uint64 // engine log position (opaque)

	// sealed is false while the snapshot is open: published by a batch,
	// not yet handed out by Index.Snapshot. The next batch then continues
	// it in place (index.go, "Open snapshots"). Nil means sealed.
	sealed *atomic.Bool

	// Dictionaries are shared with the writer and later snapshots; the
	// views (idv, flv, crv) bound what this snapshot sees.
	ids, flavours, creators *dict
	idv, flv, crv           strVec

	live, deleted *roaring.Bitmap
	roots         *roaring.Bitmap // live rows without a parent

	flavour   trie[rowSet]  // flavour term → rows
	creator   trie[rowSet]  // creator term → rows
	children  trie[rowSet]  // parent row → rows
	backlinks trie[rowSet]  // target row → rows linking to it
	links     trie[[]RowID] // row → targets, sorted, unique, non-empty

	createdHour, createdDay trie[rowSet] // bucket → rows
	updatedHour, updatedDay trie[rowSet]

	// Deferred moves out of updated buckets (pending.go): uPend[:len] are
	// this snapshot's (the array is shared with later snapshots, which
	// only append beyond it), uMoved their rows (nil: none).
	uPend  []pendMove
	uMoved *roaring.Bitmap
}

// Position returns the log position recorded by the ApplyAt that produced
// this snapshot (or by ReadFrom); 0 if none was recorded.
func (s *Snapshot) Position() uint64 { return s.pos }

// Rows returns the number of rows: every block id seen so far, as a block,
// a parent or a link target, live or not. Rows are 0 … Rows()-1.
func (s *Snapshot) Rows() int { return int(s.idv.n) }

// Row returns the row of a block id.
func (s *Snapshot) Row(id string) (RowID, bool) {
	r, ok := s.ids.lookup(id, &s.idv)
	return RowID(r), ok
}

// ID returns the block id of a row.
func (s *Snapshot) ID(r RowID) (string, bool) {
	if uint32(r) >= s.idv.n {
		return "", false
	}
	return s.idv.get(uint32(r)), true
}

// Live returns the rows of live (not deleted) blocks: the universe of every
// query.
func (s *Snapshot) Live() *roaring.Bitmap { return s.live }

// Deleted returns the rows of deleted blocks.
func (s *Snapshot) Deleted() *roaring.Bitmap { return s.deleted }

// LiveCount returns the number of live blocks.
func (s *Snapshot) LiveCount() uint64 { return s.live.GetCardinality() }

// ByFlavour returns the live rows of flavour f (OQL `type = f`).
func (s *Snapshot) ByFlavour(f string) *roaring.Bitmap {
	t, ok := s.flavours.lookup(f, &s.flv)
	if !ok {
		return roaring.New()
	}
	return s.flavour.get(t).bitmap()
}

// ByCreator returns the live rows created by user c.
func (s *Snapshot) ByCreator(c string) *roaring.Bitmap {
	t, ok := s.creators.lookup(c, &s.crv)
	if !ok {
		return roaring.New()
	}
	return s.creator.get(t).bitmap()
}

// Flavours returns, sorted, the flavours that at least one live block has
// (for GROUP BY type).
func (s *Snapshot) Flavours() []string { return terms(&s.flavour, s.flv) }

// Creators returns, sorted, the creators of at least one live block.
func (s *Snapshot) Creators() []string { return terms(&s.creator, s.crv) }

func terms(t *trie[rowSet], v strVec) []string {
	var out []string
	t.each(func(k uint32, _ rowSet) bool {
		out = append(out, v.get(k))
		return true
	})
	slices.Sort(out)
	return out
}

// ChildrenOf returns the live rows whose parent is id (OQL `CHILD OF id`,
// `parent = id`). ChildrenOf("") returns the live root blocks (`parent =
// NULL`); `HAS parent` is Live AND NOT ChildrenOf("").
func (s *Snapshot) ChildrenOf(id string) *roaring.Bitmap {
	if id == "" {
		return s.roots
	}
	r, ok := s.Row(id)
	if !ok {
		return roaring.New()
	}
	return s.children.get(uint32(r)).bitmap()
}

// DescendantsOf returns the live rows that have id as parent, grandparent,
// … (OQL `DESCENDANT OF id`) as a new bitmap, by breadth-first expansion
// over the children postings, level by level. The chain runs through live
// blocks only: a deleted block has no parent, so its subtree is no longer
// reachable from above it (it still is from the deleted block itself,
// whose children keep naming it).
//
// Hostile data may contain parent cycles (a → b → a, or a block that is its
// own parent). Expansion adds each row at most once and never adds id's own
// row, so it terminates after at most Rows() rows, and the result never
// contains id itself even when id lies on a cycle.
// Cost: one posting lookup and one bitmap insertion per result row.
func (s *Snapshot) DescendantsOf(id string) *roaring.Bitmap {
	out := roaring.New()
	start, ok := s.Row(id)
	if !ok {
		return out
	}
	frontier := []RowID{start}
	var next []RowID
	for len(frontier) > 0 {
		next = next[:0]
		for _, p := range frontier {
			s.children.get(uint32(p)).each(func(r RowID) bool {
				if r != start && out.CheckedAdd(uint32(r)) {
					next = append(next, r)
				}
				return true
			})
		}
		frontier, next = next, frontier
	}
	return out
}

// LinkingTo returns the live rows that link to id (its backlinks; OQL
// `LINKS TO id`). id need not be a live block.
func (s *Snapshot) LinkingTo(id string) *roaring.Bitmap {
	r, ok := s.Row(id)
	if !ok {
		return roaring.New()
	}
	return s.backlinks.get(uint32(r)).bitmap()
}

// LinkedFrom returns the rows of the live blocks that block id links to
// (OQL `LINKED FROM id`); empty if id is not live. The result is a new
// bitmap.
func (s *Snapshot) LinkedFrom(id string) *roaring.Bitmap {
	out := roaring.New()
	r, ok := s.Row(id)
	if !ok {
		return out
	}
	for _, t := range s.links.get(uint32(r)) {
		if s.live.Contains(uint32(t)) {
			out.Add(uint32(t))
		}
	}
	return out
}

// Links returns the rows block id links to, live or not, sorted (nil if id
// is not live or links nowhere). The slice is shared: do not modify it.
func (s *Snapshot) Links(id string) []RowID {
	r, ok := s.Row(id)
	if !ok {
		return nil
	}
	return s.links.get(uint32(r))
}

// CreatedRange answers `from ≤ created ≤ to` (ms since the Unix epoch,
// both inclusive) from the time buckets, as in docs/oql.md, section
// Evaluation. exact holds live rows that surely match: the UTC days and
// hours lying wholly inside the range. candidates holds the live rows of
// the (at most two) hours that contain from or to without lying inside the
// range: they may match and need a residual filter on the block's time.
// exact and candidates are disjoint, and every matching row is in one of
// them. Both are new bitmaps. An empty range (from > to) gives two empty
// bitmaps. Times before MinTime or after MaxTime share the first or last
// bucket, which is never exact.
func (s *Snapshot) CreatedRange(from, to int64) (exact, candidates *roaring.Bitmap) {
	return timeRange(&s.createdHour, &s.createdDay, from, to)
}

// UpdatedRange is CreatedRange for the updated time (space:updated).
//
// A block whose updated time moved recently may be a candidate although
// its hour is not a boundary hour (index/pending.go); exact never holds a
// row that does not match.
func (s *Snapshot) UpdatedRange(from, to int64) (exact, candidates *roaring.Bitmap) {
	return s.updatedRange(from, to)
}

func timeRange(hours, days *trie[rowSet], from, to int64) (exact, candidates *roaring.Bitmap) {
	exact, candidates = roaring.New(), roaring.New()
	p := planRange(from, to)
	if p.none {
		return exact, candidates
	}
	var big []*roaring.Bitmap
	collect := func(dst *roaring.Bitmap) func(uint32, rowSet) bool {
		return func(_ uint32, s rowSet) bool {
			if s.big != nil {
				big = append(big, s.big)
			} else {
				for _, r := range s.small {
					dst.Add(uint32(r))
				}
			}
			return true
		}
	}
	for _, h := range p.cand {
		if s, ok := hours.lookup(h); ok {
			collect(candidates)(h, s)
		}
	}
	if len(big) > 0 {
		candidates = roaring.FastOr(append(big, candidates)...)
		big = big[:0]
	}
	for _, hr := range p.exactHours {
		hours.ascend(hr[0], hr[1], collect(exact))
	}
	if p.hasDays {
		days.ascend(p.dayLo, p.dayHi, collect(exact))
	}
	if len(big) > 0 {
		exact = roaring.FastOr(append(big, exact)...)
	}
	return exact, candidates
}
