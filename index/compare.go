package index

import (
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Check compares ix with rebuilt, typically an index the engine rebuilt
// from the log, and returns nil if they are equal or a *MismatchError
// (errors.Is(err, ErrMismatch)) naming the first difference. It compares
// the latest snapshots of both; see Snapshot.Compare.
func (ix *Index) Check(rebuilt *Index) error {
	return ix.Snapshot().Compare(rebuilt.Snapshot())
}

// Equal reports whether two snapshots hold the same index (Compare == nil).
func (s *Snapshot) Equal(o *Snapshot) bool { return s.Compare(o) == nil }

// Compare compares s (a) with o (b) row by row and bitmap by bitmap, and
// returns nil if they are equal or a *MismatchError naming the first
// difference, in this order: the row ↔ id table, position, live, deleted,
// roots, flavour and creator postings (by name, in byte order), children,
// links, backlinks (by row), created and updated buckets (hours, then
// days). Row numbers must agree: an index rebuilt by applying the same
// changes in the same order allocates the same rows, while one built from
// the changes in another order may hold the same blocks under other rows
// and compares unequal. Flavour and creator numbering may differ.
func (s *Snapshot) Compare(o *Snapshot) error {
	if d := s.compare(o); d != nil {
		return d
	}
	return nil
}

func (s *Snapshot) compare(o *Snapshot) *MismatchError {
	s, o = s.settled(), o.settled()
	n := min(s.idv.n, o.idv.n)
	for r := uint32(0); r < n; r++ {
		if a, b := s.idv.get(r), o.idv.get(r); a != b {
			return &MismatchError{What: "ids", Detail: fmt.Sprintf("row %d is %q in a, %q in b", r, a, b)}
		}
	}
	if s.idv.n != o.idv.n {
		side, longer := "a", s
		if o.idv.n > s.idv.n {
			side, longer = "b", o
		}
		return &MismatchError{What: "ids", Detail: fmt.Sprintf("a has %d rows, b has %d; row %d (%q) is only in %s",
			s.idv.n, o.idv.n, n, longer.idv.get(n), side)}
	}
	if s.pos != o.pos {
		return &MismatchError{What: "position", Detail: fmt.Sprintf("%d in a, %d in b", s.pos, o.pos)}
	}
	for _, p := range []struct {
		what string
		a, b *roaring.Bitmap
	}{{"live", s.live, o.live}, {"deleted", s.deleted, o.deleted}, {"roots", s.roots, o.roots}} {
		if d := s.diffBitmaps(p.what, p.a, p.b); d != nil {
			return d
		}
	}
	if d := s.diffTerms("flavour", &s.flavour, s.flv, s.flavours, &o.flavour, o.flv, o.flavours); d != nil {
		return d
	}
	if d := s.diffTerms("creator", &s.creator, s.crv, s.creators, &o.creator, o.crv, o.creators); d != nil {
		return d
	}
	if d := s.diffRowTries("children of", &s.children, &o.children); d != nil {
		return d
	}
	if d := s.diffLinks(o); d != nil {
		return d
	}
	if d := s.diffRowTries("backlinks of", &s.backlinks, &o.backlinks); d != nil {
		return d
	}
	for _, p := range []struct {
		what string
		day  bool
		a, b *trie[rowSet]
	}{
		{"created hour", false, &s.createdHour, &o.createdHour},
		{"created day", true, &s.createdDay, &o.createdDay},
		{"updated hour", false, &s.updatedHour, &o.updatedHour},
		{"updated day", true, &s.updatedDay, &o.updatedDay},
	} {
		day := p.day
		if d := s.diffTriesNamed(p.a, p.b, func(k uint32) string { return p.what + " " + bucketName(k, day) }); d != nil {
			return d
		}
	}
	return nil
}

// rowName formats a row for messages: `row 17 ("blk-17")`.
func (s *Snapshot) rowName(r uint32) string {
	if id, ok := s.ID(RowID(r)); ok {
		return fmt.Sprintf("row %d (%q)", r, id)
	}
	return fmt.Sprintf("row %d", r)
}

func bucketName(k uint32, day bool) string {
	if day {
		return time.UnixMilli(MinTime + int64(k)*dayMs).UTC().Format("2006-01-02")
	}
	return time.UnixMilli(hourStart(k)).UTC().Format("2006-01-02T15Z")
}

// sameRows reports whether two postings hold the same rows.
func sameRows(a, b rowSet) bool {
	if a.big == nil && b.big == nil {
		return slices.Equal(a.small, b.small)
	}
	return a.card() == b.card() && a.bitmap().Equals(b.bitmap())
}

// diffBitmaps names the smallest row in exactly one of a and b (nil means
// empty).
func (s *Snapshot) diffBitmaps(what string, a, b *roaring.Bitmap) *MismatchError {
	if a == nil {
		a = roaring.New()
	}
	if b == nil {
		b = roaring.New()
	}
	if a.Equals(b) {
		return nil
	}
	x := roaring.Xor(a, b)
	m := x.Minimum()
	in, out := "a", "b"
	if b.Contains(m) {
		in, out = "b", "a"
	}
	return &MismatchError{What: what, Detail: fmt.Sprintf("%s is in %s, not in %s", s.rowName(m), in, out)}
}

func (s *Snapshot) diffTerms(what string, at *trie[rowSet], av strVec, ad *dict,
	bt *trie[rowSet], bv strVec, bd *dict) *MismatchError {
	names := append(terms(at, av), terms(bt, bv)...)
	slices.Sort(names)
	names = slices.Compact(names)
	get := func(t *trie[rowSet], v strVec, d *dict, name string) *roaring.Bitmap {
		if k, ok := d.lookup(name, &v); ok {
			return t.get(k).bitmap()
		}
		return nil
	}
	for _, name := range names {
		if d := s.diffBitmaps(fmt.Sprintf("%s %q", what, name), get(at, av, ad, name), get(bt, bv, bd, name)); d != nil {
			return d
		}
	}
	return nil
}

type keyed[V any] struct {
	k uint32
	v V
}

func entries(t *trie[rowSet]) []keyed[rowSet] {
	var out []keyed[rowSet]
	t.each(func(k uint32, rs rowSet) bool {
		out = append(out, keyed[rowSet]{k, rs})
		return true
	})
	return out
}

func (s *Snapshot) diffRowTries(what string, a, b *trie[rowSet]) *MismatchError {
	return s.diffTriesNamed(a, b, func(k uint32) string { return what + " " + s.rowName(k) })
}

// diffTries compares two tries of bitmaps key by key (for Verify).
func diffTries(what string, a, b *trie[rowSet]) *MismatchError {
	s := &Snapshot{}
	return s.diffTriesNamed(a, b, func(k uint32) string { return fmt.Sprintf("%s %d", what, k) })
}

func (s *Snapshot) diffTriesNamed(a, b *trie[rowSet], name func(uint32) string) *MismatchError {
	ea, eb := entries(a), entries(b)
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j == len(eb) || (i < len(ea) && ea[i].k < eb[j].k):
			return s.diffBitmaps(name(ea[i].k), ea[i].v.bitmap(), nil)
		case i == len(ea) || eb[j].k < ea[i].k:
			return s.diffBitmaps(name(eb[j].k), nil, eb[j].v.bitmap())
		default:
			if !sameRows(ea[i].v, eb[j].v) {
				return s.diffBitmaps(name(ea[i].k), ea[i].v.bitmap(), eb[j].v.bitmap())
			}
			i++
			j++
		}
	}
	return nil
}

