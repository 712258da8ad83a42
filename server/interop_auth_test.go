package server

import (
	"strings"
	"testing"
	"time"

	"octobase/internal/jstest"
)

// TestYWebsocketAuthInterop runs real y-websocket providers against a
// server with auth: a read-only token syncs down and receives live updates
// while its own edits are refused (the server's state never sees them); an
// expired token is closed with 4401, which y-websocket treats as final.
func TestYWebsocketAuthInterop(t *testing.T) {
	jstest.Available(t)
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	seed := newSyncClient(t, e.wsURL("auth")+"?token="+issue(t, a, "auth", AccessWrite, time.Hour), 1)
	seed.edit(insertText("t", 0, "hello"))
	waitFor(t, "the seed text", func() bool { return serverText(t, e.store, "auth", "t") == "hello" })

	var out struct {
		ROInitial, ROFinal string
		ClosedCode         int
		ClosedReason       string
		Reconnected        bool
	}
	jstest.Run(t, `
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WS = require('ws')
const inp = readInput()
const killer = setTimeout(() => { console.error('script timed out'); process.exit(3) }, 20000)
const mk = (id, token) => {
  const doc = new Y.Doc(); doc.clientID = id
  const p = new WebsocketProvider(inp.url, inp.room, doc, { WebSocketPolyfill: WS, disableBc: true, params: { token } })
  return { doc, p }
}
const synced = (p) => new Promise(res => { if (p.synced) res(); else p.once('synced', () => res()) })
const until = (cond) => new Promise((res, rej) => {
  const start = Date.now()
  const tick = () => { if (cond()) res(); else if (Date.now() - start > 15000) rej(new Error('condition timed out')); else setTimeout(tick, 20) }
  tick()
})
;(async () => {
  const ro = mk(301, inp.read), w = mk(302, inp.write)
  await Promise.all([synced(ro.p), synced(w.p)])
  const roInitial = ro.doc.getText('t').toString()
  ro.doc.getText('t').insert(0, 'evil ')
  w.doc.getText('t').insert(5, ' world')
  await until(() => ro.doc.getText('t').toString().includes(' world'))
  const roFinal = ro.doc.getText('t').toString()
  // An expired token: closed with 4401, and no reconnection.
  const ex = mk(303, inp.expired)
  let opens = 0
  ex.p.on('status', (e) => { if (e.status === 'connected') opens++ })
  const closed = await new Promise(res => ex.p.on('closed', (e) => res(e)))
  await new Promise(res => setTimeout(res, 500))
  const res = { roInitial, roFinal, closedCode: closed.code, closedReason: closed.reason, reconnected: opens > 1 || ex.p.shouldConnect }
  for (const c of [ro, w, ex]) { c.p.destroy(); c.doc.destroy() }
  clearTimeout(killer)
  writeOutput(res)
  process.exit(0)
})().catch(e => { console.error(e); process.exit(1) })
`, map[string]any{
		"url": "ws" + e.hs.URL[len("http"):] + "/sync", "room": "auth",
		"read":    issue(t, a, "auth", AccessRead, time.Hour),
		"write":   issue(t, a, "auth", AccessWrite, time.Hour),
		"expired": issue(t, a, "auth", AccessWrite, -time.Minute),
	}, &out)

	if out.ROInitial != "hello" {
		t.Errorf("read-only client synced %q, want hello", out.ROInitial)
	}
	if !strings.Contains(out.ROFinal, "hello world") {
		t.Errorf("read-only client ended with %q, want the writer's edit", out.ROFinal)
	}
	if out.ClosedCode != int(statusUnauthorized) || out.ClosedReason != "token expired" || out.Reconnected {
		t.Errorf("expired token: closed %d %q, reconnected %v", out.ClosedCode, out.ClosedReason, out.Reconnected)
	}
	if got := serverText(t, e.store, "auth", "t"); got != "hello world" {
		t.Errorf("server text = %q: the read-only edit got in, or the write did not", got)
	}
}
