package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
)

func recv(t *testing.T, sub *Subscription) Change {
	t.Helper()
	select {
	case ch, ok := <-sub.C:
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no change delivered")
	}
	return Change{}
}

// scenario runs a fixed sequence of edits and returns what each record
// should report.
func scenario(t *testing.T, w *Workspace) []Change {
	p := newPeer(88)
	var want []Change
	step := func(lsn oplog.LSN, origin string, blocks ...BlockChange) {
		want = append(want, Change{LSN: lsn, Origin: origin, Blocks: blocks})
	}
	step(transact(t, w, func(b *Blocks) error {
		b.Create(NewBlock{ID: "page", Flavour: "affine:page"})
		_, err := b.Create(NewBlock{ID: "p1", Flavour: "affine:paragraph", Parent: "page", Props: map[string]any{"text": RichText{Text: "hi"}}})
		return err
	}), "local", BlockChange{DefaultSpace, "p1", Created, nil}, BlockChange{DefaultSpace, "page", Created, nil})
	step(transact(t, w, func(b *Blocks) error {
		txt, _ := b.Text("p1", "text")
		return txt.Insert(b.Txn(), 2, "!", nil)
	}), "local", BlockChange{DefaultSpace, "p1", Updated, []string{"prop:text"}})
	step(transact(t, w, func(b *Blocks) error { return b.SetProp("page", "title", "T") }), "local",
		BlockChange{DefaultSpace, "page", Updated, []string{"prop:title"}})
	p.sync(t, w)
	for _, u := range p.edit(t, func(b *Blocks) error {
		o, _ := b.Space("other")
		_, err := o.Create(NewBlock{ID: "o1", Flavour: "x"})
		return err
	}) {
		step(apply(t, w, u, "peer"), "peer", BlockChange{"other", "o1", Created, nil})
	}
	step(transact(t, w, func(b *Blocks) error { return b.SetMeta("name", "n") }), "local")
	step(transact(t, w, func(b *Blocks) error {
		_, err := b.Create(NewBlock{ID: "p2", Flavour: "affine:paragraph", Parent: "page", AtIndex: true})
		return err
	}), "local", BlockChange{DefaultSpace, "p2", Created, nil},
		BlockChange{DefaultSpace, "page", Updated, []string{"sys:children"}})
	step(transact(t, w, func(b *Blocks) error { return b.Delete("page", true) }), "local",
		BlockChange{DefaultSpace, "p1", Deleted, nil}, BlockChange{DefaultSpace, "p2", Deleted, nil},
		BlockChange{DefaultSpace, "page", Deleted, nil})
	return want
}

func sameChange(t *testing.T, got, want Change) {
	t.Helper()
	if got.LSN != want.LSN || got.Origin != want.Origin || !reflect.DeepEqual(got.Blocks, want.Blocks) || got.Time.IsZero() {
		t.Fatalf("change:\n got %+v\nwant %+v", got, want)
	}
}

func TestSubscribeLive(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	want := scenario(t, w)
	for _, c := range want {
		sameChange(t, recv(t, sub), c)
	}
	// A duplicate logs nothing and delivers nothing; the next change follows
	// without a gap.
	u, _ := w.EncodeStateAsUpdate(bg, nil)
	apply(t, w, u, "dup")
	lsn := transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "z", Flavour: "f"}); return err })
	if ch := recv(t, sub); ch.LSN != lsn || ch.LSN != want[len(want)-1].LSN+1 {
		t.Fatalf("after duplicate: %+v", ch)
	}
	sub.Close()
	if _, ok := <-sub.C; ok || !errors.Is(sub.Err(), context.Canceled) {
		t.Fatalf("after Close: channel open or Err %v", sub.Err())
	}
}

// TestSubscribeHistory subscribes from old positions (across snapshots):
// the re-derived changes equal the live ones, then the stream goes live.
func TestSubscribeHistory(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 3
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	want := scenario(t, w)
	for from := 1; from <= len(want); from++ {
		sub, err := w.Subscribe(bg, oplog.LSN(from))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range want[from-1:] {
			sameChange(t, recv(t, sub), c)
		}
		if from == 1 {
			lsn := transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "live", Flavour: "f"}); return err })
			want = append(want, Change{LSN: lsn, Origin: "local", Blocks: []BlockChange{{DefaultSpace, "live", Created, nil}}})
			sameChange(t, recv(t, sub), want[len(want)-1])
		}
		sub.Close()
	}
	// A future position waits for it.
	sub, err := w.Subscribe(bg, want[len(want)-1].LSN+2)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	transact(t, w, func(b *Blocks) error { return b.SetProp("live", "a", 1) })
	lsn := transact(t, w, func(b *Blocks) error { return b.SetProp("live", "a", 2) })
	if ch := recv(t, sub); ch.LSN != lsn {
		t.Fatalf("future subscription got %d, want %d", ch.LSN, lsn)
	}
}

