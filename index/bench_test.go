package index

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// The benchmarks share one generated workspace (built on first use, only
// when -bench selects one of them): 1,000,000 blocks by default.
//
//	go test -run '^$' -bench . -benchtime 2000x ./index
//	go test -run '^$' -bench Query -index.blocks 200000 ./index
var benchBlocks = flag.Int("index.blocks", 1_000_000, "blocks in the benchmark workspace")

// benchFlavours is a skewed mix of 20 flavours (weights in percent·10).
var benchFlavours = []struct {
	name   string
	weight int
}{
	{"affine:paragraph", 480}, {"affine:list", 150}, {"affine:image", 50}, {"affine:code", 40},
	{"affine:divider", 30}, {"affine:bookmark", 30}, {"affine:attachment", 20}, {"affine:database", 20},
	{"affine:embed-linked-doc", 30}, {"affine:embed-synced-doc", 10}, {"affine:latex", 10}, {"affine:table", 10},
	{"affine:callout", 10}, {"affine:embed-youtube", 5}, {"affine:embed-figma", 5}, {"affine:embed-github", 5},
	{"affine:frame", 15}, {"affine:surface", 20}, // plus one note and one page per page below
}

type benchWorld struct {
	snap        *Snapshot // right after the build; later Apply benchmarks do not change it
	ix          *Index
	ids         []string // block ids, row order
	pages       []string
	notes       []string
	creators    []string
	heapBytes   uint64
	build       time.Duration
	nextID      int
	lastCreated int64
	sample      []BlockChange // current state of every 100th block
}

var (
	benchOnce sync.Once
	bench     *benchWorld
)

// benchWorkspace generates pages of ~200 blocks each: a page (root), a
// surface and a note under it, and content blocks in trees up to depth 8
// (mostly children of the note; lists nest under the previous block, and
// siblings follow), 100 creators with a skewed share, about 10% of blocks linking to 1-3 other pages (popular
// pages more often) or blocks, created times over two years in page order
// and updated times up to 30 days later.
func benchWorkspace(b *testing.B) *benchWorld {
	benchOnce.Do(func() {
		w := &benchWorld{ix: New()}
		rng := rand.New(rand.NewPCG(2024, 5))
		for i := range 100 {
			w.creators = append(w.creators, fmt.Sprintf("user-%03d", i))
		}
		creator := func() string { // skewed: low numbers create more
			return w.creators[min(rng.IntN(100), rng.IntN(100), rng.IntN(100))]
		}
		totalW := 0
		for _, f := range benchFlavours {
			totalW += f.weight
		}
		flavour := func() string {
			x := rng.IntN(totalW)
			for _, f := range benchFlavours {
				if x -= f.weight; x < 0 {
					return f.name
				}
			}
			return benchFlavours[0].name
		}
		n := *benchBlocks
		start := int64(t0) - 2*365*dayMs
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap0 := ms.HeapAlloc
		began := time.Now()
		batch := make([]BlockChange, 0, 1024)
		flush := func() {
			if err := w.ix.Apply(batch); err != nil {
				panic(err)
			}
			batch = batch[:0]
		}
		add := func(c BlockChange) {
			w.ids = append(w.ids, c.ID)
			batch = append(batch, c)
			if len(batch) == cap(batch) {
				flush()
			}
		}
		type node struct {
			id    string
			depth int
		}
		for len(w.ids) < n {
			pi := len(w.pages)
			created := start + int64(len(w.ids))*(2*365*dayMs/int64(n))
			upd := func() int64 { return created + rng.Int64N(30*dayMs) }
			page := fmt.Sprintf("page-%06d", pi)
			who := creator()
			w.pages = append(w.pages, page)
			add(BlockChange{ID: page, Flavour: "affine:page", Creator: who, Created: created, Updated: upd()})
			add(BlockChange{ID: page + "/surface", Flavour: "affine:surface", Creator: who, Parent: page, Created: created, Updated: upd()})
			note := page + "/note"
			w.notes = append(w.notes, note)
			add(BlockChange{ID: note, Flavour: "affine:note", Creator: who, Parent: page, Created: created, Updated: upd()})
			tree := []node{{note, 1}}
			prev := node{note, 1}
			parentOf := map[string]node{note: {page, 0}}
			size := 100 + rng.IntN(200)
			for j := 0; j < size && len(w.ids) < n; j++ {
				// Mostly flat under the note; lists nest, up to depth 8.
				var parent node
				switch x := rng.IntN(100); {
				case x < 15 || prev.id == note:
					parent = tree[0]
				case x < 75:
					parent = parentOf[prev.id] // a sibling of the previous block
				default:
					parent = prev // nest under the previous block
				}
				if parent.depth >= 8 {
					parent = tree[0]
				}
				c := BlockChange{ID: fmt.Sprintf("%s/b%d", page, j), Flavour: flavour(), Creator: who,
					Parent: parent.id, Created: created + int64(j)*1000, Updated: upd()}
				if rng.IntN(4) == 0 {
					c.Creator = creator()
				}
				if rng.IntN(10) == 0 && pi > 0 {
					for range 1 + rng.IntN(3) {
						if rng.IntN(2) == 0 {
							c.Links = append(c.Links, w.pages[min(rng.IntN(pi), rng.IntN(pi))])
						} else {
							c.Links = append(c.Links, w.ids[rng.IntN(len(w.ids))])
						}
					}
				}
				add(c)
				if len(w.ids)%100 == 0 {
					w.sample = append(w.sample, c)
				}
				prev = node{c.ID, parent.depth + 1}
				parentOf[c.ID] = parent
			}
		}
		flush()
		w.build = time.Since(began)
		w.snap = w.ix.Snapshot()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		w.heapBytes = ms.HeapAlloc - heap0 - uint64(cap(w.ids))*16 - uint64(cap(w.pages)+cap(w.notes))*16
		w.lastCreated = start + 2*365*dayMs
		bench = w
	})
	return bench
}

