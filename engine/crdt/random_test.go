package crdt

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomSession drives n documents through random edits of every type,
// syncing random pairs through their updates (delivered late, out of order
// and twice), and finally syncs everything. It returns the documents.
type randomSession struct {
	t     testing.TB
	rng   *rand.Rand
	docs  []*Doc
	inbox [][][]byte // per doc: updates not delivered yet
}

func newRandomSession(t testing.TB, seed uint64, n int, gc bool) *randomSession {
	s := &randomSession{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e37)), inbox: make([][][]byte, n)}
	for i := 0; i < n; i++ {
		d := MustNewDoc(Options{ClientID: uint64(i*7 + 1), DisableGC: !gc})
		i := i
		d.OnUpdate(func(u []byte, tx *Txn) {
			if tx.Origin == "sync" {
				return
			}
			for j := range s.inbox {
				if j != i {
					s.inbox[j] = append(s.inbox[j], append([]byte(nil), u...))
				}
			}
		})
		s.docs = append(s.docs, d)
	}
	return s
}

var words = []string{"a", "bc", "def", "😀", "é", "ghij", "\n", "x😀y"}

// safe moves a UTF-16 index off the middle of a surrogate pair: yjs (and
// so we) replaces a split pair by two U+FFFD locally, and when nothing else
// changes that replacement never reaches the other peers.
func safe(txt *Text, i int) int {
	u := 0
	for _, r := range txt.String() {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if u+w > i {
			if u < i {
				return u
			}
			return i
		}
		u += w
	}
	return i
}

func (s *randomSession) edit(d *Doc) {
	r := s.rng
	m, _ := d.GetMap("map")
	a, _ := d.GetArray("array")
	txt, _ := d.GetText("text")
	x, _ := d.GetXmlFragment("xml")
	check := func(err error) {
		if err != nil {
			s.t.Fatalf("edit: %v", err)
		}
	}
	d.Transact(nil, func(tx *Txn) {
		for k := r.IntN(3) + 1; k > 0; k-- {
			switch r.IntN(12) {
			case 0:
				check(m.Set(tx, fmt.Sprint("k", r.IntN(5)), r.IntN(100)))
			case 1:
				m.Delete(tx, fmt.Sprint("k", r.IntN(5)))
			case 2:
				nm := NewMap()
				check(m.Set(tx, fmt.Sprint("k", r.IntN(5)), nm))
				check(nm.Set(tx, "inner", "v"))
			case 3:
				check(a.Insert(tx, r.IntN(a.Len()+1), r.IntN(10), "s", map[string]any{"o": 1}))
			case 4:
				if a.Len() > 0 {
					i := r.IntN(a.Len())
					check(a.Delete(tx, i, 1+r.IntN(min(3, a.Len()-i))))
				}
			case 5, 6:
				check(txt.Insert(tx, safe(txt, r.IntN(txt.Len()+1)), words[r.IntN(len(words))], nil))
			case 7:
				if txt.Len() > 0 {
					i := safe(txt, r.IntN(txt.Len()))
					j := safe(txt, i+1+r.IntN(min(4, txt.Len()-i)))
					if j == i {
						j = min(i+2, txt.Len())
					}
					check(txt.Delete(tx, i, j-i))
				}
			case 8:
				if txt.Len() > 0 {
					i := safe(txt, r.IntN(txt.Len()))
					var v any = true
					if r.IntN(3) == 0 {
						v = nil
					}
					j := safe(txt, i+1+r.IntN(min(5, txt.Len()-i)))
					if j == i {
						j = min(i+2, txt.Len())
					}
					check(txt.Format(tx, i, j-i, map[string]any{"bold": v}))
				}
			case 9:
				check(txt.Insert(tx, safe(txt, r.IntN(txt.Len()+1)), "B", map[string]any{"italic": true}))
			case 10:
				el := NewXmlElement("p")
				check(x.Insert(tx, r.IntN(x.Len()+1), el))
				check(el.SetAttribute(tx, "id", fmt.Sprint(r.IntN(9))))
				xt := NewXmlText()
				check(el.Insert(tx, 0, xt))
				check(xt.Insert(tx, 0, "hi", nil))
			case 11:
				if x.Len() > 0 {
					check(x.Delete(tx, r.IntN(x.Len()), 1))
				}
			}
		}
	})
}

// deliver applies some of doc i's pending updates in random order.
func (s *randomSession) deliver(i int, all bool) {
	box := s.inbox[i]
	s.rng.Shuffle(len(box), func(a, b int) { box[a], box[b] = box[b], box[a] })
	n := len(box)
	if !all && n > 0 {
		n = s.rng.IntN(n + 1)
	}
	for _, u := range box[:n] {
		if err := s.docs[i].ApplyUpdate(u, "sync"); err != nil {
			s.t.Fatalf("apply: %v", err)
		}
		if s.rng.IntN(5) == 0 { // duplicates must be harmless
			if err := s.docs[i].ApplyUpdate(u, "sync"); err != nil {
				s.t.Fatalf("apply twice: %v", err)
			}
		}
	}
	s.inbox[i] = box[n:]
}

func docJSON(t testing.TB, d *Doc) string {
	m, _ := d.GetMap("map")
	a, _ := d.GetArray("array")
	txt, _ := d.GetText("text")
	x, _ := d.GetXmlFragment("xml")
	// Text is compared as a string: with concurrent formatting yjs itself
	// does not always converge on attributes (its formatting cleanup runs
	// only on the receiving side). Attribute-level equality with yjs is
	// checked by TestInteropRandomAgainstYjs instead. Map keys are listed in
	// arrival order (as yjs does), which differs between replicas, so the
	// comparison ignores key order.
	return canonJSON(t, map[string]any{"map": m.ToJSON(), "array": a.ToJSON(), "text": txt.String(), "xml": x.String()})
}

func TestRandomConvergence(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		gc := seed%2 == 0
		s := newRandomSession(t, seed, 3, gc)
		for round := 0; round < 8; round++ {
			for i, d := range s.docs {
				if s.rng.IntN(3) > 0 {
					s.edit(d)
				}
				s.deliver(i, false)
			}
		}
		for i := range s.docs {
			s.deliver(i, true)
		}
		want := docJSON(t, s.docs[0])
		wantSV := EncodeStateVector(s.docs[0].StateVector())
		for i, d := range s.docs {
			if d.HasPending() {
				t.Fatalf("seed %d: doc %d still has pending structs", seed, i)
			}
			if got := docJSON(t, d); got != want {
				t.Fatalf("seed %d (gc=%v): doc %d diverged:\n%s\nvs\n%s", seed, gc, i, got, want)
			}
			if got := EncodeStateVector(d.StateVector()); string(got) != string(wantSV) {
				t.Fatalf("seed %d: state vectors differ", seed)
			}
			// Loading the encoded state (v1 and v2) gives the same document.
			for _, v2 := range []bool{false, true} {
				fresh := MustNewDoc(Options{ClientID: 999})
				var err error
				if v2 {
					err = fresh.ApplyUpdateV2(d.EncodeStateAsUpdateV2(nil), nil)
				} else {
					err = fresh.ApplyUpdate(d.EncodeStateAsUpdate(nil), nil)
				}
				if err != nil {
					t.Fatalf("seed %d: reload v2=%v: %v", seed, v2, err)
				}
				if got := docJSON(t, fresh); got != want {
					t.Fatalf("seed %d: reload v2=%v differs:\n%s\nvs\n%s", seed, v2, got, want)
				}
			}
		}
		// Document-free merge of every update equals the state.
	}
}
