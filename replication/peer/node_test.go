package peer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"

	"octobase/engine"
	"octobase/internal/jstest"
)

// nodePeer is a yjs document synced with y-protocols/sync over a TCP
// socket, in raw mode (each y-protocols message prefixed with its length as
// a lib0 varUint): the few lines a yjs application needs to talk to
// SyncRaw.
const nodePeer = `
const Y = require('yjs')
const syncProtocol = require('y-protocols/sync')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')
const net = require('net')

const doc = new Y.Doc()
doc.clientID = 999
let socket = null
let synced = null

// Offline content, in the block layout: one paragraph block.
doc.transact(() => {
  const block = new Y.Map()
  doc.getMap('space:blocks').set('nodeBlock', block)
  block.set('sys:id', 'nodeBlock')
  block.set('sys:flavour', 'affine:paragraph')
  block.set('sys:children', new Y.Array())
  block.set('prop:text', new Y.Text('written in node'))
})

const send = (msg) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint8Array(e, msg)
  socket.write(encoding.toUint8Array(e))
}
doc.on('update', (update, origin) => {
  if (origin === socket || socket === null) return // never echo
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  syncProtocol.writeUpdate(e, update)
  send(encoding.toUint8Array(e))
})

const onMessage = (msg) => {
  const d = decoding.createDecoder(msg)
  if (decoding.readVarUint(d) !== 0) return // not a sync message
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  const type = syncProtocol.readSyncMessage(d, e, doc, socket)
  if (encoding.length(e) > 1) send(encoding.toUint8Array(e))
  if (type === syncProtocol.messageYjsSyncStep2 && synced) { synced(); synced = null }
}

const connect = (port) => new Promise((resolve, reject) => {
  synced = resolve
  let buf = Buffer.alloc(0)
  socket = net.connect(port, '127.0.0.1', () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, doc)
    send(encoding.toUint8Array(e))
  })
  socket.on('error', reject)
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk])
    for (;;) {
      // A frame: varUint(length) · message.
      let len = 0, shift = 0, i = 0
      for (;;) {
        if (i >= buf.length) return
        const c = buf[i++]
        len += (c & 0x7f) * Math.pow(2, shift)
        shift += 7
        if (c < 0x80) break
      }
      if (buf.length < i + len) return
      const msg = new Uint8Array(buf.subarray(i, i + len))
      buf = buf.subarray(i + len)
      onMessage(msg)
    }
  })
})

serve(async (req) => {
  switch (req.op) {
    case 'connect': await connect(req.port); return {}
    case 'edit': doc.getMap('space:blocks').get('nodeBlock').get('prop:text').insert(0, req.text); return {}
    case 'state': return {
      sv: Y.encodeStateVector(doc),
      update: Y.encodeStateAsUpdate(doc),
      goText: doc.getMap('space:blocks').has('goBlock') ? doc.getMap('space:blocks').get('goBlock').get('prop:text').toString() : null,
      nodeText: doc.getMap('space:blocks').get('nodeBlock').get('prop:text').toString(),
    }
    case 'close': socket.end(); return {}
  }
  throw new Error('unknown op ' + req.op)
})
`

type nodeState struct {
	SV, Update       []byte
	GoText, NodeText *string
}

// TestSyncRawNodePeer syncs a workspace with a Node.js yjs document that
// speaks plain y-protocols/sync over TCP: offline content crosses both
// ways, then live edits do, and both end with the same state.
func TestSyncRawNodePeer(t *testing.T) {
	jstest.Available(t)
	s := newStore(t, 100)
	transact(t, s, "shared", func(bl *engine.Blocks) error {
		_, err := bl.Create(engine.NewBlock{ID: "goBlock", Flavour: "affine:paragraph", Props: map[string]any{"text": engine.RichText{Text: "written in go"}}})
		return err
	})
	ws := workspace(t, s, "shared")
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		st, err := SyncRaw(ctx, ws, conn, &Options{Name: "node"})
		done <- result{st, err}
	}()

	node := jstest.Start(t, nodePeer)
	if err := node.Call(map[string]any{"op": "connect", "port": ln.Addr().(*net.TCPAddr).Port}, nil); err != nil {
		t.Fatal(err)
	}
	getNode := func() nodeState {
		var st nodeState
		if err := node.Call(map[string]any{"op": "state"}, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Offline content both ways.
	waitFor(t, "node's block in the workspace", func() bool {
		_, ok, err := ws.Get(ctx, "nodeBlock")
		return err == nil && ok
	})
	waitFor(t, "go's block in node", func() bool {
		st := getNode()
		return st.GoText != nil && *st.GoText == "written in go"
	})
	// Live edits both ways.
	transact(t, s, "shared", func(bl *engine.Blocks) error {
		tx, err := bl.Text("goBlock", "text")
		if err != nil {
			return err
		}
		return tx.Insert(bl.Txn(), 0, "live: ", nil)
	})
	if err := node.Call(map[string]any{"op": "edit", "text": "live from node: "}, nil); err != nil {
		t.Fatal(err)
	}
	var st nodeState
	waitFor(t, "the same state on both sides", func() bool {
		st = getNode()
		goSV, err := ws.StateVector(ctx)
		return err == nil && bytes.Equal(goSV, st.SV) && st.GoText != nil && *st.GoText == "live: written in go"
	})
	goState, err := ws.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(goState, st.Update) {
		t.Errorf("encoded states differ: go %d bytes, node %d bytes", len(goState), len(st.Update))
	}
	b, ok, err := ws.Get(ctx, "nodeBlock")
	if err != nil || !ok {
		t.Fatalf("nodeBlock: %v %v", ok, err)
	}
	if rt, _ := b.Props["text"].(engine.RichText); rt.Text != "live from node: written in node" {
		t.Errorf("nodeBlock text %q", rt.Text)
	}
	if err := node.Call(map[string]any{"op": "close"}, nil); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil && !errors.Is(r.err, context.Canceled) {
		t.Errorf("SyncRaw: %v", r.err)
	}
	if !r.st.Synced || r.st.UpdatesIn < 2 || r.st.UpdatesOut < 2 {
		t.Errorf("stats %+v", r.st)
	}
	t.Logf("raw session with node: %+v", r.st)
}
