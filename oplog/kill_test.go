package oplog

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"octobase/oplog/oplogtest"
	"octobase/oplog/vfs"
)

var killRounds = flag.Int("kill.rounds", 3, "rounds of TestSIGKILL")

const killChildEnv = "OPLOG_KILL_CHILD_DIR"

// TestSIGKILL appends from a child process (this test binary re-executed)
// in SyncAlways mode on the real filesystem, kills it with SIGKILL at a
// random moment, reopens the log and checks that every LSN the child
// reported as acknowledged (over a pipe) is present with the same data.
// Rounds reuse one directory, so each recovery builds on the last. A
// process kill keeps the page cache, so this covers process crashes (torn
// batches between writes, recovery on the real FS), not power loss: the
// crashable in-memory FS covers that.
func TestSIGKILL(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("running as the child")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range *killRounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[LSN]uint32{}
		first := make(chan struct{})
		var once sync.Once
		readDone := make(chan error)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var lsn LSN
				var sum uint32
				if n, _ := fmt.Sscanf(sc.Text(), "ACK %d %d", &lsn, &sum); n == 2 {
					acked[lsn] = sum
					once.Do(func() { close(first) })
				}
			}
			readDone <- sc.Err()
		}()
		select {
		case <-first:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("child acknowledged nothing")
		}
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			t.Fatal(err)
		}
		// Read everything the child wrote before it died, then reap it
		// (Wait closes the pipe, so it must come after the reads).
		if err := <-readDone; err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		l, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		got := map[LSN]uint32{}
		for _, r := range readAll(t, l, 0) {
			got[r.LSN] = crc32.ChecksumIEEE(r.Data)
		}
		for lsn, sum := range acked {
			if g, ok := got[lsn]; !ok || g != sum {
				t.Fatalf("round %d: acknowledged LSN %d missing or different (present %v)", round, lsn, ok)
			}
		}
		rs := l.Recovery()
		l.Close()
		if _, err := Verify(vfs.Default, dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d acknowledged, log ends at %d, torn %d bytes", round, len(acked), rs.LastLSN, rs.TornBytes)
	}
}

// TestKillChild is the child side of TestSIGKILL; it does nothing unless
// started by it.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	l, err := Open(dir, &Options{SegmentSize: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	for g := range 8 {
		go func() {
			gen := oplogtest.NewUpdateGen(uint64(time.Now().UnixNano()) + uint64(g))
			for i := 0; ; i++ {
				data := gen.Next()
				if i%5 == 0 {
					data = gen.Fill(4096)
				}
				lsn, err := l.Append(context.Background(), Record{Origin: "child", Data: data})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child: append:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(w, "ACK %d %d\n", lsn, crc32.ChecksumIEEE(data))
				w.Flush() // before the next append: acknowledged means reported
				mu.Unlock()
			}
		}()
	}
	select {} // until killed
}