// TestSubscribeSlowReader lets a subscriber fall far behind its buffer: it
// must still get every change, in order, by falling back to the log.
func TestSubscribeSlowReader(t *testing.T) {
	opts := testOptions(nil)
	opts.SubscriberBuffer = 2
	opts.SnapshotRecords = 7
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const n = 40
	for i := range n {
		transact(t, w, func(b *Blocks) error {
			_, err := b.Create(NewBlock{ID: BlockID(fmt.Sprint("b", i)), Flavour: "f"})
			return err
		})
		if i%9 == 0 {
			recv(t, sub) // read a little now and then
		}
	}
	got := map[oplog.LSN]bool{}
	for lsn := oplog.LSN(6); lsn <= n; lsn++ {
		ch := recv(t, sub)
		got[ch.LSN] = true
		if ch.LSN <= 5 {
			continue
		}
		if ch.Blocks[0].ID != BlockID(fmt.Sprint("b", ch.LSN-1)) {
			t.Fatalf("LSN %d: %+v", ch.LSN, ch)
		}
	}
	for lsn := oplog.LSN(6); lsn <= n; lsn++ {
		if !got[lsn] {
			t.Fatalf("LSN %d never delivered: %v", lsn, got)
		}
	}
}

func TestSubscribeCompacted(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = -1
	opts.Retention = &oplog.Retention{}
	opts.LogOptions.SegmentSize = 1024
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	for i := range 60 {
		transact(t, w, func(b *Blocks) error {
			_, err := b.Create(NewBlock{ID: BlockID(fmt.Sprint("b", i)), Flavour: "f", Props: map[string]any{"pad": fmt.Sprintf("%0100d", i)}})
			return err
		})
	}
	snap, err := w.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		transact(t, w, func(b *Blocks) error { return b.SetProp("b1", "n", i) })
	}
	l, _, _, _ := w.openLog()
	first := l.FirstLSN()
	if first <= 1 {
		t.Fatalf("nothing compacted: first LSN %d", first)
	}
	for _, from := range []oplog.LSN{1, first} {
		if _, err := w.Subscribe(bg, from); !errors.Is(err, oplog.ErrCompacted) {
			t.Fatalf("Subscribe(%d), before the snapshot at %d: %v", from, snap, err)
		}
		if _, err := w.ReadAt(bg, from); !errors.Is(err, oplog.ErrCompacted) {
			t.Fatalf("ReadAt(%d): %v", from, err)
		}
	}
	// History from the snapshot on still works.
	if v, err := w.ReadAt(bg, snap); err != nil || v.Len() != 60 {
		t.Fatalf("ReadAt(snapshot): %v", err)
	}
	sub, err := w.Subscribe(bg, snap+1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for lsn := snap + 1; lsn <= snap+3; lsn++ {
		if ch := recv(t, sub); ch.LSN != lsn || ch.Blocks[0].ID != "b1" {
			t.Fatalf("change %+v, want LSN %d", ch, lsn)
		}
	}
}

// TestSubscribeUpdates replays the updates carried by the changes, live
// and re-derived from history, into a fresh document: it must end equal to
// the workspace (this is what replication forwards).
func TestSubscribeUpdates(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 2
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	live, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	want := scenario(t, w)
	p := newPeer(5)
	apply(t, w, p.edit(t, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "remote", Flavour: "f"}); return err })[0], "peer")
	last := want[len(want)-1].LSN + 1
	hist, err := w.Subscribe(bg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	for name, sub := range map[string]*Subscription{"live": live, "history": hist} {
		doc := crdt.MustNewDoc(crdt.Options{ClientID: 999})
		for {
			ch := recv(t, sub)
			if len(ch.Update) == 0 {
				t.Fatalf("%s: change %d carries no update", name, ch.LSN)
			}
			if err := doc.ApplyUpdate(ch.Update, "test"); err != nil {
				t.Fatalf("%s: change %d: %v", name, ch.LSN, err)
			}
			if ch.LSN == last {
				break
			}
		}
		got := doc.EncodeStateAsUpdate(nil)
		if !bytes.Equal(got, encodeState(t, w)) {
			t.Fatalf("%s: replaying Change.Update does not rebuild the workspace", name)
		}
	}
}

// TestSubscriptionBacklog: Backlog counts the changes waiting behind the
// one C offers, down to zero as they are received.
func TestSubscriptionBacklog(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if n := sub.Backlog(); n != 0 {
		t.Fatalf("backlog %d before any change", n)
	}
	createBlocks(t, w, 3, NewBlock{Flavour: "f"})
	for want := 2; want >= 0; want-- {
		deadline := time.Now().Add(10 * time.Second)
		for sub.Backlog() != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := sub.Backlog(); n != want {
			t.Fatalf("backlog %d, want %d", n, want)
		}
		recv(t, sub)
	}
	if n := sub.Backlog(); n != 0 {
		t.Fatalf("backlog %d after every change was received", n)
	}
}
