package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"octobase/index"
)

// TestCheckIndex: after creates, moves, links, deletes in two spaces and
// snapshots with persisted index files, CheckIndex finds the maintained
// and persisted indexes equal to rebuilds from the log; a damaged live
// index and a damaged index file are each reported, naming the space.
func TestCheckIndex(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 4
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	for i := range 10 {
		transact(t, w, func(b *Blocks) error {
			page, err := b.Create(NewBlock{ID: BlockID(fmt.Sprint("page", i)), Flavour: "affine:page", Creator: "alice"})
			if err != nil {
				return err
			}
			for j := range 5 {
				if _, err := b.Create(NewBlock{ID: BlockID(fmt.Sprintf("p%d-%d", i, j)), Flavour: "affine:paragraph", Parent: page, Creator: "bob",
					Props: map[string]any{"ref": map[string]any{"$ref": "page0"}}}); err != nil {
					return err
				}
			}
			other, err := b.Space("other")
			if err != nil {
				return err
			}
			_, err = other.Create(NewBlock{ID: BlockID(fmt.Sprint("o", i)), Flavour: "note", Creator: "carol"})
			return err
		})
	}
	transact(t, w, func(b *Blocks) error {
		if err := b.Move("p3-1", "page7", 0); err != nil {
			return err
		}
		return b.Delete("page5", true)
	})
	res, err := w.CheckIndex(bg)
	if err != nil {
		t.Fatal(err)
	}
	if res.LSN != 11 || res.Base != 0 || len(res.Spaces) != 2 || res.Spaces[0].Space != DefaultSpace || res.Spaces[1].Space != "other" ||
		res.Spaces[0].Live != 54 || res.Spaces[1].Live != 10 {
		t.Fatalf("check: %+v", res)
	}
	// A clean close snapshots the tail and persists the indexes beside it;
	// recovery loads them, and they are checked too.
	s.Close()
	s = openStore(t, opts)
	w = workspace(t, s, "ws")
	if res, err = w.CheckIndex(bg); err != nil || res.FileLSN != 11 || res.Files != 2 || len(res.Spaces) != 2 {
		t.Fatalf("check after reopening: %+v, %v", res, err)
	}

	// A damaged live index: one block's flavour changed behind the views.
	st := w.live.Load()
	st.views.mu.Lock()
	sv := st.views.spaces["other"]
	sv.pending = append(sv.pending, index.BlockChange{ID: "o3", Flavour: "wrong", Creator: "carol", Created: 1, Updated: 1})
	st.views.mu.Unlock()
	_, err = w.CheckIndex(bg)
	var me *index.MismatchError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `space "other"`) || !strings.Contains(err.Error(), "maintained") {
		t.Fatalf("damaged live index: %v", err)
	}
}

// TestCheckIndexFile: an index file persisted beside a snapshot that does
// not match the log is reported as the persisted index of its space.
func TestCheckIndexFile(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 2
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	createBlocks(t, w, 4, NewBlock{Flavour: "f", Creator: "u"})
	s.Close()
	s = openStore(t, opts)
	w = workspace(t, s, "ws")
	res, err := w.CheckIndex(bg)
	if err != nil || res.Files != 1 || res.FileLSN != 4 {
		t.Fatalf("check: %+v, %v", res, err)
	}
	// Rewrite the file with an index that has one block more.
	ix, err := readIndexFile(opts.FS, indexPath(w.dir, DefaultSpace))
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.ApplyAt(ix.Position(), []index.BlockChange{{ID: "intruder", Flavour: "f", Creator: "u", Created: 1, Updated: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := writeIndexes(opts.FS, w.dir, map[string]*index.Snapshot{DefaultSpace: ix.Snapshot()}); err != nil {
		t.Fatal(err)
	}
	_, err = w.CheckIndex(bg)
	if !errors.Is(err, index.ErrMismatch) || !strings.Contains(err.Error(), "persisted") {
		t.Fatalf("damaged index file: %v", err)
	}
}

// A replay from the log (CheckIndex, ReadAt, history) stops when its
// context ends, every scratchCheck records, instead of finishing first.
func TestScratchReplayCancelled(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	createBlocks(t, w, scratchCheck+10, NewBlock{Flavour: "affine:paragraph"})
	l, last, _, err := w.openLog()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, _, _, err := scratchFrom(ctx, l, last, false, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled replay: %v", err)
	}
	doc, _, _, err := scratchFrom(bg, l, last, false, false)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(doc)
	tr.checkRoots()
	if n := len(buildViews(tr, last).spaces[DefaultSpace].blocks); n != scratchCheck+10 {
		t.Fatalf("replayed %d blocks", n)
	}
	if _, err := w.CheckIndex(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckIndex with an ended context: %v", err)
	}
}
