package engine

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

var (
	modelSeeds = flag.Int("model.seeds", 6, "seeds of TestViewsModel")
	modelSteps = flag.Int("model.steps", 120, "steps per seed of TestViewsModel")
	modelSeed  = flag.Int64("model.seed", -1, "run TestViewsModel for this seed only")
)

// randomOp applies one random block operation through b. Operations the
// block API refuses (a cycle, a missing block) are skipped: they change
// nothing.
func randomOp(rng *rand.Rand, b *Blocks) error {
	ids := b.m.Keys()
	pick := func() BlockID {
		if len(ids) == 0 {
			return "none"
		}
		return BlockID(ids[rng.IntN(len(ids))])
	}
	value := func() any {
		switch rng.IntN(5) {
		case 0:
			return map[string]any{"$ref": string(pick())}
		case 1:
			return []any{1, "two", map[string]any{"deep": map[string]any{"$ref": string(pick())}}}
		case 2:
			return rng.IntN(100)
		case 3:
			return RichText{Text: fmt.Sprint("text ", rng.IntN(100))}
		}
		return nil
	}
	var err error
	switch op := rng.IntN(15); {
	case op < 5 || len(ids) == 0:
		nb := NewBlock{Flavour: []string{"affine:page", "affine:paragraph", "affine:list"}[rng.IntN(3)], Creator: "u"}
		if rng.IntN(3) > 0 {
			nb.Parent = pick()
			nb.Index, nb.AtIndex = rng.IntN(3), rng.IntN(2) == 0
		}
		if rng.IntN(2) == 0 {
			nb.Props = map[string]any{"p": value()}
		}
		_, err = b.Create(nb)
	case op < 7:
		err = b.SetProp(pick(), fmt.Sprint("p", rng.IntN(3)), value())
	case op == 7:
		err = b.RemoveProp(pick(), fmt.Sprint("p", rng.IntN(3)))
	case op < 10:
		var txt *crdt.Text
		if txt, err = b.Text(pick(), "text"); err == nil {
			i := rng.IntN(txt.Len() + 1)
			var attrs map[string]any
			if rng.IntN(3) == 0 {
				attrs = map[string]any{"reference": string(pick())}
			}
			err = txt.Insert(b.Txn(), i, "ab", attrs)
			if err == nil && txt.Len() > 3 && rng.IntN(2) == 0 {
				err = txt.Format(b.Txn(), 0, 2, map[string]any{"reference": nil, "bold": true})
			}
		}
	case op < 12:
		parent := pick()
		if rng.IntN(5) == 0 {
			parent = ""
		}
		err = b.Move(pick(), parent, rng.IntN(3)-1)
	case op == 12:
		par := pick()
		if kids, _ := b.Children(par); len(kids) > 0 {
			i := rng.IntN(len(kids))
			err = b.RemoveChildren(par, i, 1+rng.IntN(len(kids)-i))
		}
	case op == 13:
		err = b.Delete(pick(), rng.IntN(2) == 0)
	case op == 14:
		err = b.SetMeta(fmt.Sprint("m", rng.IntN(3)), rng.IntN(10))
	}
	if errors.Is(err, ErrCycle) || errors.Is(err, ErrOutOfRange) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotText) {
		return nil
	}
	return err
}

// TestViewsModel runs seeded random sequences of local transactions,
// remote updates from a concurrently editing peer (sometimes out of sync),
// rolled-back transactions and reopens, and checks after every step that
// the incrementally maintained views equal a from-scratch rebuild of the
// document, then that ReadAt of every position equals the views as they
// were then. The seed is printed on failure; rerun one with -model.seed.
func TestViewsModel(t *testing.T) {
	for seed := range int64(*modelSeeds) {
		if *modelSeed >= 0 && seed != *modelSeed {
			continue
		}
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { modelRound(t, uint64(seed)) })
	}
	if *modelSeed >= int64(*modelSeeds) {
		t.Run(fmt.Sprint("seed=", *modelSeed), func(t *testing.T) { modelRound(t, uint64(*modelSeed)) })
	}
}

func modelRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1234))
	fs := vfs.NewMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = 5 + rng.IntN(20)
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	p := newPeer(9000 + seed)
	history := map[oplog.LSN]viewsSummary{}
	record := func() {
		w.mu.Lock()
		st, _ := w.ensureLocked()
		st.views.mu.RLock()
		history[st.lsn] = summarize(st.views.clone())
		st.views.mu.RUnlock()
		w.mu.Unlock()
	}
	for step := range *modelSteps {
		what := ""
		switch k := rng.IntN(10); {
		case k < 6:
			what = "local"
			fail := rng.IntN(15) == 0
			_, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error {
				if err := randomOp(rng, b); err != nil {
					return err
				}
				if fail {
					return errors.New("rollback")
				}
				return nil
			})
			if err != nil && !fail {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		case k < 9:
			what = "remote"
			if rng.IntN(3) == 0 {
				p.sync(t, w)
			}
			for _, u := range p.edit(t, func(b *Blocks) error { return randomOp(rng, b) }) {
				if _, err := w.Apply(bg, u, "peer"); err != nil {
					t.Fatalf("seed %d step %d: Apply: %v", seed, step, err)
				}
			}
		default:
			what = "reopen"
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, opts)
			w = workspace(t, s, "ws")
		}
		checkViews(t, w, fmt.Sprintf("seed %d step %d (%s)", seed, step, what))
		record()
	}
	for lsn, want := range history {
		v, err := w.ReadAt(bg, lsn)
		if err != nil {
			t.Fatalf("seed %d: ReadAt(%d): %v", seed, lsn, err)
		}
		if got := summarize(v.v); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: ReadAt(%d) differs from the views at the time:\n got %s\nwant %s", seed, lsn, dump(got), dump(want))
		}
	}
	last, _ := w.LastLSN(bg)
	if _, err := w.ReadAt(bg, last+1); !errors.Is(err, ErrFuture) {
		t.Fatalf("ReadAt(last+1): %v", err)
	}
	if v, err := w.ReadAt(bg, 0); err != nil || v.Len() != 0 {
		t.Fatalf("ReadAt(0): %v", err)
	}
	t.Logf("seed %d: %d records, %d blocks", seed, last, len(history[last].Blocks[DefaultSpace]))
}
