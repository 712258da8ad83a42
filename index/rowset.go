package index

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// rowSet is one posting: a set of rows, kept as a sorted slice while it has
// at most smallMax rows and as a roaring bitmap beyond. Most postings of a
// real workspace are tiny (the children of one block, the blocks linking to
// one block), and a roaring.Bitmap costs ~150 bytes before its first row;
// a small slice costs 4 bytes a row. A published rowSet is immutable: its
// slice is never written again and its bitmap is frozen (see freeze).
// The zero rowSet is empty.
type rowSet struct {
	small []RowID         // sorted, unique; used when big == nil
	big   *roaring.Bitmap // frozen once published
}

// smallMax is the most rows a posting keeps as a slice; a bitmap that
// shrinks to smallMax/2 rows goes back to a slice.
const smallMax = 64

func (s rowSet) empty() bool { return s.big == nil && len(s.small) == 0 }

func (s rowSet) card() uint64 {
	if s.big != nil {
		return s.big.GetCardinality()
	}
	return uint64(len(s.small))
}

func (s rowSet) contains(r RowID) bool {
	if s.big != nil {
		return s.big.Contains(uint32(r))
	}
	_, ok := slices.BinarySearch(s.small, r)
	return ok
}

// bitmap returns the rows as a bitmap: the posting's own (shared, frozen)
// bitmap, or a new one for a small set.
func (s rowSet) bitmap() *roaring.Bitmap {
	if s.big != nil {
		return s.big
	}
	bm := roaring.New()
	for _, r := range s.small {
		bm.Add(uint32(r))
	}
	return bm
}

// each calls fn for every row in ascending order until it returns false.
func (s rowSet) each(fn func(RowID) bool) {
	if s.big != nil {
		s.big.Iterate(func(x uint32) bool { return fn(RowID(x)) })
		return
	}
	for _, r := range s.small {
		if !fn(r) {
			return
		}
	}
}

// bytes estimates the memory of the set beyond its slot.
func (s rowSet) bytes() uint64 {
	if s.big != nil {
		return s.big.GetSizeInBytes() + bitmapOverhead
	}
	return uint64(cap(s.small)) * 4
}

// Bitmaps are shared between snapshots at the level of roaring containers
// (chunks of 2^16 rows): a published bitmap is frozen — every container
// marked copy-on-write, the bitmap itself not in copy-on-write mode, the
// state roaring.FromBuffer gives its read-only bitmaps. Then:
//
//   - cow(p) builds a writable bitmap that shares p's containers, reading p
//     only (an in-place Or into an empty bitmap appends p's containers by
//     reference because they are marked); writes to the copy clone just the
//     containers they touch (≤ 8 KiB each). So changing one row of a
//     1M-row posting costs O(containers) + one container copy, not a copy of
//     the whole bitmap.
//   - Readers may combine frozen bitmaps with any of roaring's allocating
//     operations and Clone them: those only read the marks (the marks are
//     already set, so nothing writes them), and results that share a
//     container carry the mark and copy before writing.
//
// The marks are set by freeze on the writer's private bitmaps, before they
// are published.

// cow returns a writable bitmap with p's rows (p may be nil).
func cow(p *roaring.Bitmap) *roaring.Bitmap {
	bm := roaring.New()
	if p != nil {
		bm.Or(p)
	}
	return bm
}

// freeze marks every container of bm copy-on-write. Only for a bitmap no
// other goroutine can see yet.
func freeze(bm *roaring.Bitmap) {
	bm.SetCopyOnWrite(true)
	_ = bm.Clone() // a copy-on-write clone marks the source's containers
	bm.SetCopyOnWrite(false)
}
