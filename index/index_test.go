package index

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

func TestTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tr trie[int]
	want := map[uint32]int{}
	var old []struct {
		tr   trie[int]
		want map[uint32]int
	}
	keys := []uint32{0, 1, 31, 32, 1023, 1024, 1 << 20, lastHour, 1<<32 - 1}
	for gen := uint64(1); gen <= 200; gen++ {
		for range rng.IntN(20) {
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(2) == 0 {
				k = uint32(rng.IntN(5000))
			}
			v := rng.IntN(1000) + 1
			tr.set(gen, k, v)
			want[k] = v
		}
		if rng.IntN(10) == 0 {
			old = append(old, struct {
				tr   trie[int]
				want map[uint32]int
			}{tr, maps.Clone(want)})
		}
	}
	check := func(tr trie[int], want map[uint32]int) {
		t.Helper()
		got := map[uint32]int{}
		var prev int64 = -1
		tr.each(func(k uint32, v int) bool {
			if int64(k) <= prev {
				t.Fatalf("each: key %d after %d", k, prev)
			}
			prev = int64(k)
			if v != 0 {
				got[k] = v
			}
			return true
		})
		if !maps.Equal(got, want) {
			t.Fatalf("each: got %d entries, want %d", len(got), len(want))
		}
		for k, v := range want {
			if tr.get(k) != v {
				t.Fatalf("get(%d) = %d, want %d", k, tr.get(k), v)
			}
		}
		if tr.get(4_000_000) != want[4_000_000] {
			t.Fatal("get of an absent key")
		}
		lo, hi := uint32(30), uint32(1100)
		var inRange []uint32
		tr.ascend(lo, hi, func(k uint32, v int) bool {
			if k < lo || k > hi {
				t.Fatalf("ascend(%d, %d) visited %d", lo, hi, k)
			}
			if v != 0 {
				inRange = append(inRange, k)
			}
			return true
		})
		var wantRange []uint32
		for k := range want {
			if lo <= k && k <= hi {
				wantRange = append(wantRange, k)
			}
		}
		slices.Sort(wantRange)
		if !slices.Equal(inRange, wantRange) {
			t.Fatalf("ascend: %v, want %v", inRange, wantRange)
		}
	}
	check(tr, want)
	for _, o := range old { // persistence: later sets did not touch them
		check(o.tr, o.want)
	}
}

func TestTimeBuckets(t *testing.T) {
	if got := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(); got != MinTime {
		t.Fatalf("MinTime = %d, want %d", MinTime, got)
	}
	if got := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli(); got != MaxTime {
		t.Fatalf("MaxTime = %d, want %d", MaxTime, got)
	}
	if hourOf(MaxTime) != lastHour || hourOf(MaxTime-hourMs+1) != lastHour || hourOf(MaxTime-hourMs) != lastHour-1 {
		t.Fatal("last hour")
	}
	if dayOfHour(lastHour) != lastDay || lastDay != 3_652_424 {
		t.Fatalf("last day %d", lastDay)
	}
	// Hours are UTC-aligned.
	h := hourOf(t0 + 90*60*1000)
	if hourStart(h) != t0+hourMs || hourEnd(h) != t0+2*hourMs-1 {
		t.Fatal("hour alignment")
	}
	if time.UnixMilli(MinTime+int64(dayOfHour(h))*dayMs).UTC() != time.UnixMilli(t0).UTC() {
		t.Fatal("day alignment")
	}
	// planRange: buckets are disjoint and cover exactly [from, to] clamped.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		from := t0 + rng.Int64N(5*dayMs) - dayMs
		to := from + rng.Int64N(3*dayMs)
		if rng.IntN(3) == 0 {
			to = from + rng.Int64N(3*hourMs)
		}
		p := planRange(from, to)
		covered := map[uint32]int{} // hour → times covered
		for _, h := range p.cand {
			covered[h]++
		}
		for _, r := range p.exactHours {
			for h := r[0]; h <= r[1]; h++ {
				covered[h]++
				if !exactHour(h, from, to) {
					t.Fatalf("[%d,%d]: hour %d is not wholly inside", from, to, h)
				}
			}
		}
		if p.hasDays {
			for d := p.dayLo; d <= p.dayHi; d++ {
				for h := d * 24; h < d*24+24; h++ {
					covered[h]++
					if !exactHour(h, from, to) {
						t.Fatalf("[%d,%d]: day %d is not wholly inside", from, to, d)
					}
				}
			}
		}
		for h := hourOf(from); h <= hourOf(to); h++ {
			if covered[h] != 1 {
				t.Fatalf("[%d,%d]: hour %d covered %d times", from, to, h, covered[h])
			}
		}
		if len(covered) != int(hourOf(to)-hourOf(from)+1) {
			t.Fatalf("[%d,%d]: hours outside the range covered", from, to)
		}
	}
}

