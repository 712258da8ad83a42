package server

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
	"octobase/replication/ysync"
)

// startSlowSyncServer serves a store with durability always on a file
// system whose fsyncs take a few milliseconds (and fail while fail()
// says so), as a slow disk's would.
func startSlowSyncServer(t *testing.T, fail func() bool) *testEnv {
	t.Helper()
	fs := vfs.NewErrorFS(vfs.Default, vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpSync {
			time.Sleep(3 * time.Millisecond)
			if fail != nil && fail() {
				return errors.New("injected fsync failure")
			}
		}
		return nil
	}))
	return startServerStore(t, t.TempDir(), Options{}, &engine.Options{Durability: oplog.SyncAlways, IdleTimeout: -1, FS: fs}, nil)
}

// A client's updates in flight share fsyncs: the server reads the next
// one while the last is being made durable. Every update is still
// broadcast once, in order, and only once durable.
func TestPipelinedUpdatesShareFsyncs(t *testing.T) {
	e := startSlowSyncServer(t, nil)
	c := dial(t, e.wsURL("ws"), nil)
	readMsg(t, c) // SyncStep1
	writeMsg(t, c, ysync.AppendSyncStep1(nil, crdt.StateVector{}))
	readMsg(t, c) // SyncStep2

	const n = 60
	ups := docUpdates(7, "t", n)
	before := e.store.Stats().LogSyncs
	for _, u := range ups {
		writeMsg(t, c, ysync.AppendUpdate(nil, u))
	}
	runs := readRuns(t, c, ups) // the echoes: all of them, in order
	syncs := e.store.Stats().LogSyncs - before
	t.Logf("%d updates: %d fsyncs, echoed in %d messages", n, syncs, len(runs))
	if syncs >= n/2 {
		t.Fatalf("%d updates took %d fsyncs: they did not share them", n, syncs)
	}
	ws, err := e.store.Workspace(context.Background(), "ws")
	if err != nil {
		t.Fatal(err)
	}
	if lsn, err := ws.LastLSN(context.Background()); err != nil || lsn != n {
		t.Fatalf("last LSN %d (%v) after %d echoed updates", lsn, err, n)
	}
}

// An update whose record cannot be made durable closes the connection
// that sent it (1011), after which the server goes on serving.
func TestPipelinedUpdateFailure(t *testing.T) {
	var failing atomic.Bool
	e := startSlowSyncServer(t, failing.Load)
	c := dial(t, e.wsURL("ws"), nil)
	readMsg(t, c)
	failing.Store(true)
	writeMsg(t, c, ysync.AppendUpdate(nil, docUpdates(7, "t", 1)[0]))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if cs := websocket.CloseStatus(err); cs != websocket.StatusInternalError {
			t.Fatalf("read: %v (status %d), want a 1011 close", err, cs)
		}
		break
	}
	failing.Store(false)
	c2 := dial(t, e.wsURL("other"), nil)
	readMsg(t, c2)
	writeMsg(t, c2, ysync.AppendUpdate(nil, docUpdates(8, "t", 1)[0]))
	if _, ok := readMsg(t, c2).(ysync.Update); !ok {
		t.Fatal("no echo from another workspace after the failure")
	}
}