func (s *Snapshot) diffLinks(o *Snapshot) *MismatchError {
	collect := func(t *trie[[]RowID]) []keyed[[]RowID] {
		var out []keyed[[]RowID]
		t.each(func(k uint32, v []RowID) bool {
			if len(v) > 0 {
				out = append(out, keyed[[]RowID]{k, v})
			}
			return true
		})
		return out
	}
	ea, eb := collect(&s.links), collect(&o.links)
	for i := 0; i < len(ea) || i < len(eb); i++ {
		var a, b keyed[[]RowID]
		if i < len(ea) {
			a = ea[i]
		}
		if i < len(eb) {
			b = eb[i]
		}
		if i >= len(ea) || (i < len(eb) && b.k < a.k) {
			return &MismatchError{What: "links of " + s.rowName(b.k), Detail: fmt.Sprintf("none in a, %v in b", b.v)}
		}
		if i >= len(eb) || a.k < b.k {
			return &MismatchError{What: "links of " + s.rowName(a.k), Detail: fmt.Sprintf("%v in a, none in b", a.v)}
		}
		if !slices.Equal(a.v, b.v) {
			return &MismatchError{What: "links of " + s.rowName(a.k), Detail: fmt.Sprintf("%v in a, %v in b", a.v, b.v)}
		}
	}
	return nil
}

