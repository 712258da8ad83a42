package engine

import (
	"errors"
	"testing"

	"octobase/oplog"
)

func TestReadAt(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 2
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	l1 := transact(t, w, func(b *Blocks) error {
		_, err := b.Create(NewBlock{ID: "a", Flavour: "f", Props: map[string]any{"v": 1}})
		return err
	})
	l2 := transact(t, w, func(b *Blocks) error { return b.SetProp("a", "v", 2) })
	l3 := transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "b", Flavour: "f", Parent: "a"}); return err })
	l4 := transact(t, w, func(b *Blocks) error { return b.Delete("a", true) })
	for _, tc := range []struct {
		lsn   uint64
		ids   int
		v     any
		kids  int
		exist bool
	}{{0, 0, nil, 0, false}, {uint64(l1), 1, float64(1), 0, true}, {uint64(l2), 1, float64(2), 0, true},
		{uint64(l3), 2, float64(2), 1, true}, {uint64(l4), 0, nil, 0, false}} {
		v, err := w.ReadAt(bg, lsnOf(tc.lsn))
		if err != nil {
			t.Fatalf("ReadAt(%d): %v", tc.lsn, err)
		}
		a, ok := v.Get("a")
		if v.LSN() != lsnOf(tc.lsn) || v.Len() != tc.ids || ok != tc.exist || a.Props["v"] != tc.v || len(a.Children) != tc.kids {
			t.Errorf("ReadAt(%d): lsn %d len %d a=%+v", tc.lsn, v.LSN(), v.Len(), a)
		}
	}
	if _, err := w.ReadAt(bg, l4+1); !errors.Is(err, ErrFuture) {
		t.Fatalf("ReadAt(future): %v", err)
	}
	// A ReadView is the caller's: later changes do not reach it.
	v, _ := w.ReadAt(bg, l4)
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "c", Flavour: "f"}); return err })
	if v.Has("c") {
		t.Fatal("ReadView changed after the fact")
	}
}

func lsnOf(n uint64) oplog.LSN { return oplog.LSN(n) }
