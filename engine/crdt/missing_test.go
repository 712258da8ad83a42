package crdt

import (
	"math/rand/v2"
	"testing"
)

// TestMissingDependency checks MissingDependency against the document
// itself: three clients edit a text, a map and nested maps, exchanging
// updates now and then; a document holding a prefix of their updates (in
// order: nothing pending) is probed with one of the next few updates,
// which must be reported missing exactly when applying it leaves
// something pending.
func TestMissingDependency(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	docs := []*Doc{MustNewDoc(Options{ClientID: 1}), MustNewDoc(Options{ClientID: 2}), MustNewDoc(Options{ClientID: 3})}
	var updates [][]byte
	for i := range docs {
		docs[i].OnUpdate(func(u []byte, tx *Txn) {
			if tx.Local {
				updates = append(updates, append([]byte(nil), u...))
			}
		})
	}
	for step := range 300 {
		d := docs[rng.IntN(len(docs))]
		txt, _ := d.GetText("t")
		m, _ := d.GetMap("m")
		d.Transact(nil, func(tx *Txn) {
			switch n := txt.Len(); {
			case n > 3 && rng.IntN(3) == 0:
				txt.Delete(tx, rng.IntN(n-2), 2)
			case rng.IntN(4) == 0:
				inner := NewMap()
				m.Set(tx, "k", inner)
				inner.Set(tx, "x", float64(step))
			case rng.IntN(4) == 0:
				if v, ok := m.Get("k"); ok {
					if inner, ok := v.(*Map); ok {
						inner.Set(tx, "y", float64(step))
					}
				}
			default:
				txt.Insert(tx, rng.IntN(n+1), "ab", nil)
			}
		})
		if rng.IntN(3) == 0 { // occasional sync between two peers
			a, b := docs[rng.IntN(3)], docs[rng.IntN(3)]
			if a != b {
				if err := b.ApplyUpdate(a.EncodeStateAsUpdate(b.StateVector()), "sync"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var checked, missing int
	base := MustNewDoc(Options{ClientID: 99})
	for k, next := range updates[:len(updates)-1] {
		if err := base.ApplyUpdate(next, nil); err != nil {
			t.Fatal(err)
		}
		if base.HasPending() {
			t.Fatalf("prefix of %d updates left something pending", k+1)
		}
		u := updates[k+1+rng.IntN(min(len(updates)-k-1, 4))]
		id, isMissing, err := MissingDependency(u, base.StateVector())
		if err != nil {
			t.Fatal(err)
		}
		if id2, missing2, err := base.MissingDependency(u); err != nil || id2 != id || missing2 != isMissing {
			t.Fatalf("Doc.MissingDependency = %v, %v, %v; with the state vector %v, %v", id2, missing2, err, id, isMissing)
		}
		probe := MustNewDoc(Options{ClientID: 98})
		if err := probe.ApplyUpdate(base.EncodeStateAsUpdate(nil), nil); err != nil {
			t.Fatal(err)
		}
		if err := probe.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
		if isMissing != probe.HasPending() {
			t.Fatalf("after %d updates: MissingDependency = %v (%v), but applying leaves pending = %v", k+1, isMissing, id, probe.HasPending())
		}
		// ApplyUpdateComplete gives the same answer, and applies exactly
		// what ApplyUpdate does when nothing is missing.
		whole := MustNewDoc(Options{ClientID: 97})
		if err := whole.ApplyUpdate(base.EncodeStateAsUpdate(nil), nil); err != nil {
			t.Fatal(err)
		}
		before := whole.EncodeStateAsUpdate(nil)
		id3, missing3, err := whole.ApplyUpdateComplete(u, nil)
		if err != nil || id3 != id || missing3 != isMissing {
			t.Fatalf("ApplyUpdateComplete = %v, %v, %v; MissingDependency %v, %v", id3, missing3, err, id, isMissing)
		}
		want := probe.EncodeStateAsUpdate(nil)
		if isMissing {
			want = before
		}
		if got := whole.EncodeStateAsUpdate(nil); string(got) != string(want) || whole.HasPending() {
			t.Fatalf("after %d updates: ApplyUpdateComplete (missing %v) left state %x, want %x", k+1, isMissing, got, want)
		}
		checked++
		if isMissing {
			missing++
		}
	}
	if missing == 0 || missing == checked {
		t.Fatalf("%d of %d samples missing: the test did not exercise both outcomes", missing, checked)
	}
	t.Logf("%d samples, %d with missing dependencies", checked, missing)
	if _, _, err := MissingDependency([]byte{1, 2, 3}, nil); err == nil {
		t.Fatal("a malformed update gave no error")
	}
}