// BenchmarkBuild reports how the shared workspace was built: time per
// change applied in batches of 1024, and memory per block.
func BenchmarkBuild(b *testing.B) {
	w := benchWorkspace(b)
	n := float64(w.snap.Rows())
	st := w.ix.Stats()
	b.ReportMetric(0, "ns/op") // nothing is timed here: the build ran once
	b.ReportMetric(float64(w.build.Nanoseconds())/n, "ns/change")
	b.ReportMetric(float64(w.heapBytes)/n, "heap-B/block")
	b.ReportMetric(float64(w.heapBytes)/n*1e6/(1<<20), "heap-MiB/1M-blocks")
	b.ReportMetric(float64(st.Bytes)/n, "est-B/block")
	b.ReportMetric(n, "blocks")
}

// BenchmarkMemory reports the estimated memory of each posting family per
// block (Stats), next to BenchmarkBuild's measured heap.
func BenchmarkMemory(b *testing.B) {
	w := benchWorkspace(b)
	st := w.ix.Stats()
	n := float64(st.Rows)
	b.ReportMetric(0, "ns/op")
	for _, p := range st.Postings {
		if p.Bytes > 0 {
			b.ReportMetric(float64(p.Bytes)/n, "B/block:"+strings.ReplaceAll(p.Name, " ", "-"))
		}
	}
	b.ReportMetric(float64(st.IDBytes)/n, "B/block:ids")
	b.ReportMetric(float64(st.RowBytes)/n, "B/block:rowstate")
}

