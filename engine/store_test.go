package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

func TestNameEscaping(t *testing.T) {
	for _, name := range []string{"ws", "My Workspace", "../etc", "a/b", `a\b`, ".", "..", "con", "NUL", "com1", "é漢字",
		"LOCK", "%41", "a.b", strings.Repeat("x", MaxNameLen)} {
		dir := escapeName(name)
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q): %v", name, err)
			continue
		}
		for _, c := range []byte(dir) {
			if !plainByte(c) && c != '%' && !(c >= 'A' && c <= 'F') {
				t.Errorf("escapeName(%q) = %q holds %q", name, dir, c)
			}
		}
		if dir == "." || dir == ".." || dir == "LOCK" || windowsDevices[strings.ToLower(dir)] {
			t.Errorf("escapeName(%q) = %q", name, dir)
		}
		if back, ok := unescapeName(dir); !ok || back != name {
			t.Errorf("unescapeName(%q) = %q, %v; want %q", dir, back, ok, name)
		}
	}
	for _, bad := range []string{"", "a\x00b", "tab\t", "\xff", strings.Repeat("x", MaxNameLen+1), strings.Repeat("é", 50)} {
		if err := checkName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("checkName(%q): %v", bad, err)
		}
	}
	for _, dir := range []string{"LOCK", "a%2", "%zz", "A", "%61"} {
		if name, ok := unescapeName(dir); ok {
			t.Errorf("unescapeName(%q) = %q", dir, name)
		}
	}
}

func TestStoreWorkspaces(t *testing.T) {
	fs := vfs.NewMem()
	s := openStore(t, testOptions(fs))
	names := []string{"../escape", "Alpha", "beta", "con"}
	for _, n := range names {
		workspace(t, s, n)
	}
	got, err := s.Workspaces()
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(slices.Values(names)); !slices.Equal(got, want) {
		t.Fatalf("Workspaces() = %q, want %q", got, want)
	}
	if entries, _ := fs.List("/"); !slices.Equal(entries, []string{"store"}) {
		t.Fatalf("a workspace escaped the store directory: / holds %q", entries)
	}
	// One store per directory.
	if _, err := Open("/store", testOptions(fs)); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	if _, err := s.Workspace(bg, ""); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("empty name: %v", err)
	}
}

