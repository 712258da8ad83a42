package jetstream

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
)

// TestSingleNodeRoundTrip: one embedded single-node server (with a client
// port) and a second store connected to it as an external server. A write
// on either side reaches the other, a workspace created on one side
// appears on the other, and nothing is applied twice.
func TestSingleNodeRoundTrip(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1})
	url := a.node.ClientURL()
	if url == "" {
		t.Fatal("no client URL with ClientPort -1")
	}
	b := newTestNode(t, "b", Options{URL: url})

	a.createBlock("notes", "from-a", "hello from a")
	waitBlock(t, b, "notes", "from-a")
	b.createBlock("notes", "from-b", "hello from b")
	waitBlock(t, a, "notes", "from-b")
	b.createBlock("only-on-b", "x", "new workspace")
	waitBlock(t, a, "only-on-b", "x")
	states := waitConverged(t, a, b)
	if len(states) != 2 {
		t.Errorf("converged on %d workspaces, want 2", len(states))
	}
	if title, _ := a.blockTitle("notes", "from-b"); title != "hello from b" {
		t.Errorf("a: from-b title = %q", title)
	}

	sa, sb := a.status(), b.status()
	if sa.Mode != "single" || sb.Mode != "external" {
		t.Errorf("modes %q, %q", sa.Mode, sb.Mode)
	}
	if sa.Stream == nil || sa.Stream.Replicas != 1 || sa.Stream.LastSeq != 3 {
		t.Errorf("stream = %+v, want R1 with 3 messages", sa.Stream)
	}
	// Three local writes, three messages; each node applied the other's
	// and skipped its own.
	if sa.Published != 1 || sa.Applied != 2 || sa.Skipped != 1 {
		t.Errorf("a: published %d applied %d skipped %d, want 1 2 1", sa.Published, sa.Applied, sa.Skipped)
	}
	if sb.Published != 2 || sb.Applied != 1 || sb.Skipped != 2 {
		t.Errorf("b: published %d applied %d skipped %d, want 2 1 2", sb.Published, sb.Applied, sb.Skipped)
	}
	// Every record was logged once on each side: 2 in "notes", 1 in
	// "only-on-b".
	for _, tn := range []*testNode{a, b} {
		if n := tn.lastLSN("notes"); n != 2 {
			t.Errorf("%s: notes has %d records, want 2", tn.name, n)
		}
		if n := tn.lastLSN("only-on-b"); n != 1 {
			t.Errorf("%s: only-on-b has %d records, want 1", tn.name, n)
		}
	}
}

// TestSingleNodeAlone: the default topology, nothing listening, restarts
// keep the incarnation id and the positions.
func TestSingleNodeAlone(t *testing.T) {
	a := newTestNode(t, "solo", Options{})
	if u := a.node.ClientURL(); u != "" {
		t.Errorf("ClientURL = %q, want none", u)
	}
	id := a.node.NodeID()
	for i := range 5 {
		a.createBlock("w", fmt.Sprint("b", i), "t")
	}
	waitConverged(t, a)
	st := a.status()
	if st.Published != 5 || st.Skipped != 5 || st.Applied != 0 || st.Stream.LastSeq != 5 {
		t.Errorf("status %+v: want 5 published, 5 own skipped, 5 in the stream", st)
	}
	a.stop()
	a.start()
	if a.node.NodeID() != id {
		t.Errorf("node id changed over a restart: %s -> %s", id, a.node.NodeID())
	}
	a.createBlock("w", "after", "t")
	waitConverged(t, a)
	st = a.status()
	// Nothing republished or re-read after the restart: one new message.
	if st.Published != 1 || st.Skipped != 1 || st.Stream.LastSeq != 6 {
		t.Errorf("after restart: %+v, want 1 published, 1 skipped, 6 in the stream", st)
	}
}

