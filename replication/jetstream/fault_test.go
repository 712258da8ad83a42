package jetstream

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"octobase/oplog"
)

// TestStoppedNodeCatchesUp: a cluster node is stopped (replication and
// store), the others keep writing (to an existing and to a new
// workspace), and the restarted node catches up from its position,
// logging each missed update once.
func TestStoppedNodeCatchesUp(t *testing.T) {
	nodes := cluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	for _, tn := range nodes {
		tn.createBlock("w", "first-"+tn.name, "x")
	}
	waitConverged(t, nodes...)
	before := n3.lastLSN("w")

	n3.stop()
	for i := range 10 {
		n1.createBlock("w", fmt.Sprint("n1-", i), "while n3 is down")
		n2.createBlock("w", fmt.Sprint("n2-", i), "while n3 is down")
	}
	n2.createBlock("born-while-down", "b", "x")
	n3.start()
	start := time.Now()
	waitConverged(t, nodes...)
	t.Logf("restarted node caught up in %v", time.Since(start))
	if got, want := n3.lastLSN("w"), before+20; got != want {
		t.Errorf("n3: w has %d records, want %d (each missed update once)", got, want)
	}
	if got := n3.lastLSN("born-while-down"); got != 1 {
		t.Errorf("n3: born-while-down has %d records, want 1", got)
	}
	if st := n3.status(); st.Applied != 21 || st.Published != 0 {
		t.Errorf("n3 after restart: applied %d published %d, want 21 and 0", st.Applied, st.Published)
	}
}

