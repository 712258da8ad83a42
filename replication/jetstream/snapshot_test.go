package jetstream

import (
	"fmt"
	"testing"

	"octobase/oplog"
)

// TestBootstrapFromSnapshot: a node writes snapshots of its workspaces
// with the stream sequence they cover; a new node (no data) applies them
// and consumes only the stream's tail after that sequence, and ends
// byte-identical to the others. A node told not to bootstrap replays the
// whole stream to the same state.
func TestBootstrapFromSnapshot(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1, SnapshotInterval: -1})
	url := a.node.ClientURL()
	b := newTestNode(t, "b", Options{URL: url, SnapshotInterval: -1})
	a.createBlock("w1", "doc", "shared")
	waitBlock(t, b, "w1", "doc")
	for i := range 20 {
		a.createBlock("w1", fmt.Sprint("a", i), "x")
		b.typeText("w1", "doc", fmt.Sprintf("<b%d>", i))
		if i%4 == 0 {
			b.createBlock("w2", fmt.Sprint("b", i), "y")
		}
	}
	waitConverged(t, a, b)
	// One snapshot round (what snapshotLoop does every SnapshotInterval),
	// covering everything so far.
	if err := a.node.writeSnapshots(bg, map[string]oplog.LSN{}); err != nil {
		t.Fatal(err)
	}
	st := a.status()
	if st.SnapshotSeq == 0 || st.SnapshotSeq != st.Stream.LastSeq {
		t.Fatalf("snapshot round at %d, stream at %d", st.SnapshotSeq, st.Stream.LastSeq)
	}
	// The tail: writes after the snapshot.
	for i := range 5 {
		b.createBlock("w2", fmt.Sprint("tail", i), "z")
		a.typeText("w1", "doc", fmt.Sprintf("<a%d>", i))
	}
	waitConverged(t, a, b)

	c := newTestNode(t, "c", Options{URL: url, SnapshotInterval: -1})
	states := waitConverged(t, a, b, c)
	if len(states) != 2 {
		t.Errorf("converged on %d workspaces, want 2", len(states))
	}
	sc, sa := c.status(), a.status()
	last := sa.Stream.LastSeq
	if sc.BootstrapSeq != st.SnapshotSeq {
		t.Fatalf("c did not bootstrap: BootstrapSeq %d of %d", sc.BootstrapSeq, last)
	}
	if sc.AppliedMsgs != last-sc.BootstrapSeq || sc.AppliedMsgs == 0 {
		t.Errorf("c applied %d messages after bootstrapping at %d of %d: want only the tail", sc.AppliedMsgs, sc.BootstrapSeq, last)
	}
	// One record per snapshot plus the tail, instead of every record.
	if got, all := c.lastLSN("w1"), a.lastLSN("w1"); got >= all {
		t.Errorf("c logged %d records for w1, a %d: want fewer", got, all)
	}
	t.Logf("stream %d messages; c bootstrapped at %d and applied %d messages (%d records)", last, sc.BootstrapSeq, sc.AppliedMsgs, sc.Applied)

	// Without bootstrap: the whole stream, same state.
	d := newTestNode(t, "d", Options{URL: url, SnapshotInterval: -1, NoBootstrap: true})
	waitConverged(t, a, b, c, d)
	if sd := d.status(); sd.BootstrapSeq != 0 || sd.AppliedMsgs != sd.Stream.LastSeq {
		t.Errorf("d (no bootstrap): BootstrapSeq %d, applied %d of %d messages", sd.BootstrapSeq, sd.AppliedMsgs, sd.Stream.LastSeq)
	}
}
