package server

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"octobase/engine/crdt"
	"octobase/internal/jstest"
)

// restartScript keeps named yjs documents and y-websocket providers in one
// Node.js process across server restarts.
const restartScript = `
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WS = require('ws')
const clients = {}
const synced = (p) => new Promise(res => { if (p.synced) res(); else p.once('synced', () => res()) })
const until = (cond, what) => new Promise((res, rej) => {
  const start = Date.now()
  const tick = () => { if (cond()) res(); else if (Date.now() - start > 15000) rej(new Error('timed out: ' + what)); else setTimeout(tick, 20) }
  tick()
})
const dump = (d) => {
  const m = d.getMap('m').toJSON(), sm = {}
  for (const k of Object.keys(m).sort()) sm[k] = m[k]
  return { t: d.getText('t').toString(), m: sm, a: d.getArray('a').toJSON() }
}
serve(async (req) => {
  let c = clients[req.name]
  switch (req.op) {
    case 'connect':
      if (!c) { const doc = new Y.Doc(); doc.clientID = req.id; c = clients[req.name] = { doc } }
      if (c.p) c.p.destroy()
      c.p = new WebsocketProvider(req.url, req.room, c.doc, { WebSocketPolyfill: WS, disableBc: true })
      await synced(c.p)
      return dump(c.doc)
    case 'disconnect':
      c.p.destroy(); c.p = null
      return dump(c.doc)
    case 'edit':
      c.doc.transact(() => {
        if (req.text) c.doc.getText('t').insert(req.at === -1 ? c.doc.getText('t').length : req.at, req.text)
        if (req.key) c.doc.getMap('m').set(req.key, req.value)
        if (req.push !== undefined) c.doc.getArray('a').push([req.push])
      })
      return dump(c.doc)
    case 'wait':
      await until(() => JSON.stringify(dump(c.doc)) === JSON.stringify(req.want), req.name + ' to reach ' + JSON.stringify(req.want) + ', has ' + JSON.stringify(dump(c.doc)))
      return dump(c.doc)
    case 'dump':
      return dump(c.doc)
    case 'close': // let the process exit: no provider keeps it alive
      for (const k of Object.keys(clients)) { if (clients[k].p) clients[k].p.destroy(); clients[k].doc.destroy() }
      return { t: '', m: {}, a: [] }
  }
  throw new Error('unknown op ' + req.op)
})
`

type jsDump struct {
	T string         `json:"t"`
	M map[string]any `json:"m"`
	A []any          `json:"a"`
}

// serverDump reads the workspace the way the Node script dumps a document.
func serverDump(t *testing.T, e *testEnv, ws string) jsDump {
	t.Helper()
	w, err := e.store.Workspace(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.EncodeStateAsUpdate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := crdt.MustNewDoc(crdt.Options{ClientID: 999})
	if err := d.ApplyUpdate(u, nil); err != nil {
		t.Fatal(err)
	}
	x, _ := d.GetText("t")
	m, _ := d.GetMap("m")
	a, _ := d.GetArray("a")
	// Round-trip through JSON so numbers compare as the Node side's do.
	var out jsDump
	b, _ := json.Marshal(map[string]any{"t": x.String(), "m": crdt.ToJSON(m), "a": crdt.ToJSON(a)})
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestYWebsocketRestartAndOffline: two real y-websocket clients edit text,
// a map and an array concurrently and converge; one goes offline and keeps
// editing; the server restarts; a third client gets the full, identical
// state; the offline client reconnects and everything merges everywhere.
func TestYWebsocketRestartAndOffline(t *testing.T) {
	jstest.Available(t)
	dir := t.TempDir()
	const room = "restart"
	e := startServer(t, dir, Options{})
	p := jstest.Start(t, restartScript)
	var call func(req map[string]any) jsDump
	t.Cleanup(func() { _ = p.Call(map[string]any{"op": "close"}, nil) })
	call = func(req map[string]any) jsDump {
		t.Helper()
		var d jsDump
		if err := p.Call(req, &d); err != nil {
			t.Fatalf("%v: %v\n%s", req, err, p.Stderr())
		}
		return d
	}
	url := func(e *testEnv) string { return "ws" + e.hs.URL[len("http"):] + "/sync" }
	call(map[string]any{"op": "connect", "name": "A", "id": 401, "url": url(e), "room": room})
	call(map[string]any{"op": "connect", "name": "B", "id": 402, "url": url(e), "room": room})
	call(map[string]any{"op": "edit", "name": "A", "text": "hello", "at": 0, "key": "a", "value": 1, "push": 1})
	call(map[string]any{"op": "edit", "name": "B", "text": "[b]", "at": 0, "key": "b", "value": "two", "push": 2})
	// Concurrent: each edit may or may not have reached the other side;
	// wait until both agree with the server.
	waitFor(t, "the server to have both edits", func() bool {
		d := serverDump(t, e, room)
		return len(d.M) == 2 && len(d.A) == 2 && len(d.T) == len("hello[b]")
	})
	first := serverDump(t, e, room)
	call(map[string]any{"op": "wait", "name": "A", "want": first})
	call(map[string]any{"op": "wait", "name": "B", "want": first})

	// B goes offline and edits; A edits online.
	call(map[string]any{"op": "disconnect", "name": "B"})
	call(map[string]any{"op": "edit", "name": "A", "text": "!", "at": -1, "push": 3})
	offline := call(map[string]any{"op": "edit", "name": "B", "text": ">> ", "at": 0, "key": "off", "value": true})
	waitFor(t, "A's edit to persist", func() bool { return len(serverDump(t, e, room).A) == 3 })
	beforeRestart := serverDump(t, e, room)

	// Restart the server on the same data directory.
	call(map[string]any{"op": "disconnect", "name": "A"})
	e.stop()
	e2 := startServer(t, dir, Options{})
	if got := serverDump(t, e2, room); !reflect.DeepEqual(got, beforeRestart) {
		t.Fatalf("after restart the server has %+v, want %+v", got, beforeRestart)
	}
	c := call(map[string]any{"op": "connect", "name": "C", "id": 403, "url": url(e2), "room": room})
	if !reflect.DeepEqual(c, beforeRestart) {
		t.Fatalf("third client got %+v, want %+v", c, beforeRestart)
	}

	// The offline client reconnects: its edits merge into everyone's state.
	call(map[string]any{"op": "connect", "name": "B", "url": url(e2), "room": room})
	call(map[string]any{"op": "connect", "name": "A", "url": url(e2), "room": room})
	waitFor(t, "B's offline edits to reach the server", func() bool {
		_, ok := serverDump(t, e2, room).M["off"]
		return ok
	})
	final := serverDump(t, e2, room)
	for _, n := range []string{"A", "B", "C"} {
		call(map[string]any{"op": "wait", "name": n, "want": final})
	}
	if final.T != ">> "+beforeRestart.T {
		t.Errorf("merged text = %q, want %q", final.T, ">> "+beforeRestart.T)
	}
	keys := make([]string, 0, len(final.M))
	for k := range final.M {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"a", "b", "off"}) || len(final.A) != 3 {
		t.Errorf("merged map keys %v, array %v", keys, final.A)
	}
	if offline.T != ">> hello[b]" && offline.T != ">> [b]hello" {
		t.Errorf("offline text = %q", offline.T)
	}
}
