package index

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

func digest(t testing.TB, s *Snapshot) [32]byte {
	return sha256.Sum256(mustWrite(t, s))
}

// TestConcurrentReaders runs readers against a writer (meant for -race).
// Readers hold snapshots while the writer keeps publishing, combine the
// returned bitmaps with roaring's allocating operations, clone and modify
// the clones, and check that each snapshot still has exactly the content
// the writer recorded when it published it (isolation), before and after.
func TestConcurrentReaders(t *testing.T) {
	batches := 300
	if testing.Short() {
		batches = 100
	}
	ix := New()
	w := newWorkload(42, 300)
	var digests sync.Map // position → [32]byte
	digests.Store(uint64(0), digest(t, ix.Snapshot()))
	var done atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	var reads atomic.Int64
	type seen struct {
		s      *Snapshot
		digest [32]byte
	}
	held := make([][]seen, 3)
	for reader := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				finished := done.Load()
				s := ix.Snapshot()
				before := digest(t, s)
				if err := exercise(s, w.pool[(reader*31+i)%len(w.pool)]); err != nil {
					errc <- err
					return
				}
				if digest(t, s) != before {
					errc <- fmt.Errorf("snapshot at position %d changed under a reader", s.Position())
					return
				}
				if i%7 == 0 {
					held[reader] = append(held[reader], seen{s, before})
				}
				reads.Add(1)
				if finished {
					return
				}
				runtime.Gosched()
			}
		})
	}
	// The writer takes a snapshot after half of the batches only: the
	// others stay open and the next batch continues them in place, while
	// readers may seal them at any moment.
	for pos := uint64(1); pos <= uint64(batches); pos++ {
		var b []BlockChange
		for range 1 + w.rng.IntN(4) {
			b = append(b, w.batch()...)
		}
		mustApply(t, ix, pos, b)
		if w.rng.IntN(2) == 0 {
			digests.Store(pos, digest(t, ix.Snapshot()))
		}
	}
	done.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// Every snapshot a reader held is still what it was, and what the
	// writer saw at that position.
	for _, hs := range held {
		for _, h := range hs {
			if d := digest(t, h.s); d != h.digest {
				t.Errorf("snapshot at position %d changed after the reader let go", h.s.Position())
			}
			if want, ok := digests.Load(h.s.Position()); ok && want.([32]byte) != h.digest {
				t.Errorf("snapshot at position %d: the reader and the writer saw different content", h.s.Position())
			}
		}
	}
	if err := ix.Snapshot().Verify(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d snapshot reads during %d batches; %d rows", reads.Load(), batches, ix.Snapshot().Rows())
}

// exercise runs the planner's kind of work on a snapshot: every query, the
// usual roaring combinations, and modifications of private clones.
func exercise(s *Snapshot, id string) error {
	f, c := s.ByFlavour("affine:paragraph"), s.ByCreator("alice")
	and := roaring.And(f, c)
	if n := f.AndCardinality(c); n != and.GetCardinality() {
		return fmt.Errorf("AndCardinality %d, And has %d", n, and.GetCardinality())
	}
	or := roaring.Or(f, s.ChildrenOf(""))
	fast := roaring.FastOr(f, c, s.LinkingTo(id), s.ChildrenOf(id))
	_ = roaring.FastAnd(s.Live(), f, c)
	_ = roaring.ParOr(2, f, c, s.Deleted())
	_ = roaring.HeapOr(f, c)
	_ = roaring.AndNot(s.Live(), f)
	_ = roaring.Xor(f, c)
	and.Or(s.Deleted()) // results are the caller's to modify
	or.AndNot(c)
	fast.And(s.Live())
	cl := f.Clone()
	cl.Add(1 << 30)
	cl.Remove(0)
	cl.Or(c)
	cl.RunOptimize()
	for it := s.Live().Iterator(); it.HasNext(); {
		it.Next()
	}
	_ = s.Deleted().ToArray()
	d := s.DescendantsOf(id)
	d.Add(7)
	l := s.LinkedFrom(id)
	l.Add(7)
	ex, ca := s.CreatedRange(t0, t0+2*dayMs)
	ex.Or(ca)
	ex, ca = s.UpdatedRange(MinTime, t0)
	ex.Or(ca)
	_ = s.Flavours()
	_ = s.Stats()
	if r, ok := s.Row(id); ok {
		if got, _ := s.ID(r); got != id {
			return fmt.Errorf("ID(Row(%q)) = %q", id, got)
		}
	}
	return s.Verify()
}
