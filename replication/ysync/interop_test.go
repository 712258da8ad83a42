package ysync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"octobase/engine/crdt"
	"octobase/internal/jstest"
)

// interopJS drives the real y-protocols 1.0.7 (sync.js, awareness.js,
// auth.js) the way y-websocket and its reference server do. Requests carry an
// op; see the cases.
const interopJS = `
const Y = require('yjs')
const sync = require('y-protocols/sync')
const awarenessProtocol = require('y-protocols/awareness')
const auth = require('y-protocols/auth')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')

const msg = (f) => { const e = encoding.createEncoder(); f(e); return encoding.toUint8Array(e) }
const newDoc = (client) => { const d = new Y.Doc(); d.clientID = client; return d }
// An Awareness without its 3 s timer: the test drives time.
const newAwareness = (client) => {
  const aw = new awarenessProtocol.Awareness(newDoc(client))
  clearInterval(aw._checkInterval)
  return aw
}
const table = (aw) => Array.from(aw.meta.keys()).sort((a, b) => a - b).map(id => ({
  id, clock: aw.meta.get(id).clock, has: aw.states.has(id),
  state: aw.states.has(id) ? JSON.stringify(aw.states.get(id)) : 'null'
}))
const record = (aw, events) => {
  aw.on('change', (c) => events.push({ kind: 'change', added: c.added, updated: c.updated, removed: c.removed }))
  aw.on('update', (c) => events.push({ kind: 'update', added: c.added, updated: c.updated, removed: c.removed }))
}
const docState = (d) => ({
  sv: Y.encodeStateVector(d),
  text: d.getText('t').toString(),
  map: JSON.stringify(d.getMap('m').toJSON()),
  pending: d.store.pendingStructs !== null || d.store.pendingDs !== null
})
const edit = (d, ops) => d.transact(() => {
  for (const o of ops) {
    const t = d.getText('t')
    if (o.t === 'tins') t.insert(Math.floor(o.f * (t.length + 1)), o.s)
    else if (o.t === 'tdel') {
      const i = Math.floor(o.f * t.length)
      t.delete(i, Math.min(o.n, t.length - i))
    } else if (o.t === 'mset') d.getMap('m').set(o.k, o.v)
    else if (o.t === 'mdel') d.getMap('m').delete(o.k)
  }
})

// session state
let sdoc = null, outbox = []
// awareness differential state
let saw = null

serve((req) => {
  switch (req.op) {
    case 'golden': {
      const doc = newDoc(11)
      doc.getText('t').insert(0, 'hello world')
      const partialSV = Y.encodeStateVector(doc)
      let last = null
      doc.on('update', (u) => { last = u })
      doc.transact(() => {
        doc.getText('t').delete(0, 6)
        doc.getMap('m').set('k', { a: [1, 2], s: 'ü' })
      })
      const out = {
        update: Y.encodeStateAsUpdate(doc),
        partialSV,
        lastUpdate: last,
        step1: msg(e => { encoding.writeVarUint(e, 0); sync.writeSyncStep1(e, doc) }),
        step2Full: msg(e => { encoding.writeVarUint(e, 0); sync.writeSyncStep2(e, doc) }),
        step2Diff: msg(e => { encoding.writeVarUint(e, 0); sync.writeSyncStep2(e, doc, partialSV) }),
        updateMsg: msg(e => { encoding.writeVarUint(e, 0); sync.writeUpdate(e, last) }),
        denied: msg(e => { encoding.writeVarUint(e, 2); auth.writePermissionDenied(e, req.reason) }),
        query: msg(e => { encoding.writeVarUint(e, 3) })
      }
      const aw = newAwareness(21)
      aw.setLocalState({ user: { name: 'Ann', color: '#f00' }, cursor: null })
      const awMsg = (ids) => msg(e => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(aw, ids)) })
      out.awLocal = awMsg([21])
      const aw2 = newAwareness(22)
      aw2.setLocalState({ 2: 'b', 1: 'a', n: 1.5e300 })
      out.aw2Update = awarenessProtocol.encodeAwarenessUpdate(aw2, [22])
      awarenessProtocol.applyAwarenessUpdate(aw, out.aw2Update, 'test')
      out.awBoth = awMsg([21, 22])
      awarenessProtocol.removeAwarenessStates(aw, [21], 'test')
      out.awRemoved = awMsg([21])
      return out
    }
    case 'read': {
      // Read Go-made messages as y-websocket's client does, with one doc
      // and one awareness across the request.
      const doc = newDoc(99)
      const aw = newAwareness(98)
      const results = []
      for (const m of req.msgs) {
        const decoder = decoding.createDecoder(fromB64(m))
        const encoder = encoding.createEncoder()
        const type = decoding.readVarUint(decoder)
        const r = { type }
        if (type === 0) {
          encoding.writeVarUint(encoder, 0)
          r.sub = sync.readSyncMessage(decoder, encoder, doc, 'go', (err) => { r.error = String(err) })
          if (encoding.length(encoder) > 1) r.reply = encoding.toUint8Array(encoder)
        } else if (type === 1) {
          awarenessProtocol.applyAwarenessUpdate(aw, decoding.readVarUint8Array(decoder), 'go')
        } else if (type === 2) {
          auth.readAuthMessage(decoder, doc, (_, reason) => { r.reason = reason })
        }
        results.push(r)
      }
      return { results, doc: docState(doc), awareness: table(aw) }
    }
    case 'init':
      sdoc = newDoc(req.client)
      outbox = []
      sdoc.on('update', (u, origin) => {
        if (origin !== 'go') outbox.push(msg(e => { encoding.writeVarUint(e, 0); sync.writeUpdate(e, u) }))
      })
      return null
    case 'edit':
      edit(sdoc, req.ops)
      return null
    case 'step1':
      return msg(e => { encoding.writeVarUint(e, 0); sync.writeSyncStep1(e, sdoc) })
    case 'recv': {
      // What the reference server does with a sync message.
      const decoder = decoding.createDecoder(fromB64(req.msg))
      const encoder = encoding.createEncoder()
      const type = decoding.readVarUint(decoder)
      if (type !== 0) throw new Error('not a sync message: ' + type)
      encoding.writeVarUint(encoder, 0)
      let error = null
      sync.readSyncMessage(decoder, encoder, sdoc, 'go', (err) => { error = String(err) })
      if (error !== null) throw new Error(error)
      return encoding.length(encoder) > 1 ? [encoding.toUint8Array(encoder)] : []
    }
    case 'drain': {
      const o = outbox
      outbox = []
      return o
    }
    case 'state':
      return docState(sdoc)
    case 'awInit':
      saw = newAwareness(req.client)
      return table(saw)
    case 'awApply': {
      const events = []
      record(saw, events)
      try {
        if (req.kind === 'apply') awarenessProtocol.applyAwarenessUpdate(saw, fromB64(req.update), 'remote')
        else if (req.kind === 'local') saw.setLocalState(JSON.parse(req.state))
        else if (req.kind === 'remove') awarenessProtocol.removeAwarenessStates(saw, req.ids, 'remote')
      } finally {
        saw._observers = new Map()
      }
      const ids = Array.from(saw.meta.keys()).sort((a, b) => a - b)
      return { events, table: table(saw), encoded: awarenessProtocol.encodeAwarenessUpdate(saw, ids) }
    }
  }
  throw new Error('unknown op ' + req.op)
})
`

