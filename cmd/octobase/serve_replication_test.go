package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/internal/freeport"
	"octobase/replication/ysync"
)

func TestServeReplicationFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--no-replication", "--cluster", "127.0.0.1:6222"},
		{"--nats-url", "nats://127.0.0.1:4222", "--cluster", "127.0.0.1:6222"},
		{"--peers", "nats://127.0.0.1:6223"},
		{"--nats-port", "70000"},
		{"--snapshot-interval", "-1s"},
		{"--cluster", "127.0.0.1:6222", "--peers", "nats://127.0.0.1:6223"}, // no --node-name
	} {
		r := runCLI(t, nil, append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, args...)...)
		if r.code != exitUsage {
			t.Errorf("serve %v: exit %d, want %d; stderr %q", args, r.code, exitUsage, r.stderr)
		}
	}
}

// replServed is a node running `octobase serve` with replication, in this
// process or another.
type replServed struct {
	name, addr string
}

// startReplServe runs a node in-process until the test ends.
func startReplServe(t *testing.T, name string, args ...string) *replServed {
	t.Helper()
	r := &serveRunner{getenv: func(string) string { return "" }}
	args = append([]string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--node-name", name}, args...)
	return &replServed{name: name, addr: startBackground(t, name, r, &r.ready, args...).addr}
}

// post applies a yjs update through the HTTP API.
func (n *replServed) post(t *testing.T, ws string, u []byte) {
	resp, err := http.Post("http://"+n.addr+"/api/workspaces/"+ws+"/update", "application/octet-stream", bytes.NewReader(u))
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: POST update: status %d", n.name, resp.StatusCode)
	}
}

// state reads the workspace's encoded state through the HTTP API.
func (n *replServed) state(t *testing.T, ws string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + n.addr + "/api/workspaces/" + ws + "/update")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil // not there yet
	}
	return b
}

// typingUpdates returns n updates, each inserting tag+i at the start of
// text "t" of one document with client id client.
func typingUpdates(t *testing.T, client uint64, tag string, n int) [][]byte {
	doc := crdt.MustNewDoc(crdt.Options{ClientID: client})
	var out [][]byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { out = append(out, append([]byte(nil), u...)) })
	for i := range n {
		doc.Transact(nil, func(tx *crdt.Txn) {
			x, _ := doc.GetText("t")
			if err := x.Insert(tx, 0, fmt.Sprintf("<%s%d>", tag, i), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	return out
}

// waitSameState polls until every node serves the same encoded state of
// ws, whose text "t" holds every want string. It waits up to two minutes:
// under a loaded `make test` (2 cores, -race), JetStream once took a
// minute after a node's SIGKILL to elect its updates stream a leader
// (TestServeReplicationFaults, 2026-11-26), though it converges in a few
// seconds otherwise.
func waitSameState(t *testing.T, ws string, want []string, nodes ...*replServed) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		why := ""
		first := nodes[0].state(t, ws)
		for _, n := range nodes[1:] {
			if !bytes.Equal(first, n.state(t, ws)) {
				why = nodes[0].name + " and " + n.name + " differ"
				break
			}
		}
		if why == "" {
			d := crdt.MustNewDoc(crdt.Options{ClientID: 999})
			if err := d.ApplyUpdate(first, nil); err != nil {
				t.Fatal(err)
			}
			x, _ := d.GetText("t")
			for _, s := range want {
				if !strings.Contains(x.String(), s) {
					why = "text lacks " + s
					break
				}
			}
			if why == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: %s", why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback port outside the ephemeral range that is
// free now.
func freeReplPorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Loopback(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// runTyping writes every node's updates concurrently, the first half
// over HTTP and the rest over a y-websocket connection, and waits until
// all nodes serve the same state holding all of them.
func runTyping(t *testing.T, nodes []*replServed, perNode int) {
	var want []string
	var wg sync.WaitGroup
	for i, n := range nodes {
		ups := typingUpdates(t, uint64(100+i), n.name, perNode)
		for j := range perNode {
			want = append(want, fmt.Sprintf("<%s%d>", n.name, j))
		}
		wg.Go(func() {
			half := len(ups) / 2
			for _, u := range ups[:half] {
				n.post(t, "w", u)
			}
			n.sendWS(t, "w", ups[half:])
		})
	}
	wg.Wait()
	waitSameState(t, "w", want, nodes...)
}

// sendWS sends updates as y-protocols Update messages over the node's
// y-websocket endpoint, in order, then closes the connection cleanly (the
// server handles every message before the close frame).
func (n *replServed) sendWS(t *testing.T, ws string, ups [][]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.addr+"/sync/"+ws, nil)
	if err != nil {
		t.Errorf("%s: dial: %v", n.name, err)
		return
	}
	defer c.CloseNow()
	for _, u := range ups {
		if err := c.Write(ctx, websocket.MessageBinary, ysync.AppendUpdate(nil, u)); err != nil {
			t.Errorf("%s: write: %v", n.name, err)
			return
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Logf("%s: close: %v", n.name, err)
	}
}

// TestServeReplicationPair: one serve with the embedded server's client
// port open, another connected to it with --nats-url; updates posted to
// both end up in the same state on both.
func TestServeReplicationPair(t *testing.T) {
	port := freeReplPorts(t, 1)[0]
	a := startReplServe(t, "a", "--nats-port", strconv.Itoa(port))
	b := startReplServe(t, "b", "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", port))
	runTyping(t, []*replServed{a, b}, 10)

	// /metrics reports replication: connected, and (once caught up) no lag.
	for _, n := range []*replServed{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + n.addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := string(body)
			if strings.Contains(m, "\noctobase_replication_connected 1\n") &&
				strings.Contains(m, "\noctobase_replication_consumer_lag_messages 0\n") &&
				strings.Contains(m, "\noctobase_replication_publish_backlog_records 0\n") &&
				strings.Contains(m, "\noctobase_oplog_records_total 20\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /metrics lacks the replication gauges or they never settled:\n%s", n.name, m)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// cluster status sees the stream and both nodes once they reported.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runCLI(t, nil, "cluster", "status", "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", port))
		out := r.stdout
		if r.code == exitOK && strings.Contains(out, "stream OCTO_UPDATES: 20 messages") &&
			strings.Contains(out, "\na     single") && strings.Contains(out, "\nb     external") {
			t.Logf("cluster status:\n%s", out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster status: exit %d\n%s%s", r.code, out, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeReplicationCluster: three serve instances form a cluster with
// --cluster and --peers; concurrent HTTP writes on all three converge.
func TestServeReplicationCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("forms a 3-node JetStream cluster (seconds)")
	}
	ports := freeReplPorts(t, 3)
	var peers []string
	for _, p := range ports {
		peers = append(peers, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := make([]*replServed, 3)
	for i := range 3 {
		nodes[i] = startReplServe(t, fmt.Sprintf("n%d", i+1),
			"--cluster", fmt.Sprintf("127.0.0.1:%d", ports[i]), "--peers", strings.Join(peers, ","))
	}
	runTyping(t, nodes, 10)
}
