package index

import (
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// Verify checks every invariant of the package documentation on s: row
// ids dense and unique; live and deleted disjoint; every posting non-empty,
// holding live rows only, and naming rows < Rows(); each live row in
// exactly one flavour, creator, parent (roots or children), created hour
// and updated hour posting; links sorted, unique and only for live rows;
// backlinks exactly the reverse of links; day buckets exactly the union of
// their hours. It costs O(size of the index) and is meant for tests, the
// check command and invariants builds. A failure wraps ErrInconsistent.
func (s *Snapshot) Verify() error {
	s = s.settled()
	if err := s.verifyIDs(); err != nil {
		return err
	}
	if _, err := deriveRows(s); err != nil {
		return err
	}
	return verifyDerived(s)
}

func (s *Snapshot) verifyIDs() error {
	for _, d := range []struct {
		name string
		d    *dict
		v    strVec
	}{{"ids", s.ids, s.idv}, {"flavours", s.flavours, s.flv}, {"creators", s.creators, s.crv}} {
		for i := uint32(0); i < d.v.n; i++ {
			str := d.v.get(i)
			if d.name == "ids" && str == "" {
				return inconsistent("row %d has an empty id", i)
			}
			if j, ok := d.d.lookup(str, &d.v); !ok || j != i {
				return inconsistent("%s: entry %d (%q) is not found under its own number", d.name, i, str)
			}
		}
	}
	return nil
}

// Field bits of deriveRows: which postings a live row was found in.
const (
	hasFlavour = 1 << iota
	hasCreator
	hasParent
	hasCreated
	hasUpdated
	hasAll = hasFlavour | hasCreator | hasParent | hasCreated | hasUpdated
)

// deriveRows reconstructs the writer's per-row state from the primary
// postings (live, deleted, flavour, creator, roots, children, hours, links)
// and checks they describe one consistent state. ReadFrom uses it to load
// a file; Verify to check a snapshot.
func deriveRows(s *Snapshot) (*rowStates, error) {
	n := s.idv.n
	if !s.live.IsEmpty() && s.live.Maximum() >= n {
		return nil, inconsistent("live holds row %d, beyond the %d rows", s.live.Maximum(), n)
	}
	if !s.deleted.IsEmpty() && s.deleted.Maximum() >= n {
		return nil, inconsistent("deleted holds row %d, beyond the %d rows", s.deleted.Maximum(), n)
	}
	if c := s.live.AndCardinality(s.deleted); c != 0 {
		return nil, inconsistent("%d rows are both live and deleted", c)
	}
	rows := &rowStates{}
	for range n {
		rows.append(rowState{status: unborn, parent: noRow})
	}
	seen := make([]uint8, n)
	s.live.Iterate(func(r uint32) bool { rows.at(RowID(r)).status = live; return true })
	s.deleted.Iterate(func(r uint32) bool { rows.at(RowID(r)).status = deleted; return true })

	var err error
	assign := func(what string, key uint32, rs rowSet, bit uint8, set func(*rowState)) bool {
		if rs.big == nil || rs.big != s.roots { // roots is a plain bitmap
			err = checkRowSet(rs, n)
		}
		if err != nil {
			err = inconsistent("%s %d: %v", what, key, err)
			return false
		}
		rs.each(func(r RowID) bool {
			switch {
			case rows.at(r).status != live:
				err = inconsistent("%s %d holds row %d, which is not live", what, key, r)
			case seen[r]&bit != 0:
				err = inconsistent("%s %d holds row %d, which is already in another %s posting", what, key, r, what)
			default:
				seen[r] |= bit
				set(rows.at(r))
				return true
			}
			return false
		})
		return err == nil
	}
	postings := func(what string, t *trie[rowSet], limit uint32, bit uint8, set func(*rowState, uint32)) {
		t.each(func(k uint32, rs rowSet) bool {
			if k >= limit {
				err = inconsistent("%s posting under key %d, beyond %d", what, k, limit)
				return false
			}
			return assign(what, k, rs, bit, func(st *rowState) { set(st, k) })
		})
	}
	postings("flavour", &s.flavour, s.flv.n, hasFlavour, func(st *rowState, k uint32) { st.flavour = k })
	if err == nil {
		postings("creator", &s.creator, s.crv.n, hasCreator, func(st *rowState, k uint32) { st.creator = k })
	}
	if err == nil && !s.roots.IsEmpty() {
		if s.roots.Maximum() >= n {
			return nil, inconsistent("roots holds row %d, beyond the %d rows", s.roots.Maximum(), n)
		}
		assign("roots", 0, rowSet{big: s.roots}, hasParent, func(st *rowState) { st.parent = noRow })
	}
	if err == nil {
		postings("children", &s.children, n, hasParent, func(st *rowState, k uint32) { st.parent = RowID(k) })
	}
	if err == nil {
		postings("created hour", &s.createdHour, lastHour+1, hasCreated, func(st *rowState, k uint32) { st.cHour = k })
	}
	if err == nil {
		postings("updated hour", &s.updatedHour, lastHour+1, hasUpdated, func(st *rowState, k uint32) { st.uHour = k })
	}
	if err != nil {
		return nil, err
	}
	for r := range rows.n {
		if rows.at(RowID(r)).status == live && seen[r] != hasAll {
			return nil, inconsistent("live row %d is missing from some postings (found in %05b of %05b)", r, seen[r], hasAll)
		}
	}
	s.links.each(func(k uint32, v []RowID) bool {
		if len(v) == 0 {
			err = inconsistent("row %d has an empty link list", k)
			return false
		}
		if k >= n || rows.at(RowID(k)).status != live {
			err = inconsistent("row %d has links but is not a live row", k)
			return false
		}
		for i, t := range v {
			if uint32(t) >= n {
				err = inconsistent("row %d links to row %d, beyond the %d rows", k, t, n)
				return false
			}
			if i > 0 && v[i-1] >= t {
				err = inconsistent("links of row %d are not sorted and unique", k)
				return false
			}
		}
		rows.at(RowID(k)).links = true
		return true
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// checkRowSet checks a posting's representation: non-empty, rows < n, a
// sorted unique slice of at most smallMax rows or a bitmap of more than
// smallMax/2.
func checkRowSet(rs rowSet, n uint32) error {
	if rs.big != nil {
		if c := rs.big.GetCardinality(); c <= smallMax/2 {
			return fmt.Errorf("a bitmap of only %d rows", c)
		}
		if m := rs.big.Maximum(); m >= n {
			return fmt.Errorf("holds row %d, beyond the %d rows", m, n)
		}
		return nil
	}
	if len(rs.small) == 0 || len(rs.small) > smallMax {
		return fmt.Errorf("a row list of %d rows", len(rs.small))
	}
	for i, r := range rs.small {
		if uint32(r) >= n {
			return fmt.Errorf("holds row %d, beyond the %d rows", r, n)
		}
		if i > 0 && rs.small[i-1] >= r {
			return fmt.Errorf("row list not sorted and unique")
		}
	}
	return nil
}

// builder groups (key, row) pairs into a trie of postings (for ReadFrom
// and Verify): one sort, then one rowSet per key.
type builder []uint64

func (b *builder) add(k uint32, r RowID) { *b = append(*b, uint64(k)<<32|uint64(r)) }

func (b builder) trie(gen uint64) trie[rowSet] {
	slices.Sort(b)
	b = slices.Compact(b)
	var t trie[rowSet]
	for i := 0; i < len(b); {
		k := uint32(b[i] >> 32)
		j := i + 1
		for j < len(b) && uint32(b[j]>>32) == k {
			j++
		}
		var rs rowSet
		if j-i <= smallMax {
			rs.small = make([]RowID, j-i)
			for x := i; x < j; x++ {
				rs.small[x-i] = RowID(b[x])
			}
		} else {
			rows := make([]uint32, j-i)
			for x := i; x < j; x++ {
				rows[x-i] = uint32(b[x])
			}
			rs.big = roaring.New()
			rs.big.AddMany(rows)
			freeze(rs.big)
		}
		t.set(gen, k, rs)
		i = j
	}
	return t
}

// makeRowSet returns a rowSet holding bm's rows (bm non-empty), taking
// ownership of bm and freezing it if it stays a bitmap.
func makeRowSet(bm *roaring.Bitmap) rowSet {
	if c := bm.GetCardinality(); c <= smallMax {
		small := make([]RowID, 0, c)
		bm.Iterate(func(x uint32) bool { small = append(small, RowID(x)); return true })
		return rowSet{small: small}
	}
	freeze(bm)
	return rowSet{big: bm}
}

// deriveBacklinks returns the reverse of the links trie.
func deriveBacklinks(links *trie[[]RowID], gen uint64) trie[rowSet] {
	var b builder
	links.each(func(src uint32, v []RowID) bool {
		for _, t := range v {
			b.add(uint32(t), RowID(src))
		}
		return true
	})
	return b.trie(gen)
}

// deriveDays returns the day buckets of an hour-bucket trie: per day, the
// union of its (at most 24) hours.
func deriveDays(hours *trie[rowSet], gen uint64) trie[rowSet] {
	var out trie[rowSet]
	var day []rowSet
	flush := func(d uint32) {
		if len(day) == 0 {
			return
		}
		var total uint64
		for _, rs := range day {
			total += rs.card()
		}
		var u rowSet
		if total <= smallMax {
			for _, rs := range day {
				u.small = append(u.small, rs.small...)
			}
			slices.Sort(u.small)
		} else {
			bms := make([]*roaring.Bitmap, len(day))
			for i, rs := range day {
				bms[i] = rs.bitmap()
			}
			u.big = roaring.FastOr(bms...)
			freeze(u.big)
		}
		out.set(gen, d, u)
		day = day[:0]
	}
	cur := uint32(0)
	hours.each(func(h uint32, rs rowSet) bool {
		if d := dayOfHour(h); d != cur {
			flush(cur)
			cur = d
		}
		day = append(day, rs)
		return true
	})
	flush(cur)
	return out
}

// verifyDerived checks that backlinks and day buckets equal what links and
// hour buckets imply.
func verifyDerived(s *Snapshot) error {
	n := s.idv.n
	for _, t := range []struct {
		name string
		t    *trie[rowSet]
	}{{"backlinks", &s.backlinks}, {"created day", &s.createdDay}, {"updated day", &s.updatedDay}} {
		var err error
		t.t.each(func(k uint32, rs rowSet) bool {
			if e := checkRowSet(rs, n); e != nil {
				err = inconsistent("%s %d: %v", t.name, k, e)
			}
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	want := deriveBacklinks(&s.links, 1)
	if d := diffTries("backlinks", &want, &s.backlinks); d != nil {
		return inconsistent("backlinks are not the reverse of links: %s", d.Detail)
	}
	for _, p := range []struct {
		name        string
		hours, days *trie[rowSet]
	}{{"created", &s.createdHour, &s.createdDay}, {"updated", &s.updatedHour, &s.updatedDay}} {
		want := deriveDays(p.hours, 1)
		if d := diffTries(p.name+" day", &want, p.days); d != nil {
			return inconsistent("%s day buckets are not the union of their hours: %s", p.name, d.Detail)
		}
	}
	return nil
}

// checkRow verifies row r's state against the postings it must be in (used
// after each change in invariants builds): O(links of r).
func checkRow(s *Snapshot, rows *rowStates, r RowID) error {
	if rows.n != int(s.ids.vec.n) {
		return inconsistent("%d row states for %d rows", rows.n, s.ids.vec.n)
	}
	st := *rows.at(r)
	x := uint32(r)
	isLive, isDel := s.live.Contains(x), s.deleted.Contains(x)
	in := func(t *trie[rowSet], k uint32) bool {
		return t.get(k).contains(r)
	}
	links := s.links.get(x)
	if st.links != (len(links) > 0) {
		return inconsistent("row %d: %d links in postings, links=%v in its state", r, len(links), st.links)
	}
	switch st.status {
	case live:
		if !isLive || isDel {
			return inconsistent("row %d: live in its state, live=%v deleted=%v in postings", r, isLive, isDel)
		}
		inParent := s.roots.Contains(x)
		if st.parent != noRow {
			inParent = in(&s.children, uint32(st.parent))
		}
		if !in(&s.flavour, st.flavour) || !in(&s.creator, st.creator) || !inParent ||
			!in(&s.createdHour, st.cHour) || !in(&s.createdDay, dayOfHour(st.cHour)) ||
			!in(&s.updatedHour, st.uHour) || !in(&s.updatedDay, dayOfHour(st.uHour)) {
			return inconsistent("row %d: missing from a posting its state names", r)
		}
		if !slices.IsSorted(links) || len(slices.Compact(slices.Clone(links))) != len(links) {
			return inconsistent("row %d: links not sorted and unique", r)
		}
		for _, t := range links {
			if !in(&s.backlinks, uint32(t)) {
				return inconsistent("row %d links to row %d but is not among its backlinks", r, t)
			}
		}
	default:
		if isLive || isDel != (st.status == deleted) || len(links) > 0 {
			return inconsistent("row %d: status %d in its state, live=%v deleted=%v links=%d in postings", r, st.status, isLive, isDel, len(links))
		}
	}
	return nil
}
