package engine

import (
	"errors"
	"reflect"
	"testing"

	"octobase/oplog"
)

func TestBlockHistory(t *testing.T) {
	opts := testOptions(nil)
	opts.SnapshotRecords = 2 // history must read across snapshots
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	client, err := w.ClientID(bg)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		lsn     oplog.LSN
		origin  string
		op      ChangeOp
		fields  []string
		clients []uint64
	}
	var want []step
	l := transact(t, w, func(b *Blocks) error {
		_, err := b.Create(NewBlock{ID: "page", Flavour: "affine:page", Props: map[string]any{"title": "a"}})
		return err
	})
	want = append(want, step{l, "local", Created, nil, []uint64{client}})
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "other", Flavour: "f"}); return err })
	l = transact(t, w, func(b *Blocks) error { return b.SetProp("page", "title", "b") })
	want = append(want, step{l, "local", Updated, []string{"prop:title"}, []uint64{client}})

	p := newPeer(77)
	p.sync(t, w)
	l = apply(t, w, p.edit(t, func(b *Blocks) error {
		if err := b.SetProp("page", "done", true); err != nil {
			return err
		}
		_, err := b.Create(NewBlock{ID: "child", Flavour: "f", Parent: "page"})
		return err
	})[0], "peer")
	want = append(want, step{l, "peer", Updated, []string{"prop:done", "sys:children"}, []uint64{77}})
	l = transact(t, w, func(b *Blocks) error { return b.Delete("page", true) })
	want = append(want, step{l, "local", Deleted, nil, nil})
	transact(t, w, func(b *Blocks) error { return b.SetProp("other", "x", 1) })

	check := func(got []HistoryEntry, want []step) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("history has %d entries, want %d: %+v", len(got), len(want), got)
		}
		for i, g := range got {
			w := want[i]
			if g.LSN != w.lsn || g.Origin != w.origin || g.Op != w.op || !reflect.DeepEqual(g.Fields, w.fields) ||
				!reflect.DeepEqual(g.Clients, w.clients) && len(g.Clients)+len(w.clients) > 0 || g.Time.IsZero() {
				t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
			}
		}
	}
	got, err := w.History(bg, "page", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(got, want)

	// Paging: two at a time, each page starting after the last entry.
	var paged []HistoryEntry
	for from := oplog.LSN(0); ; {
		page, err := w.History(bg, "page", HistoryOptions{From: from, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d entries with limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		from = page[len(page)-1].LSN + 1
	}
	check(paged, want)

	// A range in the middle; an unknown block; another space.
	got, err = w.History(bg, "page", HistoryOptions{From: want[1].lsn, To: want[2].lsn})
	if err != nil {
		t.Fatal(err)
	}
	check(got, want[1:3])
	for _, o := range []HistoryOptions{{}, {Space: "elsewhere"}} {
		if got, err := w.History(bg, "nope", o); err != nil || len(got) != 0 {
			t.Fatalf("unknown block: %v, %v", got, err)
		}
	}
	last, _ := w.LastLSN(bg)
	if got, err := w.History(bg, "page", HistoryOptions{From: last + 1}); err != nil || len(got) != 0 {
		t.Fatalf("from the next LSN: %v, %v", got, err)
	}
	if _, err := w.History(bg, "page", HistoryOptions{From: last + 2}); !errors.Is(err, ErrFuture) {
		t.Fatalf("from beyond the next LSN: %v, want ErrFuture", err)
	}

	// The same after a restart (the history is in the log, not in memory).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, opts)
	w = workspace(t, s, "ws")
	got, err = w.History(bg, "page", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(got, want)
}
