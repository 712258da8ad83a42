package peer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"octobase/engine"
	"octobase/engine/crdt"
)

// randomDS returns a delete set of up to clients clients, each with random
// deleted clocks below maxClock, together with the set of deleted ids.
func randomDS(r *rand.Rand, base map[[2]uint64]bool, extra int, maxClock uint32) (crdt.DeleteSet, map[[2]uint64]bool) {
	set := map[[2]uint64]bool{}
	for k := range base {
		set[k] = true
	}
	for range extra {
		c := uint64(1 + r.IntN(3))
		clock := r.Uint32N(maxClock)
		for l := range 1 + r.IntN(3) {
			set[[2]uint64{c, uint64(clock) + uint64(l)}] = true
		}
	}
	ds := crdt.DeleteSet{}
	for k := range set {
		ds[k[0]] = append(ds[k[0]], crdt.DeleteRange{Clock: uint32(k[1]), Len: 1})
	}
	// Sort and merge through the codec.
	ds, err := crdt.DecodeDeleteSetV1(crdt.EncodeDeleteSetV1(ds))
	if err != nil {
		panic(err)
	}
	return ds, set
}

func expand(ds crdt.DeleteSet) map[[2]uint64]bool {
	out := map[[2]uint64]bool{}
	for c, rs := range ds {
		for _, r := range rs {
			for i := range r.Len {
				out[[2]uint64{c, uint64(r.Clock + i)}] = true
			}
		}
	}
	return out
}

// TestDigestTrimModel checks trim against the naive rule: whatever the
// sender leaves out, the receiver already has.
func TestDigestTrimModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for round := range 300 {
		_, base := randomDS(r, nil, r.IntN(400), 3000)
		sender, sset := randomDS(r, base, r.IntN(40), 3000)
		receiver, rset := randomDS(r, base, r.IntN(40), 3000)
		d := makeDigest(receiver)
		// The digest survives the wire.
		d2, err := decodeDigest(appendDigest(nil, d))
		if err != nil || !reflect.DeepEqual(d, d2) && len(d) > 0 {
			t.Fatalf("round %d: digest round trip: %v", round, err)
		}
		trimmed := trim(sender, d2)
		got := expand(trimmed)
		for k := range sset {
			if !got[k] && !rset[k] {
				t.Fatalf("round %d: deletion %v left out though the receiver lacks it", round, k)
			}
		}
		for k := range got {
			if !sset[k] {
				t.Fatalf("round %d: trim invented deletion %v", round, k)
			}
		}
		if len(sset) > 0 && len(got) > len(sset) {
			t.Fatalf("round %d: trimmed is larger", round)
		}
	}
}

// TestSyncScatteredDeletions makes both sides delete scattered characters of
// a long shared text (many delete ranges: digests are sent and used), then
// checks they converge byte for byte.
func TestSyncScatteredDeletions(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	a, b := newStore(t, 100), newStore(t, 200)
	transact(t, a, "doc", func(bl *engine.Blocks) error {
		text := ""
		for i := range 300 {
			text += fmt.Sprintf("word%03d ", i)
		}
		_, err := bl.Create(engine.NewBlock{ID: "t", Flavour: "affine:paragraph", Props: map[string]any{"text": engine.RichText{Text: text}}})
		return err
	})
	deleteSome := func(s *engine.Store, n int) {
		for range n {
			transact(t, s, "doc", func(bl *engine.Blocks) error {
				tx, err := bl.Text("t", "text")
				if err != nil {
					return err
				}
				return tx.Delete(bl.Txn(), r.IntN(tx.Len()-2), 1+r.IntN(2))
			})
		}
	}
	deleteSome(a, 60)
	for round := range 3 {
		ca, cb := Pipe()
		syncPair(t, a, b, ca, cb, nil, nil)
		sameState(t, []string{"doc"}, a, b)
		if t.Failed() {
			t.Fatalf("round %d diverged", round)
		}
		deleteSome(a, 10+r.IntN(20))
		deleteSome(b, 10+r.IntN(20))
	}
	d, err := ownDigest(context.Background(), workspace(t, a, "doc"))
	if err != nil || len(d) == 0 {
		t.Errorf("no digest for a workspace with scattered deletions (%v): the test does not exercise trimming", err)
	}
}

// A hostile digest (bucket width 1 over huge ranges) must not make trim
// work per clock.
func TestDigestHostileWidth(t *testing.T) {
	ds := crdt.DeleteSet{5: {{Clock: 0, Len: 1 << 31}, {Clock: 1<<31 + 10, Len: 1 << 30}}}
	got := trim(ds, digest{5: {width: 1, buckets: map[uint64]uint64{0: 1}}})
	if !reflect.DeepEqual(got, ds) {
		t.Errorf("trim = %v, want the delete set untouched", got)
	}
}
