package peer

import (
	"context"
	"fmt"
	"testing"

	"octobase/engine"
)

// TestSyncSmallEditCost measures a resync after a small offline edit: the
// bytes crossing are proportional to the edit (plus state vectors and the
// delete set), not to the document.
func TestSyncSmallEditCost(t *testing.T) {
	a, b := newStore(t, 100), newStore(t, 200)
	const blocks = 5000
	transact(t, a, "big", func(bl *engine.Blocks) error {
		if _, err := bl.Create(engine.NewBlock{ID: "page", Flavour: "affine:page"}); err != nil {
			return err
		}
		// Created detached, then put under the page in one call:
		// Create with a Parent costs O(children) (engine.childIndex).
		ids := make([]engine.BlockID, blocks)
		for i := range ids {
			ids[i] = engine.BlockID(fmt.Sprint("b", i))
			if _, err := bl.Create(engine.NewBlock{ID: ids[i], Flavour: "affine:paragraph",
				Props: map[string]any{"text": engine.RichText{Text: fmt.Sprintf("Paragraph %d, with a few words of text in it.", i)}}}); err != nil {
				return err
			}
		}
		return bl.InsertChildren("page", 0, ids...)
	})
	// A few edits spread over time, as a document has: deletions make the
	// delete set, which every SyncStep2 carries whole.
	for i := range 20 {
		transact(t, a, "big", func(bl *engine.Blocks) error {
			tx, err := bl.Text(engine.BlockID(fmt.Sprint("b", i*200)), "text")
			if err != nil {
				return err
			}
			return tx.Delete(bl.Txn(), 0, 3)
		})
	}
	ca, cb := Pipe()
	full, _ := syncPair(t, a, b, ca, cb, nil, nil)
	docSize := len(stateOf(t, a, "big").update)

	// One small offline edit on each side.
	transact(t, a, "big", func(bl *engine.Blocks) error {
		tx, err := bl.Text("b2500", "text")
		if err != nil {
			return err
		}
		return tx.Insert(bl.Txn(), 5, " edited", nil)
	})
	transact(t, b, "big", func(bl *engine.Blocks) error { return bl.SetProp("b10", "done", true) })

	ca, cb = Pipe()
	sa, sb := syncPair(t, a, b, ca, cb, nil, nil)
	sameState(t, []string{"big"}, a, b)
	// What a plain y-protocols SyncStep2 carries besides the missing
	// structs: the whole delete set (a state vector says nothing about
	// deletions). It is the diff of the state against its own state
	// vector. The delete set digests (digest.go) leave out the part the
	// peer has.
	ws := workspace(t, a, "big")
	ownSV, err := ws.StateVector(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ws.EncodeStateAsUpdate(context.Background(), ownSV)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("document: %d blocks, encoded state %d bytes; initial sync: %d bytes A→B, %d bytes B→A", blocks, docSize, full.BytesOut, full.BytesIn)
	t.Logf("resync after one small edit on each side: %d bytes A→B, %d bytes B→A (%d total)", sa.BytesOut, sb.BytesOut, sa.BytesOut+sb.BytesOut)
	if docSize < 100<<10 {
		t.Fatalf("document is only %d bytes; the measurement needs > 100 KB", docSize)
	}
	t.Logf("the delete set is %d bytes; without the digests every SyncStep2 would carry all of it", len(ds))
	for dir, n := range map[string]int64{"A→B": sa.BytesOut, "B→A": sb.BytesOut} {
		if n > 2048 {
			t.Errorf("resync sent %d bytes %s for a %d-byte document; want < 2 KB", n, dir, docSize)
		}
	}
}