func TestDescendantsCycles(t *testing.T) {
	ix := New()
	b := []BlockChange{
		{ID: "a", Parent: "b"}, {ID: "b", Parent: "a"}, // a 2-cycle
		{ID: "d", Parent: "a"}, {ID: "e", Parent: "d"},
		{ID: "c", Parent: "c"}, // its own parent
	}
	const n = 10000 // a long cycle x0 → x9999 → … → x1 → x0
	for i := range n {
		b = append(b, BlockChange{ID: fmt.Sprintf("x%d", i), Parent: fmt.Sprintf("x%d", (i+n-1)%n)})
	}
	mustApply(t, ix, 1, b)
	s := ix.Snapshot()
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"a", []string{"b", "d", "e"}},
		{"b", []string{"a", "d", "e"}},
		{"d", []string{"e"}},
		{"c", nil},
		{"e", nil},
		{"nope", nil},
	} {
		if got := ids(t, s, s.DescendantsOf(tc.id)); !slices.Equal(got, tc.want) {
			t.Errorf("DescendantsOf(%s) = %v, want %v", tc.id, got, tc.want)
		}
	}
	if got := s.DescendantsOf("x0").GetCardinality(); got != n-1 {
		t.Errorf("DescendantsOf(x0) has %d rows, want %d", got, n-1)
	}
	// Deleting x5000 cuts the cycle: from x0 the chain reaches x1 … x4999
	// and, through the other side, nothing else (x5001's parent is gone).
	mustApply(t, ix, 2, []BlockChange{{ID: "x5000", Deleted: true}})
	if got := ix.Snapshot().DescendantsOf("x0").GetCardinality(); got != 4999 {
		t.Errorf("after the cut: %d rows, want 4999", got)
	}
}

func TestApplyErrors(t *testing.T) {
	ix := New()
	mustApply(t, ix, 1, []BlockChange{{ID: "a", Flavour: "p"}})
	before := ix.Snapshot()
	err := ix.Apply([]BlockChange{{ID: "b"}, {ID: ""}})
	if !errors.Is(err, ErrEmptyID) {
		t.Fatalf("got %v, want ErrEmptyID", err)
	}
	if ix.Snapshot() != before || ix.Snapshot().Rows() != 1 {
		t.Fatal("a refused batch changed the index")
	}
	// Apply keeps the position; ApplyAt with no changes moves it.
	mustApply(t, ix, 7, nil)
	if err := ix.Apply([]BlockChange{{ID: "b"}}); err != nil || ix.Snapshot().Position() != 7 {
		t.Fatalf("position %d, err %v", ix.Snapshot().Position(), err)
	}
	var zero Index // the zero Index is usable
	if err := zero.Apply([]BlockChange{{ID: "z"}}); err != nil || zero.Snapshot().LiveCount() != 1 {
		t.Fatal("zero Index")
	}
}