// cluster starts n embedded nodes forming one JetStream cluster on
// loopback.
func cluster(t *testing.T, n int) []*testNode {
	t.Helper()
	ports := freePorts(t, n)
	var peers []string
	for _, p := range ports {
		peers = append(peers, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := make([]*testNode, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			nodes[i] = newTestNode(t, fmt.Sprintf("n%d", i+1), Options{
				ClusterAddr: fmt.Sprintf("127.0.0.1:%d", ports[i]),
				Peers:       peers,
			})
		})
	}
	wg.Wait()
	for _, tn := range nodes {
		if tn == nil {
			t.FailNow()
		}
	}
	return nodes
}

// TestClusterConverges: three embedded servers form a cluster (R3
// stream); concurrent writes on all three, to shared and to per-node
// workspaces, including concurrent typing into one rich text, end with
// identical state vectors and encoded states everywhere.
func TestClusterConverges(t *testing.T) {
	nodes := cluster(t, 3)
	start := time.Now()
	// The rich text exists before the concurrent typing: concurrent
	// creations of one map key keep one of the values (CRDT semantics).
	_, err := nodes[0].ws("shared").Transact(bg, "test", func(_ *crdt.Txn, b *engine.Blocks) error {
		_, err := b.Create(engine.NewBlock{ID: "doc", Flavour: "affine:page",
			Props: map[string]any{"title": "shared doc", "text": engine.RichText{Text: "."}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes[1:] {
		waitBlock(t, tn, "shared", "doc")
	}
	t.Logf("cluster formed and first write visible everywhere after %v", time.Since(start))

	const perNode = 30
	var wg sync.WaitGroup
	for _, tn := range nodes {
		wg.Go(func() {
			for i := range perNode {
				tn.createBlock("shared", fmt.Sprintf("%s-%d", tn.name, i), tn.name)
				tn.typeText("shared", "doc", fmt.Sprintf("<%s%d>", tn.name, i))
				if i%10 == 0 {
					tn.createBlock("own-"+tn.name, fmt.Sprint(i), "x")
				}
			}
		})
	}
	wg.Wait()
	states := waitConverged(t, nodes...)
	t.Logf("converged %v after the writes", time.Since(start))
	if len(states) != 4 {
		t.Errorf("%d workspaces, want 4 (shared + one per node)", len(states))
	}
	st := nodes[0].status()
	if st.Stream.Replicas != 3 || len(st.Stream.Peers) != 2 || st.Stream.Leader == "" {
		t.Errorf("stream %+v, want R3 with a leader and 2 peers", st.Stream)
	}
	// Every update was logged exactly once per node: the first block,
	// 2 records per iteration per node, and in each own- workspace 3.
	for _, tn := range nodes {
		if got, want := tn.lastLSN("shared"), 1+3*perNode*2; got != oplogLSN(want) {
			t.Errorf("%s: shared has %d records, want %d", tn.name, got, want)
		}
		for _, o := range nodes {
			if got := tn.lastLSN("own-" + o.name); got != 3 {
				t.Errorf("%s: own-%s has %d records, want 3", tn.name, o.name, got)
			}
		}
	}
	// The node reports: all three, nothing to consume or publish.
	deadline := time.Now().Add(convergeTimeout)
	for {
		rep, err := Cluster(bg, nodes[1].node.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		ok := len(rep.Nodes) == 3 && len(rep.Replicas) == 3 && rep.Stream.Leader != ""
		for _, n := range rep.Nodes {
			ok = ok && n.Lag == 0 && n.Backlog == 0 && n.Workspaces == 4 && n.Mode == "cluster"
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster report never settled: %+v", rep)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The typed text holds every node's insertions.
	b, ok, err := nodes[2].ws("shared").Get(bg, "doc")
	if err != nil || !ok {
		t.Fatalf("doc block: %v %v", ok, err)
	}
	text := fmt.Sprint(b.Props["text"])
	for _, tn := range nodes {
		for i := range perNode {
			if !contains(text, fmt.Sprintf("<%s%d>", tn.name, i)) {
				t.Fatalf("text lacks <%s%d>: %s", tn.name, i, text)
			}
		}
	}
}
