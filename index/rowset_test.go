package index

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// randomBitmap has rows below limit in every container flavour roaring
// has: sparse (array), dense (bitmap) and consecutive (run, after
// RunOptimize) regions.
func randomBitmap(rng *rand.Rand, limit uint32) *roaring.Bitmap {
	bm := roaring.New()
	for base := uint32(0); base < limit; base += 1 << 16 {
		switch rng.IntN(4) {
		case 0: // sparse
			for range 1 + rng.IntN(300) {
				bm.Add(base + uint32(rng.IntN(1<<16)))
			}
		case 1: // dense
			for range 20000 {
				bm.Add(base + uint32(rng.IntN(1<<16)))
			}
		case 2: // runs
			for range 1 + rng.IntN(20) {
				lo := uint64(base) + uint64(rng.IntN(1<<16-600))
				bm.AddRange(lo, lo+uint64(1+rng.IntN(500)))
			}
		}
	}
	if rng.IntN(2) == 0 {
		bm.RunOptimize()
	}
	return bm
}

func sum(bm *roaring.Bitmap) [32]byte {
	var buf bytes.Buffer
	if _, err := bm.WriteTo(&buf); err != nil {
		panic(err)
	}
	return sha256.Sum256(buf.Bytes())
}

// TestCopyOnWriteIsolation checks the assumption rowset.go rests on, with
// multi-container bitmaps of every container type: a writer that keeps
// deriving copies of frozen bitmaps (cow), changing them and freezing them
// never changes a frozen bitmap, while readers combine frozen bitmaps with
// roaring's allocating operations, clone them and modify their results.
// Run it with -race: a write to memory a reader reads is reported.
func TestCopyOnWriteIsolation(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 6
	type frozen struct {
		bm  *roaring.Bitmap
		sum [32]byte
	}
	var cur [n]atomic.Pointer[frozen]
	for i := range cur {
		bm := randomBitmap(rng, 400_000)
		freeze(bm)
		cur[i].Store(&frozen{bm, sum(bm)})
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for reader := range 3 {
		wg.Go(func() {
			rr := rand.New(rand.NewPCG(uint64(reader), 1))
			for !done.Load() {
				a, b, c := cur[rr.IntN(n)].Load(), cur[rr.IntN(n)].Load(), cur[rr.IntN(n)].Load()
				x := roaring.Or(a.bm, b.bm)
				x.Add(rr.Uint32N(500_000)) // results are private: changing them is fine
				x.AndNot(c.bm)
				y := roaring.FastOr(a.bm, b.bm, c.bm)
				y.RemoveRange(0, 100_000)
				z := roaring.And(a.bm, c.bm)
				z.Or(b.bm)
				z.Flip(1000, 70_000)
				w := a.bm.Clone()
				w.Add(7)
				w.RunOptimize()
				_ = roaring.ParOr(2, a.bm, b.bm)
				_ = roaring.HeapOr(a.bm, c.bm)
				_ = roaring.Xor(b.bm, c.bm)
				_ = roaring.FastAnd(a.bm, b.bm, c.bm)
				_ = a.bm.AndCardinality(b.bm)
				_ = b.bm.ToArray()
				for _, f := range []*frozen{a, b, c} {
					if sum(f.bm) != f.sum {
						errc <- errors.New("a frozen bitmap changed")
						return
					}
				}
			}
		})
	}
	var old []*frozen
	for round := range 300 {
		i := rng.IntN(n)
		f := cur[i].Load()
		c := cow(f.bm)
		for range 1 + rng.IntN(50) {
			x := rng.Uint32N(450_000)
			switch rng.IntN(4) {
			case 0:
				c.Remove(x)
			case 1:
				c.AddRange(uint64(x), uint64(x)+uint64(rng.IntN(3000)))
			default:
				c.Add(x)
			}
		}
		if round%7 == 0 {
			c.Or(cur[rng.IntN(n)].Load().bm)
		}
		freeze(c)
		cur[i].Store(&frozen{c, sum(c)})
		if round%10 == 0 {
			old = append(old, f)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, f := range old {
		if sum(f.bm) != f.sum {
			t.Fatal("an old frozen bitmap changed")
		}
	}
}

// TestCheckPortable: checkPortable accepts whatever roaring writes, and
// what it accepts, roaring reads back to an equal, valid bitmap.
func TestCheckPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		bm := randomBitmap(rng, uint32(1+rng.IntN(5))<<16)
		if i%10 == 0 {
			bm = roaring.New()
		}
		var buf bytes.Buffer
		if _, err := bm.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if err := checkPortable(buf.Bytes()); err != nil {
			t.Fatalf("bitmap %d (%d rows, runs %v): %v", i, bm.GetCardinality(), bm.HasRunCompression(), err)
		}
		got, err := readBitmap(buf.Bytes())
		if err != nil || !got.Equals(bm) {
			t.Fatalf("bitmap %d: read back %v", i, err)
		}
		if err := checkPortable(append(buf.Bytes(), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
		if err := checkPortable(buf.Bytes()[:buf.Len()-1]); err == nil {
			t.Fatal("truncation accepted")
		}
	}
}

// FuzzCheckPortable: bytes checkPortable accepts are read by roaring into
// a bitmap that roaring's own Validate accepts and that round-trips.
func FuzzCheckPortable(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		var buf bytes.Buffer
		if _, err := randomBitmap(rng, 3<<16).WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0x3a, 0x30, 0, 0, 0, 0, 0, 0}) // empty, no runs
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkPortable(data) != nil {
			return
		}
		bm, err := readBitmap(data)
		if err != nil {
			t.Fatalf("checkPortable accepted what roaring refuses: %v", err)
		}
		// roaring's Validate is quadratic in the runs of a container:
		// keep it to inputs small enough for it.
		if len(data) <= 8192 {
			if err := bm.Validate(); err != nil {
				t.Fatalf("checkPortable accepted an invalid bitmap: %v", err)
			}
		}
		var buf bytes.Buffer
		if _, err := bm.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := readBitmap(buf.Bytes())
		if err != nil || !again.Equals(bm) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// BenchmarkCopyOnWrite: what one changed row costs a batch, for a posting
// of 500k rows out of 1M — a copy-on-write copy (one container copied) vs a
// full Clone.
func BenchmarkCopyOnWrite(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	base := roaring.New()
	for i := range uint32(1_000_000) {
		if rng.IntN(2) == 0 {
			base.Add(i)
		}
	}
	freeze(base)
	b.Run("cow", func(b *testing.B) {
		p := base
		for i := 0; b.Loop(); i++ {
			c := cow(p)
			c.Add(uint32(1_000_000 + i))
			freeze(c)
			p = c
		}
	})
	b.Run("clone", func(b *testing.B) {
		p := base
		for i := 0; b.Loop(); i++ {
			c := p.Clone()
			c.Add(uint32(1_000_000 + i))
			p = c
		}
	})
}