type jsDocState struct {
	SV      []byte
	Text    string
	Map     string
	Pending bool
}

func call(tb testing.TB, p *jstest.Proc, req, resp any) {
	tb.Helper()
	if err := p.Call(req, resp); err != nil {
		tb.Fatalf("node: %v\n%s", err, p.Stderr())
	}
}

func decodeOK(tb testing.TB, b []byte) Message {
	tb.Helper()
	m, err := Decode(b)
	if err != nil {
		tb.Fatalf("Decode(% x): %v", b, err)
	}
	return m
}

// TestGoldenYProtocols compares our encodings with the bytes y-protocols
// writes for the same inputs, and our decoding of them.
func TestGoldenYProtocols(t *testing.T) {
	jstest.Available(t)
	p := jstest.Start(t, interopJS)
	const reason = "read-only ✓"
	var g struct {
		Update, PartialSV, LastUpdate                         []byte
		Step1, Step2Full, Step2Diff, UpdateMsg, Denied, Query []byte
		AwLocal, Aw2Update, AwBoth, AwRemoved                 []byte
	}
	call(t, p, map[string]any{"op": "golden", "reason": reason}, &g)

	doc := newDoc(t, 1)
	if err := doc.ApplyUpdate(g.Update, nil); err != nil {
		t.Fatal(err)
	}
	same := func(name string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got % x\nwant % x", name, got, want)
		}
	}
	// Ours from the same inputs.
	same("Step1", Step1(doc), g.Step1)
	same("AppendUpdate", AppendUpdate(nil, g.LastUpdate), g.UpdateMsg)
	same("AppendAuthDenied", AppendAuthDenied(nil, reason), g.Denied)
	same("AppendQueryAwareness", AppendQueryAwareness(nil), g.Query)
	partial, err := crdt.DecodeStateVector(g.PartialSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		step []byte
		want []byte
	}{
		{"reply to empty Step1", AppendSyncStep1(nil, nil), g.Step2Full},
		{"reply to partial Step1", AppendSyncStep1(nil, partial), g.Step2Diff},
		// Up to date: no structs, but yjs always sends the whole delete set
		// (client 11 deleted clocks 0..5).
		{"reply to yjs Step1", g.Step1, AppendSyncStep2(nil, []byte{0, 1, 11, 1, 0, 6})},
	} {
		r, err := Handle(doc, tc.step, nil, nil)
		if err != nil || len(r) != 1 {
			t.Fatalf("%s: %v, %v", tc.name, r, err)
		}
		same(tc.name, r[0], tc.want)
	}

	// Theirs decoded, and re-encoded to the same bytes.
	want := map[string]Message{
		"step1":     SyncStep1{SV: doc.StateVector()},
		"step2Full": SyncStep2{Update: g.Update},
		"step2Diff": SyncStep2{Update: doc.EncodeStateAsUpdate(partial)},
		"update":    Update{Update: g.LastUpdate},
		"denied":    AuthDenied{Reason: reason},
		"query":     QueryAwareness{},
		"awLocal":   AwarenessUpdate{Update: g.AwLocal[2:]},
	}
	for name, b := range map[string][]byte{"step1": g.Step1, "step2Full": g.Step2Full, "step2Diff": g.Step2Diff,
		"update": g.UpdateMsg, "denied": g.Denied, "query": g.Query, "awLocal": g.AwLocal, "awBoth": g.AwBoth, "awRemoved": g.AwRemoved} {
		m := decodeOK(t, b)
		if w, ok := want[name]; ok && !messagesEqual(m, w) {
			t.Errorf("Decode(%s) = %v, want %v", name, m, w)
		}
		same("re-encoded "+name, Encode(m), b)
	}
	es, err := DecodeAwarenessUpdate(decodeOK(t, g.AwBoth).(AwarenessUpdate).Update)
	if err != nil {
		t.Fatal(err)
	}
	wantEntries := []AwarenessEntry{
		{ClientID: 21, Clock: 1, State: `{"user":{"name":"Ann","color":"#f00"},"cursor":null}`},
		{ClientID: 22, Clock: 1, State: `{"1":"a","2":"b","n":1.5e+300}`},
	}
	if !reflect.DeepEqual(es, wantEntries) {
		t.Errorf("awareness entries = %+v", es)
	}

	// Our awareness table, driven like theirs, writes the same bytes.
	aw := NewAwareness(21, 0)
	if _, err := aw.SetLocalState(`{ "user": {"name":"Ann", "color":"#f00"}, "cursor": null }`, 1); err != nil {
		t.Fatal(err)
	}
	same("awareness local", AppendAwareness(nil, aw.Encode([]uint64{21})), g.AwLocal)
	aw2 := NewAwareness(22, 0)
	if _, err := aw2.SetLocalState(`{"2":"b","1":"a","n":15e299}`, 1); err != nil {
		t.Fatal(err)
	}
	same("awareness 22", aw2.Encode([]uint64{22}), g.Aw2Update)
	if c, err := aw.Apply(g.Aw2Update, 2); err != nil || !reflect.DeepEqual(c, Change{Added: []uint64{22}}) {
		t.Fatalf("Apply = %+v, %v", c, err)
	}
	same("awareness both", AppendAwareness(nil, aw.Encode([]uint64{21, 22})), g.AwBoth)
	c := aw.RemoveStates([]uint64{21}, 3)
	same("awareness removed", AppendAwareness(nil, aw.Encode(c.Clients())), g.AwRemoved)
}