// TestRedeliveryChangesNothing: every message delivered again (the
// consumer's position reset to 0 over a restart) and duplicates under new
// message ids (beyond JetStream's de-duplication) log no record anywhere.
func TestRedeliveryChangesNothing(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1})
	b := newTestNode(t, "b", Options{URL: a.node.ClientURL()})
	for i := range 5 {
		a.createBlock("w", fmt.Sprint("a", i), "x")
		b.createBlock("w", fmt.Sprint("b", i), "y")
	}
	b.createBlock("w2", "z", "z")
	waitConverged(t, a, b)
	lsns := func(tn *testNode) [2]oplog.LSN { return [2]oplog.LSN{tn.lastLSN("w"), tn.lastLSN("w2")} }
	wantA, wantB := lsns(a), lsns(b)
	if wantA != [2]oplog.LSN{10, 1} || wantB != wantA {
		t.Fatalf("records a %v b %v, want [10 1] on both", wantA, wantB)
	}

	// Publish a copy of every message in the stream under a new message
	// id and a foreign node id.
	nc, err := nats.Connect(a.node.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(bg, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	last := stream.CachedInfo().State.LastSeq
	for seq := uint64(1); seq <= last; seq++ {
		m, err := stream.GetMsg(bg, seq)
		if err != nil {
			t.Fatal(err)
		}
		dup := nats.NewMsg(m.Subject)
		dup.Data = m.Data
		dup.Header.Set(njs.MsgIDHeader, fmt.Sprintf("dupnode.%d", seq))
		dup.Header.Set(hdrNode, "dup")
		if _, err := js.PublishMsg(bg, dup); err != nil {
			t.Fatal(err)
		}
	}
	// And b starts over from the beginning of the stream.
	b.stop()
	path := filepath.Join(b.dir, "REPLICATION", stateFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p persisted
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	p.Consumed = 0
	if err := writeFileAtomic(path, p); err != nil {
		t.Fatal(err)
	}
	b.start()

	waitConverged(t, a, b)
	if got := lsns(a); got != wantA {
		t.Errorf("a: records %v after duplicates, want %v", got, wantA)
	}
	if got := lsns(b); got != wantB {
		t.Errorf("b: records %v after redelivery, want %v", got, wantB)
	}
	// b really saw everything again: a's 5 messages and all 11
	// duplicates were applied (as no-ops), its own 6 skipped.
	if st := b.status(); st.Applied != 16 || st.Skipped != 6 || st.Consumed != 2*last {
		t.Errorf("b: applied %d skipped %d consumed %d, want 16, 6, %d", st.Applied, st.Skipped, st.Consumed, 2*last)
	}
}

// standaloneServer runs a JetStream nats-server on a fixed loopback port
// with its store in dir, as an external server would be.
func standaloneServer(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		ServerName: "external", Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: dir, JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 256 << 20,
		NoSigs: true, NoLog: true, DisableJetStreamBanner: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("external server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// TestOfflineBacklog: with the NATS server down, both nodes keep writing
// locally and their positions stay put; when it is back, the backlogs are
// published in LSN order and everything converges.
func TestOfflineBacklog(t *testing.T) {
	port := freePorts(t, 1)[0]
	natsDir := t.TempDir()
	srv := standaloneServer(t, port, natsDir)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	a := newTestNode(t, "a", Options{URL: url})
	b := newTestNode(t, "b", Options{URL: url})
	a.createBlock("w", "online", "x")
	waitConverged(t, a, b)

	srv.Shutdown()
	srv.WaitForShutdown()
	for i := range 20 {
		a.createBlock("w", fmt.Sprint("offline-a", i), "x")
	}
	b.createBlock("w", "offline-b", "y")
	b.createBlock("made-offline", "m", "y")
	time.Sleep(300 * time.Millisecond) // let the publishers try
	st := a.status()
	if st.Connected {
		t.Error("a: connected while the server is down")
	}
	for _, w := range st.Workspaces {
		if w.Name == "w" && (w.Published != 1 || w.LastLSN != 21) {
			t.Errorf("a offline: published %d of %d, want 1 of 21", w.Published, w.LastLSN)
		}
	}

	standaloneServer(t, port, natsDir)
	start := time.Now()
	waitConverged(t, a, b)
	t.Logf("backlog published and applied %v after the server came back", time.Since(start))
	if got := b.lastLSN("w"); got != 22 {
		t.Errorf("b: w has %d records, want 22 (1 + 20 from a + 1 own)", got)
	}

	// a's messages for w are in the stream in LSN order, each once.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := njs.New(nc)
	stream, err := js.Stream(bg, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	var lsns []int
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		m, err := stream.GetMsg(bg, seq)
		if err != nil {
			t.Fatal(err)
		}
		id := m.Header.Get(njs.MsgIDHeader)
		if m.Subject != DefaultSubjectPrefix+"w" || msgNode(id) != a.node.NodeID() {
			continue
		}
		// The id ends with the LSN, or first-last for a batch.
		first, last, _ := strings.Cut(id[strings.LastIndexByte(id, '.')+1:], "-")
		if last == "" {
			last = first
		}
		f, err1 := strconv.ParseInt(first, 36, 64)
		l, err2 := strconv.ParseInt(last, 36, 64)
		if err1 != nil || err2 != nil || l < f {
			t.Fatalf("message id %q", id)
		}
		k := 1
		if h := m.Header.Get(hdrBatch); h != "" {
			k, _ = strconv.Atoi(h)
		}
		if ups, err := splitBatch(m.Header.Get(hdrBatch), m.Data); err != nil || len(ups) != k || int64(k) != l-f+1 {
			t.Fatalf("message %q holds %d updates (%v), want %d", id, len(ups), err, l-f+1)
		}
		for n := f; n <= l; n++ {
			lsns = append(lsns, int(n))
		}
	}
	if len(lsns) != 21 {
		t.Fatalf("a published %d records for w, want 21: %v", len(lsns), lsns)
	}
	for i, n := range lsns {
		if n != i+1 {
			t.Fatalf("a's records out of order: %v", lsns)
		}
	}
}

// TestWipedNodeRebuilds: a node whose whole data directory (store,
// JetStream files, positions) is wiped rejoins under the same name with a
// new incarnation and rebuilds every workspace from another node's
// snapshots plus the stream after them, its own earlier writes included.
func TestWipedNodeRebuilds(t *testing.T) {
	nodes := cluster(t, 3)
	n1, n3 := nodes[0], nodes[2]
	for _, tn := range nodes {
		tn.createBlock("w", "by-"+tn.name, "x")
		tn.createBlock("only-"+tn.name, "b", "x")
	}
	want := waitConverged(t, nodes...)
	oldID := n3.node.NodeID()
	// n1 writes a round of snapshots (what it does every
	// SnapshotInterval): the wiped node starts from them.
	// (A new R3 object store takes a moment to elect a leader.)
	deadline := time.Now().Add(convergeTimeout)
	for {
		err := n1.node.writeSnapshots(bg, map[string]oplog.LSN{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	snapSeq := n1.status().SnapshotSeq
	if snapSeq == 0 {
		t.Fatal("no snapshot round")
	}

	n3.stop()
	if err := os.RemoveAll(n3.dir); err != nil {
		t.Fatal(err)
	}
	n1.createBlock("w", "while-wiped", "x")
	n3.start()
	if n3.node.NodeID() == oldID {
		t.Fatal("a wiped node kept its incarnation id")
	}
	start := time.Now()
	got := waitConverged(t, nodes...)
	t.Logf("wiped node rebuilt %d workspaces in %v", len(got), time.Since(start))
	if len(got) != len(want) {
		t.Errorf("%d workspaces after the rebuild, want %d", len(got), len(want))
	}
	if _, ok := n3.blockTitle("only-n3", "b"); !ok {
		t.Error("n3 lost its own earlier write")
	}
	if _, ok := n3.blockTitle("w", "while-wiped"); !ok {
		t.Error("n3 lacks the write made while it was gone")
	}
	// It bootstrapped from n1's snapshots and applied only what came
	// after them. The stream's state in Status is read from the cluster
	// and may lag what n3 already applied for a moment: poll.
	deadline = time.Now().Add(convergeTimeout)
	for {
		st := n3.status()
		if st.BootstrapSeq == snapSeq && st.Stream != nil && st.AppliedMsgs == st.Stream.LastSeq-snapSeq {
			break
		}
		if time.Now().After(deadline) {
			last := uint64(0)
			if st.Stream != nil {
				last = st.Stream.LastSeq
			}
			t.Fatalf("n3 bootstrapped at %d (snapshots at %d) and applied %d messages; the stream ends at %d", st.BootstrapSeq, snapSeq, st.AppliedMsgs, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRepublishIsDeduplicated: a publisher whose position was lost (the
// state file reset after a crash) publishes its log again under the same
// message ids; JetStream drops them within its de-duplication window, so
// the stream does not grow.
func TestRepublishIsDeduplicated(t *testing.T) {
	a := newTestNode(t, "a", Options{})
	for i := range 10 {
		a.createBlock("w", fmt.Sprint(i), "x")
	}
	waitConverged(t, a)
	a.stop()
	path := filepath.Join(a.dir, "REPLICATION", stateFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p persisted
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Published["w"] != 10 {
		t.Fatalf("persisted position %d, want 10", p.Published["w"])
	}
	p.Published = map[string]oplog.LSN{}
	if err := writeFileAtomic(path, p); err != nil {
		t.Fatal(err)
	}
	a.start()
	waitConverged(t, a)
	st := a.status()
	if st.Published != 10 || st.Stream.LastSeq != 10 || st.Stream.Msgs != 10 {
		t.Errorf("after republishing: %d acknowledged, stream last seq %d, %d msgs; want 10, 10, 10",
			st.Published, st.Stream.LastSeq, st.Stream.Msgs)
	}
}

// TestRecreatedWorkspaceNewEpoch: a workspace directory removed by hand
// (the node's positions kept) starts its op-log again at LSN 1; its new
// records get message ids of a new epoch, so JetStream does not drop them
// as duplicates of the old LSNs.
func TestRecreatedWorkspaceNewEpoch(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1})
	port := a.node.ClientURL()
	b := newTestNode(t, "b", Options{URL: port})
	for i := range 3 {
		a.createBlock("w", fmt.Sprint("old", i), "x")
	}
	waitConverged(t, a, b)
	a.stop()
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	for _, e := range entries {
		if e.Name() == "w" {
			removed = os.RemoveAll(filepath.Join(a.dir, "w")) == nil
		}
	}
	if !removed {
		t.Fatalf("no workspace directory w in %v", entries)
	}
	a.start()
	b.node.Close() // b follows a's server, which restarted on a new port
	b.store.Close()
	b.store, b.node = nil, nil
	b.opts.URL = a.node.ClientURL()
	b.start()
	a.createBlock("w", "new", "x")
	if got := a.lastLSN("w"); got != 1 {
		t.Fatalf("recreated workspace at LSN %d, want 1", got)
	}
	waitBlock(t, b, "w", "new")
}

// TestUndecodableMessageSkipped: a message that is not a yjs update (or
// sits on a subject no workspace name maps to) is dropped, and the
// messages behind it are still applied.
func TestUndecodableMessageSkipped(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1})
	b := newTestNode(t, "b", Options{URL: a.node.ClientURL()})
	a.createBlock("w", "before", "x")
	waitBlock(t, b, "w", "before")

	nc, err := nats.Connect(a.node.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := njs.New(nc)
	for _, subj := range []string{DefaultSubjectPrefix + "w", DefaultSubjectPrefix + "bad%zz"} {
		m := nats.NewMsg(subj)
		m.Data = []byte("not a yjs update")
		m.Header.Set(njs.MsgIDHeader, "garbage."+subj)
		if _, err := js.PublishMsg(bg, m); err != nil {
			t.Fatal(err)
		}
	}
	a.createBlock("w", "after", "x")
	waitBlock(t, b, "w", "after")
	waitConverged(t, a, b)
	if got := b.lastLSN("w"); got != 2 {
		t.Errorf("b: %d records, want 2", got)
	}
	if st := b.status(); st.Skipped != 2 || st.Applied != 2 {
		t.Errorf("b: skipped %d applied %d, want 2 and 2", st.Skipped, st.Applied)
	}
}