func TestStoreClose(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := <-sub.C; ok || !errors.Is(sub.Err(), ErrClosed) {
		t.Fatalf("subscription after Close: err %v", sub.Err())
	}
	if _, err := s.Workspace(bg, "ws"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Workspace after Close: %v", err)
	}
	if _, err := w.Transact(bg, "", func(*crdt.Txn, *Blocks) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transact after Close: %v", err)
	}
	if _, _, err := w.Get(bg, "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

func TestClientIDPersisted(t *testing.T) {
	fs := vfs.NewMem()
	calls := 0
	opts := testOptions(fs)
	opts.ClientID = func(name string) (uint64, error) { calls++; return 4242, nil }
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
	s.Close()
	s2 := openStore(t, opts)
	w2 := workspace(t, s2, "ws")
	if id, _ := w2.ClientID(bg); id != 4242 || calls != 1 {
		t.Fatalf("client id %d after reopen, ClientID called %d times", id, calls)
	}
	// Local edits continue the same client's clock.
	transact(t, w2, func(b *Blocks) error { return b.SetProp("a", "x", 1) })
	sv, _ := crdt.DecodeStateVector(stateVector(t, w2))
	if len(sv) != 1 || sv[4242] == 0 {
		t.Fatalf("state vector %v", sv)
	}
	// Random ids by default.
	s3 := openStore(t, &Options{FS: vfs.NewMem()})
	id, _ := workspace(t, s3, "r").ClientID(bg)
	if id == 0 || id >= 1<<32 {
		t.Fatalf("random client id %d", id)
	}
}

// TestIdleCloseAndReopen closes an idle workspace and checks the handle
// reopens it with the same state; a subscribed workspace is never idle.
func TestIdleCloseAndReopen(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
	state := encodeState(t, w)
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CloseIdle(0); n != 0 {
		t.Fatalf("closed %d workspaces with a subscriber", n)
	}
	sub.Close()
	if n := s.CloseIdle(time.Hour); n != 0 {
		t.Fatalf("closed %d recently used workspaces", n)
	}
	if n := s.CloseIdle(0); n != 1 || w.live.Load() != nil {
		t.Fatalf("CloseIdle closed %d", n)
	}
	if got := get(t, w, "a"); got.Flavour != "f" {
		t.Fatalf("after reopen: %+v", got)
	}
	if got := encodeState(t, w); string(got) != string(state) {
		t.Fatal("state changed across idle close")
	}

	// The background closer, on real time.
	s2 := openStore(t, &Options{FS: vfs.NewMem(), IdleTimeout: 20 * time.Millisecond})
	w2 := workspace(t, s2, "ws")
	transact(t, w2, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
	deadline := time.Now().Add(5 * time.Second)
	for w2.live.Load() != nil {
		if time.Now().After(deadline) {
			t.Fatal("idle workspace not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := get(t, w2, "a"); got.Flavour != "f" {
		t.Fatalf("after background close: %+v", got)
	}
}

func TestStoreStats(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	if st := s.Stats(); st.LoggedRecords != 0 || st.LoggedBytes != 0 {
		t.Fatalf("fresh store: %+v", st)
	}
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
	transact(t, w, func(b *Blocks) error { return b.SetProp("a", "x", 1) })
	var bytes int64
	for _, r := range logRecords(t, w) {
		bytes += int64(len(r.Data))
	}
	st := s.Stats()
	if st.LoggedRecords != 2 || st.LoggedBytes != bytes || st.OpenWorkspaces != 1 {
		t.Fatalf("after two records of %d bytes: %+v", bytes, st)
	}
	if seg := w.live.Load().log.Stats().SegmentBytes; st.OpenLogBytes != seg || seg <= 0 {
		t.Fatalf("open log bytes %d, the workspace's log %d", st.OpenLogBytes, seg)
	}
	if st.IndexTime <= 0 {
		t.Fatalf("two indexed changes, index time %v", st.IndexTime)
	}
	// A reader flushing the queue counts too.
	w.View(bg, func(v *ReadView) error { v.Index(); return nil })
	if after := s.Stats().IndexTime; after <= st.IndexTime {
		t.Fatalf("index read after two changes: index time %v, before %v", after, st.IndexTime)
	}
}

// TestGroupSync: workspaces written at once on the real disk with
// GroupSync share fsync rounds, and everything they acknowledged is there
// after reopening.
func TestGroupSync(t *testing.T) {
	opts := testOptions(vfs.Default)
	opts.GroupSync = true
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	const spaces, writes = 6, 20
	var wg sync.WaitGroup
	for i := range spaces {
		wg.Go(func() {
			w, err := s.Workspace(bg, fmt.Sprint("ws", i))
			if err != nil {
				t.Error(err)
				return
			}
			for j := range writes {
				if _, err := w.Transact(bg, "t", func(_ *crdt.Txn, b *Blocks) error {
					_, err := b.Create(NewBlock{ID: BlockID(fmt.Sprint("b", j)), Flavour: "f"})
					return err
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.SyncedLogs < spaces*writes || st.SyncRounds == 0 || st.SyncRounds > st.SyncedLogs {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d log fsyncs in %d rounds", st.SyncedLogs, st.SyncRounds)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, testOptions(vfs.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range spaces {
		w := workspace(t, s, fmt.Sprint("ws", i))
		if err := w.View(bg, func(v *ReadView) error {
			if v.Len() != writes {
				return fmt.Errorf("ws%d: %d blocks", i, v.Len())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.SyncRounds != 0 {
		t.Fatalf("a store without GroupSync counts rounds: %+v", st)
	}
}

// StoreStats.LogSyncs counts every fsync of every log the store opened,
// closed workspaces' included: it never goes down.
func TestStoreLogSyncs(t *testing.T) {
	s := openStore(t, &Options{FS: vfs.NewMem(), Durability: oplog.SyncAlways, IdleTimeout: 20 * time.Millisecond})
	w := workspace(t, s, "ws")
	createBlocks(t, w, 3, NewBlock{Flavour: "f"})
	open := s.Stats().LogSyncs
	if open < 3 {
		t.Fatalf("%d fsyncs for 3 transactions at durability always", open)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.live.Load() != nil { // the idle closer closes it
		if time.Now().After(deadline) {
			t.Fatal("idle workspace not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Stats(); st.LogSyncs < open || st.OpenWorkspaces != 0 {
		t.Fatalf("after closing the workspace: %d fsyncs (was %d), %d open", st.LogSyncs, open, st.OpenWorkspaces)
	}
}

// TestStoreJournal: a store with Options.Journal keeps its journal under
// <dir>/JOURNAL (not a workspace), leaves no journal file after a clean
// Close, and a store opened without the option then creates none.
func TestStoreJournal(t *testing.T) {
	fs := vfs.NewMem()
	opts := testOptions(fs)
	opts.Journal = true
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	createBlocks(t, w, 3, NewBlock{Flavour: "f", Creator: "u"})
	if st := s.Stats(); st.SyncRounds == 0 || st.SyncedLogs == 0 {
		t.Fatalf("journal rounds %d, logs %d", st.SyncRounds, st.SyncedLogs)
	}
	if names, _ := s.Workspaces(); !slices.Equal(names, []string{"ws"}) {
		t.Fatalf("workspaces %q", names)
	}
	jfiles := func() []string {
		names, err := fs.List("/store/" + oplog.JournalDir)
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(names, func(n string) bool { return !strings.HasSuffix(n, oplog.JournalExt) })
	}
	if got := jfiles(); len(got) != 1 {
		t.Fatalf("journal files while open: %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := jfiles(); len(got) != 0 {
		t.Fatalf("journal files after Close: %q", got)
	}
	s = openStore(t, testOptions(fs))
	if got := jfiles(); len(got) != 0 {
		t.Fatalf("a store without the journal made journal files: %q", got)
	}
	w = workspace(t, s, "ws")
	n := 0
	if err := w.View(bg, func(v *ReadView) error { n = v.Len(); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d blocks after reopening, want 3", n)
	}
}
