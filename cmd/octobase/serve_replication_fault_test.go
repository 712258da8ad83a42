package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeReplicationFaults runs three `octobase serve` processes as a
// cluster on loopback and, while all three take writes over HTTP, kills
// one with SIGKILL and restarts it, then pauses another with SIGSTOP
// while the others keep writing (one over HTTP, one over y-websocket). Every acknowledged write must end up on
// every node, with identical encoded states. It builds the binary and
// takes 15–25 s, so -short skips it.
func TestServeReplicationFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs 3 processes for 15–25 s; run without -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "octobase")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ports := freeReplPorts(t, 6)
	var peers []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	procs := make([]*serveProc, 3)
	nodes := make([]*replServed, 3)
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		procs[i] = &serveProc{t: t, name: name, bin: bin, log: filepath.Join(dir, name+".log"), args: []string{
			"serve", "--log-level", "debug", "--data", filepath.Join(dir, name), "--addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--node-name", name, "--cluster", fmt.Sprintf("127.0.0.1:%d", ports[3+i]), "--peers", strings.Join(peers, ","),
		}}
		procs[i].start()
		nodes[i] = &replServed{name: name, addr: fmt.Sprintf("127.0.0.1:%d", ports[i])}
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.kill(syscall.SIGCONT)
			p.kill(syscall.SIGTERM)
			p.wait()
			if t.Failed() || os.Getenv("OCTOBASE_FAULT_LOGS") != "" {
				b, _ := os.ReadFile(p.log)
				t.Logf("%s log (tail):\n%s", p.name, tail(string(b), 6000))
			}
		}
	})
	for _, n := range nodes {
		waitHealthy(t, n.addr)
	}
	// The cluster is formed once a first write has reached every node.
	start := time.Now()
	warm := typingUpdates(t, 499, "warm", 1)
	postUntilAcked(t, nodes[0], "w", warm[0])
	waitSameState(t, "w", []string{"<warm0>"}, nodes...)
	t.Logf("cluster formed, first write everywhere after %v", time.Since(start))

	// Phase 1: every node takes 40 updates; n3 is killed after its 10th
	// acknowledged write and restarted a second later. A write that fails
	// is retried until it is acknowledged (updates are idempotent).
	const perNode = 40
	want := []string{"<warm0>"}
	updates := make([][][]byte, 3)
	for i, n := range nodes {
		updates[i] = typingUpdates(t, uint64(500+i), n.name, perNode)
		for j := range perNode {
			want = append(want, fmt.Sprintf("<%s%d>", n.name, j))
		}
	}
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for j, u := range updates[i] {
				postUntilAcked(t, n, "w", u)
				if i == 2 && j == 9 {
					close(killed)
				}
				time.Sleep(10 * time.Millisecond) // spread the writes over the kill
			}
		})
	}
	<-killed
	procs[2].kill(syscall.SIGKILL)
	procs[2].wait()
	time.Sleep(time.Second)
	procs[2].start()
	wg.Wait()
	start = time.Now()
	waitSameState(t, "w", want, nodes...)
	t.Logf("phase 1 (SIGKILL and restart during writes): converged %v after the last write", time.Since(start))

	// Phase 2: n2 paused with SIGSTOP while n1 and n3 keep writing, then
	// resumed and written to as well.
	procs[1].kill(syscall.SIGSTOP)
	more := [][][]byte{typingUpdates(t, 600, "p1", 20), nil, typingUpdates(t, 602, "p3", 20)}
	for _, u := range more[0] {
		postUntilAcked(t, nodes[0], "w", u)
	}
	nodes[2].sendWS(t, "w", more[2]) // n3's share over y-websocket
	for j := range 20 {
		want = append(want, fmt.Sprintf("<p1%d>", j), fmt.Sprintf("<p3%d>", j))
	}
	time.Sleep(3 * time.Second)
	procs[1].kill(syscall.SIGCONT)
	for j, u := range typingUpdates(t, 601, "p2", 10) {
		postUntilAcked(t, nodes[1], "w", u)
		want = append(want, fmt.Sprintf("<p2%d>", j))
	}
	start = time.Now()
	waitSameState(t, "w", want, nodes...)
	t.Logf("phase 2 (SIGSTOP, writes elsewhere, SIGCONT): converged %v after the last write", time.Since(start))
}

// serveProc is one `octobase serve` process, restartable with the same
// arguments.
type serveProc struct {
	t    *testing.T
	name string
	bin  string
	log  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *serveProc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
}

func (p *serveProc) kill(sig syscall.Signal) {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

func (p *serveProc) wait() {
	if p.done == nil {
		return
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill(syscall.SIGKILL)
		<-p.done
	}
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postUntilAcked posts u until the node answers 200 (a node being
// restarted refuses connections meanwhile).
func postUntilAcked(t *testing.T, n *replServed, ws string, u []byte) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Post("http://"+n.addr+"/api/workspaces/"+ws+"/update", "application/octet-stream", bytes.NewReader(u))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: write not acknowledged within a minute: %v", n.name, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