// CompareLive compares the live blocks of s (a) and o (b) by block id,
// whatever rows the two indexes gave them: the same live blocks, each with
// the same flavour, creator, parent, created and updated hour, and links
// (as ids). Both snapshots must also pass Verify, so their postings are
// exactly what those per-block facts imply. Deleted blocks and ids seen
// only as parents or link targets are not compared: an index rebuilt from
// the current blocks has no record of the first and may not mention the
// second, and numbers rows in another order. This is how an index
// maintained over a history is checked against one rebuilt from the
// blocks (engine.Workspace.CheckIndex). It returns nil, a *MismatchError,
// or the Verify error of the snapshot that fails it.
func (s *Snapshot) CompareLive(o *Snapshot) error {
	if err := s.Verify(); err != nil {
		return fmt.Errorf("a: %w", err)
	}
	if err := o.Verify(); err != nil {
		return fmt.Errorf("b: %w", err)
	}
	a, b := s.settled(), o.settled()
	ra, err := deriveRows(a)
	if err != nil {
		return err
	}
	rb, err := deriveRows(b)
	if err != nil {
		return err
	}
	if na, nb := a.live.GetCardinality(), b.live.GetCardinality(); na != nb {
		return &MismatchError{What: "live", Detail: fmt.Sprintf("%d live blocks in a, %d in b", na, nb)}
	}
	idOf := func(x *Snapshot, r RowID) string { return x.idv.get(uint32(r)) }
	var d *MismatchError
	a.live.Iterate(func(x uint32) bool {
		id := a.idv.get(x)
		y, ok := b.ids.lookup(id, &b.idv)
		if !ok || !b.live.Contains(y) {
			d = &MismatchError{What: "live", Detail: fmt.Sprintf("block %q is live in a, not in b", id)}
			return false
		}
		sa, sb := ra.at(RowID(x)), rb.at(RowID(y))
		field := func(what, va, vb string) bool {
			if va != vb {
				d = &MismatchError{What: what, Detail: fmt.Sprintf("block %q: %s in a, %s in b", id, va, vb)}
			}
			return va == vb
		}
		parent := func(x *Snapshot, st *rowState) string {
			if st.parent == noRow {
				return "no parent"
			}
			return fmt.Sprintf("parent %q", idOf(x, st.parent))
		}
		links := func(x *Snapshot, r uint32) string {
			var ids []string
			for _, t := range x.links.get(r) {
				ids = append(ids, idOf(x, t))
			}
			slices.Sort(ids)
			return fmt.Sprintf("links %q", ids)
		}
		return field("flavour", fmt.Sprintf("%q", a.flv.get(sa.flavour)), fmt.Sprintf("%q", b.flv.get(sb.flavour))) &&
			field("creator", fmt.Sprintf("%q", a.crv.get(sa.creator)), fmt.Sprintf("%q", b.crv.get(sb.creator))) &&
			field("parent", parent(a, sa), parent(b, sb)) &&
			field("created", fmt.Sprintf("hour %d", sa.cHour), fmt.Sprintf("hour %d", sb.cHour)) &&
			field("updated", fmt.Sprintf("hour %d", sa.uHour), fmt.Sprintf("hour %d", sb.uHour)) &&
			field("links", links(a, x), links(b, y))
	})
	if d != nil {
		return d
	}
	return nil
}
