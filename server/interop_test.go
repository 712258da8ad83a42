package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/internal/jstest"
)

// TestYWebsocketInterop connects two real y-websocket providers (Node.js)
// to the server, edits a Y.Text and a Y.Map from both, and checks that both
// Node documents and the server's workspace agree.
func TestYWebsocketInterop(t *testing.T) {
	jstest.Available(t)
	e := startServer(t, t.TempDir(), Options{})

	var out struct {
		A, B struct {
			T string
			M map[string]any
		}
		SawAwareness bool
	}
	jstest.Run(t, `
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WS = require('ws')
const inp = readInput()
const killer = setTimeout(() => { console.error('interop script timed out'); process.exit(3) }, 20000)
const mk = (id) => {
  const doc = new Y.Doc(); doc.clientID = id
  const p = new WebsocketProvider(inp.url, inp.room, doc, { WebSocketPolyfill: WS, disableBc: true })
  return { doc, p }
}
const synced = (p) => new Promise(res => { if (p.synced) res(); else p.once('synced', () => res()) })
const until = (cond) => new Promise((res, rej) => {
  const start = Date.now()
  const tick = () => { if (cond()) res(); else if (Date.now() - start > 15000) rej(new Error('condition timed out')); else setTimeout(tick, 20) }
  tick()
})
;(async () => {
  const a = mk(101), b = mk(202)
  await Promise.all([synced(a.p), synced(b.p)])
  a.doc.getText('t').insert(0, 'hello')
  a.doc.getMap('m').set('fromA', 1)
  b.doc.getMap('m').set('fromB', 'two')
  await until(() => b.doc.getText('t').toString() === 'hello')
  b.doc.getText('t').insert(5, ' world')
  a.p.awareness.setLocalStateField('user', 'alice')
  const done = (d) => d.getText('t').toString() === 'hello world' && d.getMap('m').size === 2
  await until(() => done(a.doc) && done(b.doc))
  await until(() => b.p.awareness.getStates().has(101))
  const dump = (d) => ({ t: d.getText('t').toString(), m: d.getMap('m').toJSON() })
  const res = { a: dump(a.doc), b: dump(b.doc), sawAwareness: true }
  a.p.destroy(); b.p.destroy(); a.doc.destroy(); b.doc.destroy()
  clearTimeout(killer)
  writeOutput(res)
  process.exit(0) // stdout is a pipe, written synchronously

})().catch(e => { console.error(e); process.exit(1) })
`, map[string]any{"url": "ws" + e.hs.URL[len("http"):] + "/sync", "room": "interop"}, &out)

	want := `{"T":"hello world","M":{"fromA":1,"fromB":"two"}}`
	for name, got := range map[string]any{"A": out.A, "B": out.B} {
		if b, _ := json.Marshal(got); string(b) != want {
			t.Errorf("node doc %s = %s, want %s", name, b, want)
		}
	}
	if !out.SawAwareness {
		t.Error("awareness did not reach the other client")
	}

	// The server's workspace holds the same state.
	w, err := e.store.Workspace(context.Background(), "interop")
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.EncodeStateAsUpdate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := crdt.MustNewDoc(crdt.Options{ClientID: 9})
	if err := d.ApplyUpdate(u, nil); err != nil {
		t.Fatal(err)
	}
	x, _ := d.GetText("t")
	m, _ := d.GetMap("m")
	got, _ := json.Marshal(struct {
		T string
		M any
	}{x.String(), m.ToJSON()})
	// Map keys are listed in arrival order, which differs between
	// replicas: compare with keys sorted.
	var g, wv any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal([]byte(want), &wv)
	got, _ = json.Marshal(g)
	wantSorted, _ := json.Marshal(wv)
	if string(got) != string(wantSorted) {
		t.Errorf("server state = %s, want %s", got, want)
	}
}

// TestYWebsocketCoalescedInterop holds the writer of a y-websocket
// client's connection while another client makes 20 edits, so that the
// held one receives them merged (crdt.MergeUpdates), and checks that real
// yjs applies the merged message and converges.
func TestYWebsocketCoalescedInterop(t *testing.T) {
	jstest.Available(t)
	e, gate := startGated(t, Options{}, 1) // b connects first: connection 1
	gate.hold()
	const edits = 20
	released := make(chan struct{})
	queued := 0 // b's queue when released; read after released
	go func() {
		defer close(released)
		defer gate.release()
		// Release once the edits are queued behind the gate (step 2 and
		// the updates; a's awareness may be among them), or give up.
		deadline := time.Now().Add(testTimeout)
		for time.Now().Before(deadline) {
			e.srv.mu.Lock()
			n := 0
			for c := range e.srv.mu.live {
				if c.id == 1 {
					n = len(c.send)
				}
			}
			e.srv.mu.Unlock()
			if n >= edits+1 {
				queued = n
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var out struct{ A, B string }
	jstest.Run(t, `
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WS = require('ws')
const inp = readInput()
const killer = setTimeout(() => { console.error('interop script timed out'); process.exit(3) }, 20000)
const mk = (id) => {
  const doc = new Y.Doc(); doc.clientID = id
  const p = new WebsocketProvider(inp.url, inp.room, doc, { WebSocketPolyfill: WS, disableBc: true })
  return { doc, p }
}
const until = (cond) => new Promise((res, rej) => {
  const start = Date.now()
  const tick = () => { if (cond()) res(); else if (Date.now() - start > 15000) rej(new Error('condition timed out')); else setTimeout(tick, 20) }
  tick()
})
;(async () => {
  const b = mk(202)
  await until(() => b.p.wsconnected)
  await new Promise(res => setTimeout(res, 200)) // b's SyncStep1 is answered before a edits
  const a = mk(101)
  await new Promise(res => { if (a.p.synced) res(); else a.p.once('synced', () => res()) })
  for (let i = 0; i < inp.edits; i++) a.doc.getText('t').insert(0, '<' + i + '>')
  const want = a.doc.getText('t').toString()
  await until(() => b.doc.getText('t').toString() === want)
  const res = { a: want, b: b.doc.getText('t').toString() }
  a.p.destroy(); b.p.destroy()
  clearTimeout(killer)
  writeOutput(res)
  process.exit(0)
})().catch(e => { console.error(e); process.exit(1) })
`, map[string]any{"url": "ws" + e.hs.URL[len("http"):] + "/sync", "room": "coalesce", "edits": edits}, &out)
	<-released

	if out.A != out.B {
		t.Fatalf("b = %q, a = %q", out.B, out.A)
	}
	if got := serverText(t, e.store, "coalesce", "t"); got != out.A {
		t.Fatalf("server = %q, clients = %q", got, out.A)
	}
	// Held behind the gate: step 2, at most a's awareness, and at least
	// 19 consecutive updates, which b's writer merged.
	if queued < edits+1 || e.srv.metrics.wsCoalesced.Load() < edits-2 {
		t.Fatalf("b's queue held %d messages, %d updates coalesced: the test did not exercise merging", queued, e.srv.metrics.wsCoalesced.Load())
	}
}
