package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"octobase/oplog"
)

// TestConcurrentUse runs writers, readers, a subscriber, ReadAt and idle
// closes against one workspace at once (meant for -race): the subscriber
// must see every LSN once, in order, and the views must end equal to a
// rebuild.
func TestConcurrentUse(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 10
	opts.SubscriberBuffer = 8
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	w2 := workspace(t, s, "ws2") // no subscriber: closed as idle again and again
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 4, 30
	var got []oplog.LSN
	var subWG sync.WaitGroup
	subWG.Go(func() {
		for ch := range sub.C {
			got = append(got, ch.LSN)
			if len(got) == writers*perWriter {
				return
			}
		}
	})
	var stop atomic.Bool
	var closed atomic.Int64
	var wg, bgWG sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range perWriter {
				id := BlockID(fmt.Sprintf("w%d-%d", i, j))
				for _, ws := range []*Workspace{w, w2} {
					transact(t, ws, func(b *Blocks) error {
						_, err := b.Create(NewBlock{ID: id, Flavour: "f", Props: map[string]any{"n": j}})
						return err
					})
				}
			}
		})
	}
	bgWG.Go(func() {
		for !stop.Load() {
			w.View(bg, func(v *ReadView) error {
				for _, id := range v.IDs() {
					if b, ok := v.Get(id); !ok || b.Flavour != "f" {
						t.Errorf("view: %q %+v", id, b)
					}
				}
				return nil
			})
		}
	})
	bgWG.Go(func() {
		for !stop.Load() {
			if lsn, err := w.LastLSN(bg); err == nil && lsn > 0 {
				if v, err := w.ReadAt(bg, lsn/2); err != nil || v.LSN() != lsn/2 {
					t.Errorf("ReadAt(%d): %v", lsn/2, err)
				}
			}
			if lsn, err := w2.LastLSN(bg); err == nil && lsn > 0 {
				if v, err := w2.ReadAt(bg, lsn-1); err != nil || v.LSN() != lsn-1 {
					t.Errorf("ws2 ReadAt(%d): %v", lsn-1, err)
				}
			}
			closed.Add(int64(s.CloseIdle(0)))
		}
	})
	wg.Wait()
	subWG.Wait()
	stop.Store(true)
	bgWG.Wait()
	sub.Close()
	for i, lsn := range got {
		if lsn != oplog.LSN(i+1) {
			t.Fatalf("subscriber got LSN %d at position %d", lsn, i)
		}
	}
	checkViews(t, w, "concurrent")
	for _, ws := range []*Workspace{w, w2} {
		ws.View(bg, func(v *ReadView) error {
			if v.Len() != writers*perWriter || v.LSN() != writers*perWriter {
				t.Errorf("%s: %d blocks at LSN %d", ws.Name(), v.Len(), v.LSN())
			}
			return nil
		})
	}
	checkViews(t, w2, "concurrent, idle closes")
	if closed.Load() == 0 {
		t.Error("no idle close happened")
	}
	t.Logf("%d idle closes", closed.Load())
}
