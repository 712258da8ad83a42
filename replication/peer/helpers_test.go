package peer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
)

// openStore opens a store in dir whose workspaces use client ids base+1,
// base+2, ... (distinct per store, so tests are deterministic).
func openStore(t testing.TB, dir string, base uint64) *engine.Store {
	t.Helper()
	var mu sync.Mutex
	next := base
	s, err := engine.Open(dir, &engine.Options{
		Durability:  oplog.SyncNone,
		IdleTimeout: -1,
		ClientID: func(string) (uint64, error) {
			mu.Lock()
			defer mu.Unlock()
			next++
			return next, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB, base uint64) *engine.Store {
	t.Helper()
	s := openStore(t, t.TempDir(), base)
	t.Cleanup(func() { s.Close() })
	return s
}

func workspace(t testing.TB, s *engine.Store, name string) *engine.Workspace {
	t.Helper()
	ws, err := s.Workspace(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func transact(t testing.TB, s *engine.Store, name string, fn func(b *engine.Blocks) error) {
	t.Helper()
	if _, err := workspace(t, s, name).Transact(context.Background(), "test", func(_ *crdt.Txn, b *engine.Blocks) error { return fn(b) }); err != nil {
		t.Fatalf("transact %s: %v", name, err)
	}
}

var testWorkspaces = []string{"alpha", "beta"}

// seed gives store s a page with paragraphs p1..p5 in every test
// workspace.
func seed(t testing.TB, s *engine.Store) {
	t.Helper()
	for _, name := range testWorkspaces {
		transact(t, s, name, func(b *engine.Blocks) error {
			if _, err := b.Create(engine.NewBlock{ID: "page", Flavour: "affine:page", Props: map[string]any{"title": engine.RichText{Text: "Page of " + name}}}); err != nil {
				return err
			}
			for i := 1; i <= 5; i++ {
				if _, err := b.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprint("p", i)), Flavour: "affine:paragraph", Parent: "page",
					Props: map[string]any{"text": engine.RichText{Text: fmt.Sprintf("paragraph %d", i)}}}); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// editOffline makes concurrent-looking edits on a and b (which share the
// seeded base): both create blocks, move p2 to different places, delete a
// block, and type in the same text.
func editOffline(t testing.TB, a, b *engine.Store) {
	t.Helper()
	for _, name := range testWorkspaces {
		transact(t, a, name, func(bl *engine.Blocks) error {
			if _, err := bl.Create(engine.NewBlock{ID: "fromA", Flavour: "affine:paragraph", Parent: "page", Index: 0, AtIndex: true,
				Props: map[string]any{"text": engine.RichText{Text: "written on A"}}}); err != nil {
				return err
			}
			if err := bl.Move("p2", "page", -1); err != nil {
				return err
			}
			if err := bl.Delete("p3", true); err != nil {
				return err
			}
			tx, err := bl.Text("p1", "text")
			if err != nil {
				return err
			}
			return tx.Insert(bl.Txn(), 0, "A says: ", nil)
		})
		transact(t, b, name, func(bl *engine.Blocks) error {
			if _, err := bl.Create(engine.NewBlock{ID: "fromB", Flavour: "affine:paragraph", Parent: "p4",
				Props: map[string]any{"text": engine.RichText{Text: "written on B"}}}); err != nil {
				return err
			}
			if err := bl.Move("p2", "p4", 0); err != nil {
				return err
			}
			if err := bl.Delete("p5", true); err != nil {
				return err
			}
			if err := bl.SetProp("p4", "checked", true); err != nil {
				return err
			}
			tx, err := bl.Text("p1", "text")
			if err != nil {
				return err
			}
			if err := tx.Insert(bl.Txn(), tx.Len(), " (B was here)", nil); err != nil {
				return err
			}
			return tx.Delete(bl.Txn(), 0, 1)
		})
	}
}

// state is a workspace's encoded state vector and full state.
type state struct{ sv, update []byte }

func stateOf(t testing.TB, s *engine.Store, name string) state {
	t.Helper()
	ws := workspace(t, s, name)
	ctx := context.Background()
	sv, err := ws.StateVector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ws.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return state{sv, u}
}

// sameState fails the test unless every store holds byte-identical
// workspaces names (same state vector, same encoded state).
func sameState(t testing.TB, names []string, stores ...*engine.Store) {
	t.Helper()
	for _, name := range names {
		want := stateOf(t, stores[0], name)
		for i, s := range stores[1:] {
			got := stateOf(t, s, name)
			if !bytes.Equal(got.sv, want.sv) {
				t.Errorf("workspace %s: store %d state vector %x, store 0 %x", name, i+1, got.sv, want.sv)
			}
			if !bytes.Equal(got.update, want.update) {
				t.Errorf("workspace %s: store %d encoded state differs from store 0 (%d vs %d bytes)", name, i+1, len(got.update), len(want.update))
			}
		}
	}
}

// checkMerged checks that the offline edits of both sides are in store s.
func checkMerged(t testing.TB, s *engine.Store) {
	t.Helper()
	for _, name := range testWorkspaces {
		ws := workspace(t, s, name)
		err := ws.View(context.Background(), func(v *engine.ReadView) error {
			for _, id := range []engine.BlockID{"fromA", "fromB", "p1", "p2", "p4"} {
				if !v.Has(id) {
					t.Errorf("%s: block %s missing", name, id)
				}
			}
			for _, id := range []engine.BlockID{"p3", "p5"} {
				if v.Has(id) {
					t.Errorf("%s: deleted block %s is back", name, id)
				}
			}
			p1, _ := v.Get("p1")
			text := ""
			if rt, ok := p1.Props["text"].(engine.RichText); ok {
				text = rt.Text
			}
			if text != "A says: aragraph 1 (B was here)" {
				t.Errorf("%s: p1 text %q", name, text)
			}
			p4, _ := v.Get("p4")
			if p4.Props["checked"] != true {
				t.Errorf("%s: p4 checked = %v", name, p4.Props["checked"])
			}
			if !slices.Contains(v.Children("p4"), "fromB") {
				t.Errorf("%s: p4 children %v lack fromB", name, v.Children("p4"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// syncPair runs a one-shot session between a and b over the two ends of a
// stream and fails the test on an error.
func syncPair(t testing.TB, a, b *engine.Store, ca, cb interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	Close() error
}, oa, ob *Options) (Stats, Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var sb Stats
	var errB error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sb, errB = Sync(ctx, b, cb, ob)
	}()
	sa, errA := Sync(ctx, a, ca, oa)
	<-done
	if errA != nil || errB != nil {
		t.Fatalf("sync: A: %v; B: %v", errA, errB)
	}
	return sa, sb
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