// TestGoMessagesReadByYProtocols sends our messages to y-protocols' readers,
// as a y-websocket client would receive them from our server.
func TestGoMessagesReadByYProtocols(t *testing.T) {
	jstest.Available(t)
	p := jstest.Start(t, interopJS)

	doc := newDoc(t, 5)
	insertText(t, doc, 0, "héllo 👋")
	setKey(t, doc, "k", "v")
	var later []byte
	cancel := doc.OnUpdate(func(u []byte, _ *crdt.Txn) { later = bytes.Clone(u) })
	insertText(t, doc, 0, "» ")
	cancel()
	sv := doc.StateVector()
	setKey(t, doc, "k2", 2.0)

	aw := NewAwareness(5, 0)
	if _, err := aw.SetLocalState(`{"name":"Go","cursor":{"anchor":3}}`, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Apply(EncodeAwarenessUpdate([]AwarenessEntry{{ClientID: 6, Clock: 4, State: `[1,"x"]`}}), 0); err != nil {
		t.Fatal(err)
	}

	msgs := [][]byte{
		AppendSyncStep1(nil, nil), // 0: yjs replies with its (empty) state
		AppendSyncStep2(nil, doc.EncodeStateAsUpdate(nil)),
		AppendUpdate(nil, later), // already known: a no-op
		AppendSyncStep1(nil, sv), // 3: yjs replies with what sv lacks
		AppendAwareness(nil, aw.EncodeAll()),
		AppendAuthDenied(nil, "nope ✓"),
		AppendQueryAwareness(nil),
	}
	var out struct {
		Results []struct {
			Type, Sub     int
			Reply         []byte
			Reason, Error string
		}
		Doc       jsDocState
		Awareness []struct {
			ID, Clock uint64
			Has       bool
			State     string
		}
	}
	call(t, p, map[string]any{"op": "read", "msgs": msgs}, &out)
	for i, r := range out.Results {
		if r.Error != "" {
			t.Errorf("message %d: y-protocols error %s", i, r.Error)
		}
	}
	if m := decodeOK(t, out.Results[0].Reply); !messagesEqual(m, SyncStep2{Update: []byte{0, 0}}) {
		t.Errorf("reply to Step1 = %v", m)
	}
	// yjs' diff for sv equals ours: both documents hold the same history.
	want, err := HandleMessage(doc, SyncStep1{SV: sv}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Results[3].Reply, want[0]) {
		t.Errorf("yjs Step2 for sv = % x\n             ours % x", out.Results[3].Reply, want[0])
	}
	if out.Results[5].Reason != "nope ✓" || out.Results[6].Type != MsgQueryAwareness {
		t.Errorf("auth/query results = %+v", out.Results[5:])
	}
	checkDocState(t, doc, out.Doc)
	if len(out.Awareness) != 3 { // 98 (theirs), 5 and 6
		t.Fatalf("y-protocols awareness = %+v", out.Awareness)
	}
	for _, r := range out.Awareness {
		if r.ID == 98 {
			continue
		}
		cs, _ := aw.Get(r.ID)
		if r.Clock != cs.Clock || r.State != cs.State || !r.Has {
			t.Errorf("client %d: y-protocols has %+v, we have %+v", r.ID, r, cs)
		}
	}
}

func checkDocState(tb testing.TB, d *crdt.Doc, js jsDocState) {
	tb.Helper()
	if got := crdt.EncodeStateVector(d.StateVector()); !bytes.Equal(got, js.SV) {
		tb.Errorf("state vector: ours % x, yjs % x", got, js.SV)
	}
	x, _ := d.GetText("t")
	if x.String() != js.Text {
		tb.Errorf("text: ours %q, yjs %q", x.String(), js.Text)
	}
	m, _ := d.GetMap("m")
	var a, b any
	if err := json.Unmarshal([]byte(jsonText(tb, m.ToJSON())), &a); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal([]byte(js.Map), &b); err != nil {
		tb.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		tb.Errorf("map: ours %s, yjs %s", jsonText(tb, m.ToJSON()), js.Map)
	}
	if js.Pending || d.HasPending() {
		tb.Errorf("pending structs left: yjs %v, ours %v", js.Pending, d.HasPending())
	}
}

// editOp is one local edit, applied the same way here and in Node; positions
// are fractions of the current length so they are valid on either side.
type editOp struct {
	T string  `json:"t"`
	F float64 `json:"f"`
	S string  `json:"s,omitempty"`
	N int     `json:"n,omitempty"`
	K string  `json:"k,omitempty"`
	V any     `json:"v,omitempty"`
}

func randomOps(r *rand.Rand) []editOp {
	ops := make([]editOp, 1+r.IntN(3))
	for i := range ops {
		o := editOp{F: r.Float64()}
		switch r.IntN(5) {
		case 0, 1:
			o.T, o.S = "tins", []string{"a", "bc", "déf", "👋", "xyz "}[r.IntN(5)]
		case 2:
			o.T, o.N = "tdel", 1+r.IntN(3)
		case 3:
			o.T, o.K, o.V = "mset", fmt.Sprint("k", r.IntN(4)), []any{"s", 1.5, true, nil}[r.IntN(4)]
		default:
			o.T, o.K = "mdel", fmt.Sprint("k", r.IntN(4))
		}
		ops[i] = o
	}
	return ops
}

// applyOps applies ops to d in one transaction, as the JS edit() does.
func applyOps(tb testing.TB, d *crdt.Doc, ops []editOp) {
	tb.Helper()
	x, _ := d.GetText("t")
	m, _ := d.GetMap("m")
	var err error
	d.Transact(nil, func(tx *crdt.Txn) {
		for _, o := range ops {
			switch o.T {
			case "tins":
				err = x.Insert(tx, int(o.F*float64(x.Len()+1)), o.S, nil)
			case "tdel":
				i := int(o.F * float64(x.Len()))
				err = x.Delete(tx, i, min(o.N, x.Len()-i))
			case "mset":
				err = m.Set(tx, o.K, o.V)
			case "mdel":
				m.Delete(tx, o.K)
			}
			if err != nil {
				return
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestSyncSessionWithYjs runs random sessions between a crdt.Doc answered by
// Handle and a yjs document answered by y-protocols' readSyncMessage (as the
// reference server does): handshake, concurrent edits, out-of-order delivery
// and reconnects. Both must end with the same state.
func TestSyncSessionWithYjs(t *testing.T) {
	jstest.Available(t)
	p := jstest.Start(t, interopJS)
	sessions, steps := 25, 60
	if testing.Short() {
		sessions = 5
	}
	for seed := uint64(1); seed <= uint64(sessions); seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		ok := t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			syncSession(t, p, r, steps)
		})
		if !ok {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func syncSession(t *testing.T, p *jstest.Proc, r *rand.Rand, steps int) {
	goDoc := newDoc(t, 1000+r.Uint64N(1000))
	call(t, p, map[string]any{"op": "init", "client": 2000 + r.IntN(1000)}, nil)
	var toJS [][]byte
	goDoc.OnUpdate(func(u []byte, tx *crdt.Txn) {
		if tx.Origin != "js" {
			toJS = append(toJS, AppendUpdate(nil, u))
		}
	})
	// Go → JS: one message, replies come back to Go.
	sendJS := func(m []byte) {
		var replies [][]byte
		call(t, p, map[string]any{"op": "recv", "msg": m}, &replies)
		for _, rep := range replies {
			if back := exchange(t, goDoc, rep, "js", nil); len(back) != 0 {
				t.Fatalf("reply to a reply: %v", back)
			}
		}
	}
	// JS → Go.
	sendGo := func(m []byte) {
		for _, rep := range exchange(t, goDoc, m, "js", nil) {
			sendJS(rep)
		}
	}
	handshake := func() {
		var step1 []byte
		call(t, p, map[string]any{"op": "step1"}, &step1)
		sendGo(step1)
		sendJS(Step1(goDoc))
	}
	drainJS := func(shuffle bool) {
		var out [][]byte
		call(t, p, map[string]any{"op": "drain"}, &out)
		if shuffle {
			r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		}
		for _, m := range out {
			sendGo(m)
		}
	}
	drainGo := func(shuffle bool) {
		out := toJS
		toJS = nil
		if shuffle {
			r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		}
		for _, m := range out {
			sendJS(m)
		}
	}

	// Edits before connecting.
	applyOps(t, goDoc, randomOps(r))
	call(t, p, map[string]any{"op": "edit", "ops": randomOps(r)}, nil)
	toJS = nil
	call(t, p, map[string]any{"op": "drain"}, nil)
	handshake()
	for range steps {
		switch r.IntN(7) {
		case 0, 1:
			applyOps(t, goDoc, randomOps(r))
		case 2, 3:
			call(t, p, map[string]any{"op": "edit", "ops": randomOps(r)}, nil)
		case 4:
			drainGo(r.IntN(3) == 0)
		case 5:
			drainJS(r.IntN(3) == 0)
		case 6: // reconnect: queued updates are lost, the handshake repairs
			toJS = nil
			call(t, p, map[string]any{"op": "drain"}, nil)
			handshake()
		}
	}
	drainGo(false)
	drainJS(false)
	var js jsDocState
	call(t, p, map[string]any{"op": "state"}, &js)
	checkDocState(t, goDoc, js)
}

type jsAwRow struct {
	ID, Clock uint64
	Has       bool
	State     string
}

type jsAwEvent struct {
	Kind                    string
	Added, Updated, Removed []uint64
}

// TestAwarenessAgainstYProtocols applies the same random awareness traffic to
// our table and to y-protocols' Awareness, and requires the same events, the
// same table and the same encoding.
func TestAwarenessAgainstYProtocols(t *testing.T) {
	jstest.Available(t)
	p := jstest.Start(t, interopJS)
	states := []string{`{"a":1}`, `{"b":2,"a":1}`, `{"a":1,"b":2}`, ` { "a" : 1 } `, `null`, `null`, `0`, `""`,
		`false`, `true`, `[1,2]`, `"x"`, `{"u":{"n":"z"}}`, `{"2":1,"1":0}`, `1e400`, `-0`, `{"a":[{"b":null}]}`}
	const local = 7
	sessions, steps := 20, 40
	if testing.Short() {
		sessions = 4
	}
	seen := map[string]int{}
	for seed := uint64(1); seed <= uint64(sessions); seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		aw := NewAwareness(local, 0)
		var rows []jsAwRow
		call(t, p, map[string]any{"op": "awInit", "client": local}, &rows)
		for step := range steps {
			req := map[string]any{"op": "awApply"}
			var c Change
			var err error
			switch k := r.IntN(10); {
			case k < 7:
				n := 1 + r.IntN(3)
				es := make([]AwarenessEntry, n)
				for i := range es {
					id := []uint64{1, 2, 3, local}[r.IntN(4)]
					cs, _ := aw.Get(id)
					clock := cs.Clock + uint64(r.IntN(3))
					if clock > 0 && r.IntN(4) == 0 {
						clock--
					}
					es[i] = AwarenessEntry{ClientID: id, Clock: clock, State: states[r.IntN(len(states))]}
				}
				u := EncodeAwarenessUpdate(es)
				req["kind"], req["update"] = "apply", u
				c, err = aw.Apply(u, int64(step))
			case k < 9:
				s := states[r.IntN(len(states))]
				req["kind"], req["state"] = "local", s
				c, err = aw.SetLocalState(s, int64(step))
			default:
				ids := []uint64{uint64(r.IntN(4)), local}[:1+r.IntN(2)]
				req["kind"], req["ids"] = "remove", ids
				c = aw.RemoveStates(ids, int64(step))
			}
			if err != nil {
				t.Fatal(err)
			}
			seen["added"] += len(c.Added)
			seen["removed"] += len(c.Removed)
			seen["modified"] += len(c.Modified)
			seen["renewed"] += len(c.Updated) - len(c.Modified)
			if slices.Contains(c.Removed, local) && req["kind"] == "apply" {
				seen["remote removal of local"]++
			}
			var out struct {
				Events  []jsAwEvent
				Table   []jsAwRow
				Encoded []byte
			}
			call(t, p, req, &out)
			var want []jsAwEvent
			if c.Changed() {
				want = append(want, jsAwEvent{"change", c.Added, c.Modified, c.Removed})
			}
			if !c.Empty() || req["kind"] == "local" {
				want = append(want, jsAwEvent{"update", c.Added, c.Updated, c.Removed})
			}
			if !eventsEqual(out.Events, want) {
				t.Fatalf("seed %d step %d %v: events\n got  %+v\n yjs  %+v", seed, step, req, want, out.Events)
			}
			var ids []uint64
			for _, row := range out.Table {
				ids = append(ids, row.ID)
				cs, ok := aw.Get(row.ID)
				_, has := aw.State(row.ID)
				if !ok || cs.Clock != row.Clock || cs.State != row.State || has != row.Has {
					t.Fatalf("seed %d step %d: client %d: ours %+v (has %v), y-protocols %+v", seed, step, row.ID, cs, has, row)
				}
			}
			if got := aw.Encode(ids); !bytes.Equal(got, out.Encoded) {
				t.Fatalf("seed %d step %d: Encode\n got  % x\n yjs  % x", seed, step, got, out.Encoded)
			}
			if len(ids) != countKnown(aw) {
				t.Fatalf("seed %d step %d: y-protocols knows %v", seed, step, ids)
			}
		}
	}
	// The generator must keep reaching every rule.
	for _, k := range []string{"added", "removed", "modified", "renewed", "remote removal of local"} {
		if seen[k] == 0 {
			t.Errorf("no %s case was generated: %v", k, seen)
		}
	}
	t.Logf("cases: %v", seen)
}

func countKnown(a *Awareness) int { return len(a.meta) }

func eventsEqual(a, b []jsAwEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || !slices.Equal(a[i].Added, b[i].Added) ||
			!slices.Equal(a[i].Updated, b[i].Updated) || !slices.Equal(a[i].Removed, b[i].Removed) {
			return false
		}
	}
	return true
}
