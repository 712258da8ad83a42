package oplog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"octobase/oplog/vfs"
)

// fakeFile is a vfs.File that only has a name (GroupSyncer tests replace
// the sync itself).
type fakeFile struct {
	vfs.File
	name string
}

// TestGroupSyncerRounds: callers that arrive while a round runs are served
// together by the next round, in one call; a round's error reaches each of
// its callers.
func TestGroupSyncerRounds(t *testing.T) {
	var g GroupSyncer
	release := make(chan struct{})
	var mu sync.Mutex
	var calls [][]string
	boom := errors.New("boom")
	g.syncAll = func(files []vfs.File) error {
		mu.Lock()
		var names []string
		for _, f := range files {
			names = append(names, f.(fakeFile).name)
		}
		calls = append(calls, names)
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			<-release // the first round blocks until the others queued
			return nil
		}
		return boom
	}
	firstDone := make(chan error, 1)
	go func() { firstDone <- g.Sync(fakeFile{name: "first"}) }()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) == 1 })

	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- g.Sync(fakeFile{name: fmt.Sprint("f", i)}) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.next != nil && len(g.next.files) == n })
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first round: %v", err)
	}
	for range n {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("second round: %v, want its error", err)
		}
	}
	if len(calls) != 2 || len(calls[0]) != 1 || len(calls[1]) != n {
		t.Fatalf("rounds %v", calls)
	}
	if st := g.Stats(); st.Rounds != 2 || st.Files != n+1 {
		t.Fatalf("stats %+v", st)
	}
	// Idle again: the next caller leads a round of its own at once.
	if err := g.Sync(fakeFile{name: "later"}); !errors.Is(err, boom) || len(calls) != 3 {
		t.Fatalf("later: %v, %d rounds", err, len(calls))
	}
}

// TestGroupSyncerConcurrent (for -race): every call is served by exactly
// one round that started after it.
func TestGroupSyncerConcurrent(t *testing.T) {
	var g GroupSyncer
	var mu sync.Mutex
	served := map[string]int{}
	g.syncAll = func(files []vfs.File) error {
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		for _, f := range files {
			served[f.(fakeFile).name]++
		}
		mu.Unlock()
		return nil
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("w%d-%d", w, i)
				if err := g.Sync(fakeFile{name: name}); err != nil {
					t.Error(err)
				}
				mu.Lock()
				ok := served[name] == 1
				mu.Unlock()
				if !ok {
					t.Errorf("%s returned before its round ran", name)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := g.Stats(); st.Files != 1600 || st.Rounds > st.Files {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%+v", g.Stats())
}

// TestGroupSyncerLogs: logs on the real disk sharing a GroupSyncer, each
// appending from its own goroutine with SyncAlways, keep every record.
func TestGroupSyncerLogs(t *testing.T) {
	var g GroupSyncer
	dir := t.TempDir()
	const logs, records = 6, 50
	ls := make([]*Log, logs)
	for i := range ls {
		l, err := Open(filepath.Join(dir, fmt.Sprint("log", i)), &Options{Syncer: &g})
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
	}
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			for r := range records {
				if _, err := l.Append(context.Background(), Record{Data: []byte(fmt.Sprintf("log %d record %d", i, r))}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i, l := range ls {
		if d := l.Stats().DurableLSN; d != records {
			t.Errorf("log %d: durable LSN %d", i, d)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l, err := Open(filepath.Join(dir, fmt.Sprint("log", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(readAll(t, l, 0)); got != records {
			t.Errorf("log %d: %d records after reopening", i, got)
		}
		l.Close()
	}
	st := g.Stats()
	if st.Files < logs*records || st.Rounds > st.Files {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d fsyncs needed, served by %d rounds", st.Files, st.Rounds)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
