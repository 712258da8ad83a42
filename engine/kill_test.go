package engine

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"octobase/engine/crdt"
)

var engineKillRounds = flag.Int("engine.kill.rounds", 3, "rounds of TestEngineSIGKILL")

const (
	engineKillChildEnv   = "OCTOBASE_ENGINE_KILL_DIR"
	engineKillJournalEnv = "OCTOBASE_ENGINE_KILL_JOURNAL"
)

const killWriter = 99 // the client id of the child's first writer's edits

// killWriters is how many goroutines of the child write at once (each as
// client killWriter+k into text "t<k>"), so records are group-committed.
const killWriters = 4

// TestEngineSIGKILL applies updates through Workspace.Apply in a child
// process (this test binary re-executed), from killWriters concurrent
// writers sharing fsyncs, and kills it with SIGKILL at a random moment. The
// child reports each writer's clock after each acknowledged Apply; after
// reopening the store, the workspace must hold at least every acknowledged
// edit of every writer, in order, and nothing else. Rounds reuse
// the directory, so each recovery (snapshot + log tail) builds on the last.
func TestEngineSIGKILL(t *testing.T) {
	if os.Getenv(engineKillChildEnv) != "" {
		t.Skip("running as the child")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var maxAcked [killWriters]uint32
	for round := range *engineKillRounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEngineKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), engineKillChildEnv+"="+dir)
		if round%2 == 1 {
			// Odd rounds commit through the store's journal; the next
			// reopen replays it without using one.
			cmd.Env = append(cmd.Env, engineKillJournalEnv+"=1")
		}
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		acked := maxAcked
		first := make(chan struct{})
		var once sync.Once
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var k int
				var clock uint32
				if n, _ := fmt.Sscanf(sc.Text(), "ACK %d %d", &k, &clock); n == 2 && k >= 0 && k < killWriters {
					mu.Lock()
					acked[k] = max(acked[k], clock)
					mu.Unlock()
					once.Do(func() { close(first) })
				}
			}
		}()
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child acknowledged nothing in 30 s")
		}
		time.Sleep(time.Duration(50+rng.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
		mu.Lock()
		maxAcked = acked
		mu.Unlock()

		s, err := Open(dir, &Options{IdleTimeout: -1})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		w, err := s.Workspace(context.Background(), "w")
		if err != nil {
			t.Fatal(err)
		}
		state, err := w.EncodeStateAsUpdate(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		d := crdt.MustNewDoc(crdt.Options{ClientID: 1})
		if err := d.ApplyUpdate(state, nil); err != nil {
			t.Fatal(err)
		}
		for k := range killWriters {
			got := d.StateVector()[killWriter+uint64(k)]
			if got < maxAcked[k] {
				t.Fatalf("round %d: workspace has %d edits of writer %d, %d were acknowledged", round, got, k, maxAcked[k])
			}
			txt, _ := d.GetText(fmt.Sprint("t", k))
			if want := killText(int(got)); txt.String() != want {
				t.Fatalf("round %d: text of writer %d is not the expected prefix (%d units)", round, k, txt.Len())
			}
			t.Logf("round %d: writer %d: %d acknowledged, %d recovered", round, k, maxAcked[k], got)
			maxAcked[k] = got
		}
	}
}

// killText is the text after n appended characters.
func killText(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(byte('a' + i%26))
	}
	return b.String()
}

// TestEngineKillChild is the child of TestEngineSIGKILL: killWriters
// goroutines append one character per update to their own text, forever,
// each reporting its acknowledged clocks.
func TestEngineKillChild(t *testing.T) {
	dir := os.Getenv(engineKillChildEnv)
	if dir == "" {
		t.Skip("only run as TestEngineSIGKILL's child")
	}
	ctx := context.Background()
	s, err := Open(dir, &Options{IdleTimeout: -1, SnapshotRecords: 200, Journal: os.Getenv(engineKillJournalEnv) != ""})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Workspace(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	state, err := w.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // stdout lines
	errs := make(chan error, killWriters)
	for k := range killWriters {
		go func() { errs <- killWrite(ctx, w, state, k, &mu) }()
	}
	t.Fatal(<-errs)
}

// killWrite is one writer of TestEngineKillChild.
func killWrite(ctx context.Context, w *Workspace, state []byte, k int, mu *sync.Mutex) error {
	// The state holds our own earlier edits: keep the id (yjs would pick a
	// new one, seeing its id in a remote update).
	id := killWriter + uint64(k)
	d := crdt.MustNewDoc(crdt.Options{ClientID: id, NewClientID: func(old uint64) uint64 { return old }})
	if err := d.ApplyUpdate(state, nil); err != nil {
		return err
	}
	txt, _ := d.GetText(fmt.Sprint("t", k))
	var pending []byte
	d.OnUpdate(func(u []byte, tx *crdt.Txn) {
		if tx.Local {
			pending = append([]byte(nil), u...)
		}
	})
	for i := txt.Len(); ; i++ {
		if err := txt.Insert(nil, i, string(rune('a'+i%26)), nil); err != nil {
			return err
		}
		if _, err := w.Apply(ctx, pending, "kill-test"); err != nil {
			return err
		}
		mu.Lock()
		fmt.Printf("ACK %d %d\n", k, i+1)
		mu.Unlock()
	}
}