func TestCompareNamesFirstDifference(t *testing.T) {
	base := []BlockChange{
		{ID: "p", Flavour: "affine:page", Creator: "u1", Created: t0, Updated: t0},
		{ID: "q", Flavour: "affine:paragraph", Creator: "u1", Parent: "p", Links: []string{"p"}, Created: t0, Updated: t0},
	}
	for _, tc := range []struct {
		change BlockChange
		want   string
	}{
		{BlockChange{ID: "q", Flavour: "affine:list", Creator: "u1", Parent: "p", Links: []string{"p"}, Created: t0, Updated: t0},
			`flavour "affine:list": row 1 ("q") is in b, not in a`},
		{BlockChange{ID: "q", Flavour: "affine:paragraph", Creator: "u1", Parent: "p", Created: t0, Updated: t0},
			`links of row 1 ("q"): [0] in a, none in b`},
		{BlockChange{ID: "q", Flavour: "affine:paragraph", Creator: "u1", Parent: "p", Links: []string{"p"}, Created: t0, Updated: t0 + dayMs},
			`updated hour 2024-05-01T00Z: row 1 ("q") is in a, not in b`},
		{BlockChange{ID: "q", Deleted: true}, `live: row 1 ("q") is in a, not in b`},
		{BlockChange{ID: "r"}, `ids: a has 2 rows, b has 3; row 2 ("r") is only in b`},
	} {
		a, b := New(), New()
		mustApply(t, a, 1, base)
		mustApply(t, b, 1, append(slices.Clone(base), tc.change))
		err := a.Check(b)
		var me *MismatchError
		if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || me.What+": "+me.Detail != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	a := New()
	mustApply(t, a, 1, base)
	if err := a.Check(a); err != nil || !a.Snapshot().Equal(a.Snapshot()) {
		t.Fatal(err)
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	ix := New()
	mustApply(t, ix, 1, []BlockChange{
		{ID: "p", Flavour: "page"},
		{ID: "q", Flavour: "para", Parent: "p", Links: []string{"p"}},
	})
	s := *ix.Snapshot()
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	bad := s
	bad.backlinks = trie[rowSet]{} // backlinks lost
	if err := bad.Verify(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("lost backlinks: %v", err)
	}
	bad = s
	bad.deleted = roaring.BitmapOf(1) // q both live and deleted
	if err := bad.Verify(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("live and deleted: %v", err)
	}
	bad = s
	bad.roots = roaring.BitmapOf(0, 1) // q a root and a child
	if err := bad.Verify(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("two parents: %v", err)
	}
}

func TestStats(t *testing.T) {
	ix := New()
	var b []BlockChange
	for i := range 1000 {
		b = append(b, BlockChange{ID: fmt.Sprint("b", i), Flavour: fmt.Sprint("f", i%3), Creator: "u",
			Parent: fmt.Sprint("b", i/10), Links: []string{"b0"}, Created: t0 + int64(i)*60_000, Updated: t0})
	}
	mustApply(t, ix, 1, b)
	mustApply(t, ix, 2, []BlockChange{{ID: "b5", Deleted: true}})
	st := ix.Stats()
	if st.Rows != 1000 || st.Live != 999 || st.Deleted != 1 || st.Flavours != 3 || st.Creators != 1 {
		t.Fatalf("%+v", st)
	}
	byName := map[string]PostingStats{}
	var sum uint64
	for _, p := range st.Postings {
		byName[p.Name] = p
		sum += p.Bytes
	}
	if p := byName["backlinks"]; p.Keys != 1 || p.Cardinality != 999 { // b5 deleted; b0 links to itself too
		t.Fatalf("backlinks %+v", p)
	}
	if p := byName["created hour"]; p.Keys != 17 || p.Cardinality != 999 {
		t.Fatalf("created hour %+v", p)
	}
	if st.Bytes != sum+st.IDBytes+st.RowBytes || st.RowBytes == 0 {
		t.Fatalf("bytes %+v", st)
	}
}

// TestCompareLive: an index maintained over a history (deletions, moves,
// links changed) and one built from the surviving blocks in another order
// hold the blocks under different rows (Compare says so) and are the same
// for CompareLive; any difference in a live block's facts is named.
func TestCompareLive(t *testing.T) {
	page := BlockChange{ID: "page", Flavour: "affine:page", Creator: "alice", Created: t0, Updated: t0}
	p1 := BlockChange{ID: "p1", Flavour: "affine:paragraph", Creator: "bob", Parent: "page", Links: []string{"gone", "page"}, Created: t0, Updated: t0}
	p2 := BlockChange{ID: "p2", Flavour: "affine:paragraph", Creator: "bob", Parent: "page", Created: t0, Updated: t0}
	gone := BlockChange{ID: "gone", Flavour: "affine:image", Creator: "carol", Parent: "p2", Created: t0, Updated: t0}
	maintained := New()
	mustApply(t, maintained, 1, []BlockChange{gone, p2, p1, page})
	p1.Links = []string{"page", "p2"}
	p1.Updated = t0 + 5*hourMs
	p2.Parent = "p1"
	mustApply(t, maintained, 2, []BlockChange{{ID: "gone", Deleted: true}, p1, p2})

	final := []BlockChange{page, p1, p2}
	rebuilt := New()
	mustApply(t, rebuilt, 2, final)
	a, b := maintained.Snapshot(), rebuilt.Snapshot()
	if err := a.Compare(b); err == nil {
		t.Fatal("Compare: rows allocated in another order compare equal")
	}
	if err := a.CompareLive(b); err != nil {
		t.Fatalf("CompareLive: %v", err)
	}
	for _, c := range []struct {
		what   string
		change func(*BlockChange)
	}{
		{"flavour", func(c *BlockChange) { c.Flavour = "affine:list" }},
		{"creator", func(c *BlockChange) { c.Creator = "dave" }},
		{"parent", func(c *BlockChange) { c.Parent = "" }},
		{"created", func(c *BlockChange) { c.Created += 2 * hourMs }},
		{"updated", func(c *BlockChange) { c.Updated -= 3 * hourMs }},
		{"links", func(c *BlockChange) { c.Links = []string{"page"} }},
	} {
		changed := slices.Clone(final)
		c.change(&changed[1])
		other := New()
		mustApply(t, other, 2, changed)
		err := a.CompareLive(other.Snapshot())
		var me *MismatchError
		if !errors.As(err, &me) || me.What != c.what || !strings.Contains(me.Detail, `"p1"`) {
			t.Errorf("%s changed: %v", c.what, err)
		}
	}
	fewer := New()
	mustApply(t, fewer, 2, final[:2])
	if err := a.CompareLive(fewer.Snapshot()); !errors.Is(err, ErrMismatch) {
		t.Errorf("a live block missing: %v", err)
	}
}

// A broken BlockChange.Same promise is caught by invariants builds.
func TestBrokenPromise(t *testing.T) {
	if !invariantsOn {
		t.Skip("promises are checked only with the invariants tag or -race")
	}
	for _, tc := range []struct {
		name string
		c    BlockChange
	}{
		{"flavour", BlockChange{ID: "a", Flavour: "q", Creator: "u", Parent: "p", Links: []string{"x"}, Same: SameFlavour}},
		{"creator", BlockChange{ID: "a", Flavour: "f", Creator: "v", Parent: "p", Links: []string{"x"}, Same: SameCreator}},
		{"parent", BlockChange{ID: "a", Flavour: "f", Creator: "u", Parent: "", Links: []string{"x"}, Same: SameParent}},
		{"links", BlockChange{ID: "a", Flavour: "f", Creator: "u", Parent: "p", Links: []string{"x", "y"}, Same: SameLinks}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := New()
			if err := ix.Apply([]BlockChange{{ID: "a", Flavour: "f", Creator: "u", Parent: "p", Links: []string{"x", ""}}}); err != nil {
				t.Fatal(err)
			}
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "promises the same "+tc.name) {
					t.Fatalf("recovered %q, want a broken promise of the %s", msg, tc.name)
				}
			}()
			ix.Apply([]BlockChange{tc.c})
		})
	}
	// A kept promise passes, and is ignored for a row that is not live.
	ix := New()
	mustApply(t, ix, 1, []BlockChange{{ID: "a", Flavour: "f", Parent: "p", Links: []string{"x", "x"}}})
	mustApply(t, ix, 2, []BlockChange{{ID: "a", Flavour: "f", Parent: "p", Links: []string{"x"}, Same: SameAll, Updated: t0}})
	mustApply(t, ix, 3, []BlockChange{{ID: "p", Flavour: "g", Same: SameAll}})
	if got := ix.Snapshot().ByFlavour("g").GetCardinality(); got != 1 {
		t.Fatalf("flavour g has %d rows", got)
	}
}
