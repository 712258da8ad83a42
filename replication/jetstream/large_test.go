package jetstream

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
)

// TestLargeUpdate: an update larger than the server's max payload goes
// through the LargeBucket object store; the other node applies it, and
// small updates around it still travel as messages.
func TestLargeUpdate(t *testing.T) {
	a := newTestNode(t, "a", Options{ClientPort: -1, MaxPayload: 16 << 10})
	b := newTestNode(t, "b", Options{URL: a.node.ClientURL()})
	a.createBlock("w", "small1", "x")
	big := strings.Repeat("large update ", 10_000) // 130 KB
	a.createBlock("w", "big", big)
	a.createBlock("w", "small2", "y")
	waitBlock(t, b, "w", "small2")
	waitConverged(t, a, b)
	if got, _ := b.blockTitle("w", "big"); got != big {
		t.Fatalf("b: big block title of %d bytes, want %d", len(got), len(big))
	}

	nc, err := nats.Connect(a.node.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := njs.New(nc)
	stream, err := js.Stream(bg, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	var objects, plain int
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		m, err := stream.GetMsg(bg, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(hdrObject) != "" {
			objects++
			if len(m.Data) != 0 {
				t.Errorf("seq %d: object message with a %d-byte payload", seq, len(m.Data))
			}
		} else {
			plain++
		}
	}
	if objects != 1 || plain != 2 {
		t.Errorf("%d object messages and %d plain ones, want 1 and 2", objects, plain)
	}
}