func BenchmarkQuery(b *testing.B) {
	w := benchWorkspace(b)
	s := w.snap
	rng := rand.New(rand.NewPCG(1, 1))
	b.Run("FlavourAndCreator/And", func(b *testing.B) {
		f, c := s.ByFlavour("affine:code"), s.ByCreator("user-042")
		var card uint64
		for b.Loop() {
			card = roaring.And(f, c).GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("FlavourAndCreator/AndLookups", func(b *testing.B) {
		// Every flavour with every creator, lookups included.
		var card uint64
		i := 0
		for ; b.Loop(); i++ {
			card += roaring.And(s.ByFlavour(benchFlavours[i%len(benchFlavours)].name), s.ByCreator(w.creators[i%97])).GetCardinality()
		}
		b.ReportMetric(float64(card)/float64(i), "rows")
	})
	b.Run("FlavourAndCreator/Rare", func(b *testing.B) {
		f, c := s.ByFlavour("affine:embed-youtube"), s.ByCreator("user-042")
		var card uint64
		for b.Loop() {
			card = roaring.And(f, c).GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("FlavourAndCreator/AndCardinality", func(b *testing.B) {
		f, c := s.ByFlavour("affine:paragraph"), s.ByCreator("user-000")
		var card uint64
		for b.Loop() {
			card = f.AndCardinality(c)
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("Backlinks/PopularPage", func(b *testing.B) {
		var card uint64
		for b.Loop() {
			card = s.LinkingTo(w.pages[0]).GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("Backlinks/RandomBlock", func(b *testing.B) {
		for b.Loop() {
			_ = s.LinkingTo(w.ids[rng.IntN(len(w.ids))]).GetCardinality()
		}
	})
	b.Run("Children/Note", func(b *testing.B) {
		var card uint64
		for b.Loop() {
			card = s.ChildrenOf(w.notes[rng.IntN(len(w.notes))]).GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("Descendants/Page", func(b *testing.B) {
		var card uint64
		for b.Loop() {
			card = s.DescendantsOf(w.pages[rng.IntN(len(w.pages))]).GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("CreatedRange/OneDay", func(b *testing.B) {
		var card uint64
		for b.Loop() {
			from := w.lastCreated - rng.Int64N(700*dayMs)
			ex, ca := s.CreatedRange(from, from+dayMs-1)
			card = ex.GetCardinality() + ca.GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("UpdatedRange/30Days", func(b *testing.B) {
		var card uint64
		for b.Loop() {
			from := w.lastCreated - rng.Int64N(700*dayMs)
			ex, ca := s.UpdatedRange(from, from+30*dayMs)
			card = ex.GetCardinality() + ca.GetCardinality()
		}
		b.ReportMetric(float64(card), "rows")
	})
	b.Run("Row", func(b *testing.B) {
		for b.Loop() {
			if _, ok := s.Row(w.ids[rng.IntN(len(w.ids))]); !ok {
				b.Fatal("missing")
			}
		}
	})
}

// BenchmarkApply measures Apply on the shared workspace, per change, with
// a snapshot taken after every batch (read: a query after every write) or
// not (the batches continue one open snapshot in place). With reads the
// batch size matters: each batch copies every posting it touches once.
func BenchmarkApply(b *testing.B) {
	w := benchWorkspace(b)
	ix := w.ix
	rng := rand.New(rand.NewPCG(9, 9))
	kinds := []struct {
		name   string
		change func() BlockChange
	}{
		{"Insert", func() BlockChange {
			w.nextID++
			return BlockChange{ID: fmt.Sprintf("new-%d", w.nextID), Flavour: "affine:paragraph",
				Creator: w.creators[rng.IntN(100)], Parent: w.notes[rng.IntN(len(w.notes))],
				Created: w.lastCreated, Updated: w.lastCreated}
		}},
		{"TouchUpdated", func() BlockChange {
			// The common edit: a block's updated time moves to a new hour.
			c := &w.sample[rng.IntN(len(w.sample))]
			c.Updated = w.lastCreated + rng.Int64N(1000)*hourMs
			return *c
		}},
		{"Retype", func() BlockChange {
			// Flavour changes touch the largest postings.
			c := &w.sample[rng.IntN(len(w.sample))]
			c.Flavour = benchFlavours[rng.IntN(2)].name
			return *c
		}},
	}
	for _, mode := range []string{"read", "noread"} {
		for _, size := range []int{1, 100} {
			for _, k := range kinds {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", k.name, size, mode), func(b *testing.B) {
					batch := make([]BlockChange, size)
					for b.Loop() {
						for i := range batch {
							batch[i] = k.change()
						}
						if err := ix.Apply(batch); err != nil {
							b.Fatal(err)
						}
						if mode == "read" {
							ix.Snapshot()
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/change")
				})
			}
		}
	}
}

// BenchmarkPersist writes and reads the whole workspace index.
func BenchmarkPersist(b *testing.B) {
	w := benchWorkspace(b)
	var buf bytes.Buffer
	if _, err := w.snap.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("WriteTo", func(b *testing.B) {
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if _, err := w.snap.WriteTo(&out); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(data)))
		b.ReportMetric(float64(len(data))/float64(w.snap.Rows()), "file-B/block")
	})
	b.Run("ReadFrom", func(b *testing.B) {
		for b.Loop() {
			if _, err := New().ReadFrom(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(data)))
	})
}
