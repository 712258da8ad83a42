package index

import "github.com/RoaringBitmap/roaring/v2"

// Deferred moves between updated buckets.
//
// Nearly every edit stamps its block's updated time, so a block edited for
// the first time in an hour moves from its old updated-hour (and often
// -day) posting to the current one. Removing it from the old posting
// copies the 2^16-row container it sits in (copy-on-write, up to 8 KiB)
// once per batch per posting; edits of blocks last touched at different
// times hit different old postings, so batches cannot share those copies,
// and on a large workspace they were most of the index's upkeep.
//
// So a move out of a large (bitmap) updated posting is deferred: the row
// joins its new hour and day at once but stays in the old ones; the move
// is recorded in Snapshot.uPend and the row in Snapshot.uMoved. Such a
// row is listed in its current buckets and possibly in buckets it left.
// UpdatedRange therefore never reports a row of uMoved as exact, only as
// a candidate (the residual filter on the block's time settles it). When
// pendMax moves are pending, a batch settles them all: every old posting
// is copied once for all the rows that left it. Snapshots are settled on
// the fly (settled) for WriteTo, Compare and Verify, so files, equality
// and the invariants are those of an index that moves rows eagerly.
//
// Once a row is in uMoved all its updated moves are deferred, so the last
// pending move of a row names its current hour. Deleting a row of uMoved
// settles that row at once.

// pendMax is how many deferred moves a batch settles at (a variable for
// tests). 16k moves hold ~200 KB and reach ≲ 16k old postings.
var pendMax = 1 << 14

// deferAll makes every updated move deferred, not only those out of a
// bitmap posting (tests: small workspaces have no bitmaps).
var deferAll = false

// pendMove is one deferred move of row out of updated hour from, into to.
type pendMove struct {
	row      RowID
	from, to uint32
}

// moveUpdated moves live row r (state st) to updated hour uh.
func (b *batch) moveUpdated(st *rowState, uh uint32, r RowID) {
	from := st.uHour
	moved := b.w.uMoved != nil && b.w.uMoved.Contains(uint32(r))
	if !moved && !deferAll {
		if s, _ := b.w.updatedHour.lookup(from); s.big == nil {
			b.moveHour(&b.w.updatedHour, &b.w.updatedDay, from, uh, r)
			return
		}
	}
	b.addTo(&b.w.updatedHour, uh, r)
	b.addTo(&b.w.updatedDay, dayOfHour(uh), r)
	b.w.uPend = append(b.w.uPend, pendMove{row: r, from: from, to: uh})
	if !moved {
		b.addBit(&b.w.uMoved, r)
	}
}

// settleRow removes row r, being deleted, from the updated buckets it
// left; the caller removes it from its current ones.
func (b *batch) settleRow(r RowID) {
	if b.w.uMoved == nil || !b.w.uMoved.Contains(uint32(r)) {
		return
	}
	for _, m := range b.w.uPend {
		if m.row == r {
			b.removeFrom(&b.w.updatedHour, m.from, r)
			b.removeFrom(&b.w.updatedDay, dayOfHour(m.from), r)
		}
	}
	b.removeBit(&b.w.uMoved, r)
}

// settleAll carries out every deferred move.
func (b *batch) settleAll() {
	if len(b.w.uPend) == 0 {
		b.w.uPend, b.w.uMoved = nil, nil
		return
	}
	cur := make(map[RowID]uint32, len(b.w.uPend))
	for _, m := range b.w.uPend {
		if b.w.uMoved.Contains(uint32(m.row)) {
			cur[m.row] = m.to
		}
	}
	for _, m := range b.w.uPend {
		to, ok := cur[m.row]
		if !ok {
			continue // deleted since: settled then
		}
		if m.from != to {
			b.removeFrom(&b.w.updatedHour, m.from, m.row)
		}
		if d := dayOfHour(m.from); d != dayOfHour(to) {
			b.removeFrom(&b.w.updatedDay, d, m.row)
		}
	}
	b.w.uPend, b.w.uMoved = nil, nil
}

// settled returns s with its deferred moves carried out (s itself if it
// has none), built privately: s is not changed.
func (s *Snapshot) settled() *Snapshot {
	if len(s.uPend) == 0 {
		return s
	}
	ix := &Index{}
	ix.mu.owned = make(map[*roaring.Bitmap]struct{})
	b := &batch{ix: ix, w: *s}
	b.w.gen = s.gen | 1<<63 // nodes of s are never this generation
	b.settleAll()
	for bm := range ix.mu.owned {
		freeze(bm)
	}
	b.w.gen = s.gen
	return &b.w
}

// updatedRange is UpdatedRange: rows with deferred moves are candidates.
func (s *Snapshot) updatedRange(from, to int64) (exact, candidates *roaring.Bitmap) {
	exact, candidates = timeRange(&s.updatedHour, &s.updatedDay, from, to)
	if s.uMoved == nil || s.uMoved.IsEmpty() {
		return exact, candidates
	}
	stale := roaring.And(exact, s.uMoved)
	if !stale.IsEmpty() {
		exact.AndNot(stale)
		candidates.Or(stale)
	}
	return exact, candidates
}
