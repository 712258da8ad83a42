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

const engineKillChildEnv = "OCTOBASE_ENGINE_KILL_DIR"

const killWriter = 99 // the client id of the child's edits

// TestEngineSIGKILL applies updates through Workspace.Apply in a child
// process (this test binary re-executed) and kills it with SIGKILL at a
// random moment. The child reports the clock of its edits after each
// acknowledged Apply; after reopening the store, the workspace must hold at
// least every acknowledged edit, in order, and nothing else. Rounds reuse
// the directory, so each recovery (snapshot + log tail) builds on the last.
func TestEngineSIGKILL(t *testing.T) {
	if os.Getenv(engineKillChildEnv) != "" {
		t.Skip("running as the child")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	maxAcked := uint32(0)
	for round := range *engineKillRounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEngineKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), engineKillChildEnv+"="+dir)
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
				var clock uint32
				if n, _ := fmt.Sscanf(sc.Text(), "ACK %d", &clock); n == 1 {
					mu.Lock()
					acked = max(acked, clock)
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
		got := d.StateVector()[killWriter]
		if got < maxAcked {
			t.Fatalf("round %d: workspace has %d edits of the writer, %d were acknowledged", round, got, maxAcked)
		}
		txt, _ := d.GetText("t")
		if want := killText(int(got)); txt.String() != want {
			t.Fatalf("round %d: text is not the expected prefix (%d units)", round, txt.Len())
		}
		t.Logf("round %d: %d acknowledged, %d recovered", round, maxAcked, got)
		maxAcked = got
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

// TestEngineKillChild is the child of TestEngineSIGKILL: it appends one
// character per update, forever, reporting each acknowledged clock.
func TestEngineKillChild(t *testing.T) {
	dir := os.Getenv(engineKillChildEnv)
	if dir == "" {
		t.Skip("only run as TestEngineSIGKILL's child")
	}
	ctx := context.Background()
	s, err := Open(dir, &Options{IdleTimeout: -1, SnapshotRecords: 200})
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
	// The state holds our own earlier edits: keep the id (yjs would pick a
	// new one, seeing its id in a remote update).
	d := crdt.MustNewDoc(crdt.Options{ClientID: killWriter, NewClientID: func(old uint64) uint64 { return old }})
	if err := d.ApplyUpdate(state, nil); err != nil {
		t.Fatal(err)
	}
	txt, _ := d.GetText("t")
	var pending []byte
	d.OnUpdate(func(u []byte, tx *crdt.Txn) {
		if tx.Local {
			pending = append([]byte(nil), u...)
		}
	})
	for i := txt.Len(); ; i++ {
		if err := txt.Insert(nil, i, string(rune('a'+i%26)), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Apply(ctx, pending, "kill-test"); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ACK %d\n", i+1)
	}
}
