package jetstream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/internal/freeport"
	"octobase/oplog"
)

var bg = context.Background()

// convergeTimeout bounds every wait for replication; generous because the
// machine running the tests may be loaded.
const convergeTimeout = 60 * time.Second

// testLogger logs to the test output when OCTOBASE_TEST_LOG is set.
func testLogger(t testing.TB, name string) *slog.Logger {
	if os.Getenv("OCTOBASE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// freePorts returns n distinct loopback ports that are free now, outside
// the Linux ephemeral range (fixed ports there can be taken by outgoing
// connections between the check and the use).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := freeport.Loopback(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// testNode is an engine.Store with replication, restartable in place.
type testNode struct {
	t     testing.TB
	name  string
	dir   string
	opts  Options
	store *engine.Store
	node  *Node
}

func newTestNode(t testing.TB, name string, opts Options) *testNode {
	t.Helper()
	tn := &testNode{t: t, name: name, dir: filepath.Join(t.TempDir(), name), opts: opts}
	tn.opts.NodeName = name
	if tn.opts.Logger == nil {
		tn.opts.Logger = testLogger(t, name)
	}
	if tn.opts.MaxMemory == 0 {
		tn.opts.MaxMemory = 64 << 20
	}
	if tn.opts.MaxStore == 0 {
		tn.opts.MaxStore = 256 << 20
	}
	tn.opts.ScanInterval = 100 * time.Millisecond
	tn.opts.FlushInterval = 50 * time.Millisecond
	tn.start()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) start() {
	tn.t.Helper()
	if tn.store != nil {
		tn.t.Fatalf("%s: already started", tn.name)
	}
	s, err := engine.Open(tn.dir, &engine.Options{Durability: oplog.SyncNone, IdleTimeout: -1})
	if err != nil {
		tn.t.Fatalf("%s: engine.Open: %v", tn.name, err)
	}
	n, err := Start(s, &tn.opts)
	if err != nil {
		s.Close()
		tn.t.Fatalf("%s: Start: %v", tn.name, err)
	}
	tn.store, tn.node = s, n
}

// stop closes replication, then the store (as octobase serve does).
func (tn *testNode) stop() {
	if tn.store == nil {
		return
	}
	if err := tn.node.Close(); err != nil {
		tn.t.Errorf("%s: Close: %v", tn.name, err)
	}
	if err := tn.store.Close(); err != nil {
		tn.t.Errorf("%s: store Close: %v", tn.name, err)
	}
	tn.store, tn.node = nil, nil
}

func (tn *testNode) ws(name string) *engine.Workspace {
	tn.t.Helper()
	w, err := tn.store.Workspace(bg, name)
	if err != nil {
		tn.t.Fatalf("%s: Workspace(%q): %v", tn.name, name, err)
	}
	return w
}

// createBlock creates block id in workspace ws with a title.
func (tn *testNode) createBlock(ws, id, title string) {
	tn.t.Helper()
	_, err := tn.ws(ws).Transact(bg, "test", func(_ *crdt.Txn, b *engine.Blocks) error {
		_, err := b.Create(engine.NewBlock{ID: engine.BlockID(id), Flavour: "affine:paragraph",
			Props: map[string]any{"title": title}})
		return err
	})
	if err != nil {
		tn.t.Fatalf("%s: create %s/%s: %v", tn.name, ws, id, err)
	}
}

// typeText inserts s at the start of block id's rich text "text".
func (tn *testNode) typeText(ws, id, s string) {
	tn.t.Helper()
	_, err := tn.ws(ws).Transact(bg, "test", func(tx *crdt.Txn, b *engine.Blocks) error {
		x, err := b.Text(engine.BlockID(id), "text")
		if err != nil {
			return err
		}
		return x.Insert(tx, 0, s, nil)
	})
	if err != nil {
		tn.t.Fatalf("%s: type into %s/%s: %v", tn.name, ws, id, err)
	}
}

func (tn *testNode) lastLSN(ws string) oplog.LSN {
	tn.t.Helper()
	lsn, err := tn.ws(ws).LastLSN(bg)
	if err != nil {
		tn.t.Fatal(err)
	}
	return lsn
}

func (tn *testNode) status() Status {
	tn.t.Helper()
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	st, err := tn.node.Status(ctx)
	if err != nil {
		tn.t.Fatalf("%s: Status: %v", tn.name, err)
	}
	return st
}

// wsState is what must be identical on every node.
type wsState struct{ sv, state []byte }

func (tn *testNode) states() (map[string]wsState, error) {
	names, err := tn.store.Workspaces()
	if err != nil {
		return nil, err
	}
	out := map[string]wsState{}
	for _, name := range names {
		w, err := tn.store.Workspace(bg, name)
		if err != nil {
			return nil, err
		}
		sv, err := w.StateVector(bg)
		if err != nil {
			return nil, err
		}
		st, err := w.EncodeStateAsUpdate(bg, nil)
		if err != nil {
			return nil, err
		}
		out[name] = wsState{sv, st}
	}
	return out, nil
}

// diff says how a's states differ from b's ("" if identical).
func diffStates(a, b map[string]wsState) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d workspaces vs %d", len(a), len(b))
	}
	for name, x := range a {
		y, ok := b[name]
		switch {
		case !ok:
			return fmt.Sprintf("workspace %q missing", name)
		case !bytes.Equal(x.sv, y.sv):
			return fmt.Sprintf("workspace %q: state vectors differ", name)
		case !bytes.Equal(x.state, y.state):
			return fmt.Sprintf("workspace %q: encoded states differ (%d vs %d bytes)", name, len(x.state), len(y.state))
		}
	}
	return ""
}

// waitConverged polls until every node holds the same workspaces with
// identical state vectors and encoded states, and every node is caught
// up (nothing left to publish, the stream consumed to its end). It
// returns the common states.
func waitConverged(t testing.TB, nodes ...*testNode) map[string]wsState {
	t.Helper()
	deadline := time.Now().Add(convergeTimeout)
	var why string
	for {
		why = ""
		var first map[string]wsState
		for i, tn := range nodes {
			if st := tn.status(); !st.CaughtUp() {
				why = fmt.Sprintf("%s not caught up: %+v", tn.name, st)
				break
			}
			s, err := tn.states()
			if err != nil {
				t.Fatalf("%s: %v", tn.name, err)
			}
			if i == 0 {
				first = s
			} else if d := diffStates(first, s); d != "" {
				why = fmt.Sprintf("%s vs %s: %s", nodes[0].name, tn.name, d)
				break
			}
		}
		if why == "" {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence after %v: %s", convergeTimeout, why)
		}
		if os.Getenv("OCTOBASE_TEST_LOG") != "" {
			t.Logf("waiting: %s", why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// blockTitle reads block id's title in ws ("" and false if absent).
func (tn *testNode) blockTitle(ws, id string) (string, bool) {
	tn.t.Helper()
	b, ok, err := tn.ws(ws).Get(bg, engine.BlockID(id))
	if err != nil {
		tn.t.Fatal(err)
	}
	if !ok {
		return "", false
	}
	s, _ := b.Props["title"].(string)
	return s, true
}

// waitBlock polls until block id exists in ws on tn.
func waitBlock(t testing.TB, tn *testNode, ws, id string) {
	t.Helper()
	deadline := time.Now().Add(convergeTimeout)
	for {
		if _, ok := tn.blockTitle(ws, id); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: block %s/%s did not arrive within %v", tn.name, ws, id, convergeTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func oplogLSN(n int) oplog.LSN { return oplog.LSN(n) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
