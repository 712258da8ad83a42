package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"octobase/engine"
	"octobase/oplog"
)

func TestBatchRoundTrip(t *testing.T) {
	ups := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{7}, 300), []byte("last")}
	data := appendBatch(nil, ups)
	got, err := splitBatch("4", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ups) {
		t.Fatalf("%d updates, want %d", len(got), len(ups))
	}
	for i := range ups {
		if !bytes.Equal(got[i], ups[i]) {
			t.Errorf("update %d: %q, want %q", i, got[i], ups[i])
		}
	}
	// Without the header the payload is one update, whatever it holds.
	if one, err := splitBatch("", data); err != nil || len(one) != 1 || !bytes.Equal(one[0], data) {
		t.Errorf("no header: %d updates, %v", len(one), err)
	}
	for _, bad := range []struct {
		hdr  string
		data []byte
	}{
		{"3", data},                // count mismatch
		{"5", data},                // count mismatch
		{"x", data},                // not a number
		{"1", data},                // a batch has at least 2
		{"4", data[:len(data)-1]},  // truncated
		{"2", []byte{0xff, 0xff}},  // bad varint / length
		{"2", []byte{5, 'a', 'b'}}, // length past the end
	} {
		if _, err := splitBatch(bad.hdr, bad.data); !errors.Is(err, errBadBatch) {
			t.Errorf("splitBatch(%q, % x): %v, want errBadBatch", bad.hdr, bad.data, err)
		}
	}
}

// TestBacklogIsBatched: a backlog (written while the node was stopped) is
// published in fewer messages than records (the publisher coalesces once
// many publishes are in flight, which a backlog read from the log at full
// speed guarantees), and the other node still logs every record once and
// converges to the same state.
func TestBacklogIsBatched(t *testing.T) {
	port := freePorts(t, 1)[0]
	standaloneServer(t, port, t.TempDir())
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	a := newTestNode(t, "a", Options{URL: url})
	b := newTestNode(t, "b", Options{URL: url})
	a.createBlock("w", "first", "x")
	waitConverged(t, a, b)

	a.stop()
	s, err := engine.Open(a.dir, &engine.Options{Durability: oplog.SyncNone, IdleTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	w, err := s.Workspace(bg, "w")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range textUpdates(t, 77, n, 64) {
		if _, err := w.Apply(bg, u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	a.start()
	waitConverged(t, a, b)
	if got := b.lastLSN("w"); got != oplog.LSN(n+1) {
		t.Errorf("b: %d records, want %d", got, n+1)
	}
	sa, sb := a.status(), b.status()
	if sa.Published != n || sb.Applied != n+1 {
		t.Errorf("a published %d records after its restart, b applied %d; want %d, %d", sa.Published, sb.Applied, n, n+1)
	}
	if sa.PublishedMsgs >= n/4 || sa.Stream.LastSeq != 1+sa.PublishedMsgs || sb.AppliedMsgs != sa.Stream.LastSeq {
		t.Errorf("a published %d records in %d messages (stream last seq %d), b applied %d messages: want batches",
			sa.Published, sa.PublishedMsgs, sa.Stream.LastSeq, sb.AppliedMsgs)
	}
	t.Logf("%d records in %d messages", sa.Published, sa.PublishedMsgs)
}
