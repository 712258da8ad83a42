package crdt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"octobase/engine/lib0"
	"octobase/internal/jstest"
)

// op is one local edit, interpreted identically here and by yjs in Node.
type op struct {
	T     string         `json:"t"`
	K     string         `json:"k,omitempty"`
	I     int            `json:"i,omitempty"`
	N     int            `json:"n,omitempty"`
	S     string         `json:"s,omitempty"`
	V     any            `json:"v,omitempty"`
	Vals  []any          `json:"vals,omitempty"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// step is either a local transaction of Doc or the delivery of update Seq
// of doc From to Doc.
type step struct {
	Doc  int  `json:"doc"`
	Txn  []op `json:"txn,omitempty"`
	From int  `json:"from"`
	Seq  int  `json:"seq"`
	V2   bool `json:"v2,omitempty"`
}

type script struct {
	Clients []uint64 `json:"clients"`
	GC      bool     `json:"gc"`
	Events  bool     `json:"events"`
	Steps   []step   `json:"steps"`
}

func runOps(tb testing.TB, d *Doc, ops []op) {
	m, _ := d.GetMap("map")
	a, _ := d.GetArray("array")
	txt, _ := d.GetText("text")
	x, _ := d.GetXmlFragment("xml")
	d.Transact(nil, func(tx *Txn) {
		for _, o := range ops {
			var err error
			switch o.T {
			case "mset":
				err = m.Set(tx, o.K, o.V)
			case "mmap":
				nm := NewMap()
				if err = m.Set(tx, o.K, nm); err == nil {
					err = nm.Set(tx, "inner", o.V)
				}
			case "mdel":
				m.Delete(tx, o.K)
			case "ains":
				err = a.Insert(tx, o.I, o.Vals...)
			case "adel":
				err = a.Delete(tx, o.I, o.N)
			case "tins":
				err = txt.Insert(tx, o.I, o.S, o.Attrs)
			case "tdel":
				err = txt.Delete(tx, o.I, o.N)
			case "tfmt":
				err = txt.Format(tx, o.I, o.N, o.Attrs)
			case "temb":
				err = txt.InsertEmbed(tx, o.I, o.V, o.Attrs)
			case "xins":
				el := NewXmlElement("p")
				if err = x.Insert(tx, o.I, el); err == nil {
					if err = el.SetAttribute(tx, "id", o.S); err == nil {
						xt := NewXmlText()
						if err = el.Insert(tx, 0, xt); err == nil {
							err = xt.Insert(tx, 0, "hi", nil)
						}
					}
				}
			case "xdel":
				err = x.Delete(tx, o.I, 1)
			default:
				err = fmt.Errorf("unknown op %q", o.T)
			}
			if err != nil {
				tb.Fatalf("op %+v: %v", o, err)
			}
		}
	})
}

// textRange picks a range of at most maxN units that does not cut a
// surrogate pair. It needs the text as it is (tlen unchanged by this
// transaction); otherwise it gives up unless the text is ASCII-only.
func textRange(d *Doc, r *rand.Rand, tlen, maxN int, astral bool) (int, int, bool) {
	if tlen == 0 {
		return 0, 0, false
	}
	i := r.IntN(tlen)
	n := 1 + r.IntN(min(maxN, tlen-i))
	cur := d.share["text"]
	if cur == nil {
		return i, n, true
	}
	if tlen != cur.length {
		s := cur.textString()
		return i, n, !astral && lib0.UTF16Len(s) == len(s) && !strings.ContainsRune(s, 0xFFFD)
	}
	t := &Text{cur}
	i = safe(t, i)
	end := safe(t, i+n)
	if end <= i {
		end = min(i+2, tlen)
		if end <= i {
			return 0, 0, false
		}
	}
	return i, end - i, true
}

// genOps picks random edits valid for d's current state.
func genOps(r *rand.Rand, d *Doc) []op {
	// Peek at lengths without accessing the roots: in yjs, getText on a
	// root changes how later remote formatting is cleaned up, so roots are
	// accessed only where yjs accesses them too (when running the ops).
	rootLen := func(name string) int {
		if t := d.share[name]; t != nil {
			return t.length
		}
		return 0
	}
	var ops []op
	// Lengths change as ops run; track them locally.
	alen, tlen, xlen := rootLen("array"), rootLen("text"), rootLen("xml")
	astral := false
	for k := r.IntN(3) + 1; k > 0; k-- {
		switch r.IntN(13) {
		case 0:
			vals := []any{float64(r.IntN(100)), "str", true, nil, map[string]any{"a": 1.5, "b": []any{"x"}}}
			ops = append(ops, op{T: "mset", K: fmt.Sprint("k", r.IntN(5)), V: vals[r.IntN(len(vals))]})
		case 1:
			ops = append(ops, op{T: "mdel", K: fmt.Sprint("k", r.IntN(5))})
		case 2:
			ops = append(ops, op{T: "mmap", K: fmt.Sprint("k", r.IntN(5)), V: "v"})
		case 3:
			n := 1 + r.IntN(3)
			vals := make([]any, n)
			for i := range vals {
				vals[i] = float64(r.IntN(1000))
			}
			ops = append(ops, op{T: "ains", I: r.IntN(alen + 1), Vals: vals})
			alen += n
		case 4:
			if alen > 0 {
				i := r.IntN(alen)
				n := 1 + r.IntN(min(3, alen-i))
				ops = append(ops, op{T: "adel", I: i, N: n})
				alen -= n
			}
		case 5, 6, 7:
			w := []string{"a", "bc", "def", "\n", "xyz", "é", "😀", "a😀b"}[r.IntN(8)]
			// Positions stay off surrogate pairs: see safe in random_test.go.
			i := r.IntN(tlen + 1)
			if cur := d.share["text"]; cur != nil && tlen == cur.length {
				i = safe(&Text{cur}, i)
			} else if strings.ContainsRune(w, '😀') {
				w = "z" // positions after earlier edits are unknown; stay ASCII
			}
			o := op{T: "tins", I: i, S: w}
			if r.IntN(3) == 0 {
				o.Attrs = map[string]any{"italic": true}
			}
			ops = append(ops, o)
			tlen += lib0.UTF16Len(w)
			astral = astral || strings.ContainsRune(w, '😀')
		case 8:
			if i, n, ok := textRange(d, r, tlen, 4, astral); ok {
				ops = append(ops, op{T: "tdel", I: i, N: n})
				tlen -= n
			}
		case 9:
			if i, n, ok := textRange(d, r, tlen, 5, astral); ok {
				var v any = true
				if r.IntN(3) == 0 {
					v = nil
				}
				key := []string{"bold", "italic", "link"}[r.IntN(3)]
				if key == "link" && v != nil {
					v = map[string]any{"href": "x"}
				}
				ops = append(ops, op{T: "tfmt", I: i, N: n, Attrs: map[string]any{key: v}})
			}
		case 10:
			ops = append(ops, op{T: "temb", I: r.IntN(tlen + 1), V: map[string]any{"image": "p.png"}})
			tlen++
		case 11:
			ops = append(ops, op{T: "xins", I: r.IntN(xlen + 1), S: fmt.Sprint(r.IntN(9))})
			xlen++
		case 12:
			if xlen > 0 {
				ops = append(ops, op{T: "xdel", I: r.IntN(xlen)})
				xlen--
			}
		}
	}
	return ops
}

type jsResult struct {
	Logs    []json.RawMessage `json:"logs"`
	Updates [][]string        `json:"updates"` // per doc, base64 v1
	Docs    []struct {
		JSON  json.RawMessage `json:"json"`
		SV    string          `json:"sv"`
		State string          `json:"state"`
	} `json:"docs"`
	Error string `json:"error"`
}

const interopJS = `
const Y = require('yjs')
serve(inp => {
const docs = inp.clients.map(c => { const d = new Y.Doc({gc: inp.gc}); d.clientID = c; return d })
const updates = docs.map(() => [])
const logs = docs.map(() => [])
const evValue = v => (v instanceof Y.AbstractType) ? { $type: v.constructor.name.replace(/^Y/, '').toLowerCase() } : (v === undefined ? { $undefined: true } : v)
const evDelta = delta => delta.map(op => {
  const o = {}
  if (op.insert !== undefined) o.insert = Array.isArray(op.insert) ? op.insert.map(evValue) : evValue(op.insert)
  else if (op.delete !== undefined) o.delete = op.delete
  else o.retain = op.retain
  if (op.attributes !== undefined) o.attributes = op.attributes
  return o
})
if (inp.events) docs.forEach((d, i) => {
  const m = d.getMap('map'), a = d.getArray('array'), t = d.getText('text'), x = d.getXmlFragment('xml')
  m.observe(e => { const ks = [...e.keys.entries()].sort((p, q) => p[0] < q[0] ? -1 : 1); logs[i].push({ t: 'map', keys: ks.length ? ks.map(([k, c]) => [k, c.action, evValue(c.oldValue)]) : null }) })
  a.observe(e => logs[i].push({ t: 'array', delta: evDelta(e.changes.delta) }))
  t.observe(e => logs[i].push({ t: 'text', delta: evDelta(e.delta) }))
  x.observeDeep(es => logs[i].push({ t: 'xmldeep', paths: es.map(e => e.path) }))
  m.observeDeep(es => logs[i].push({ t: 'mapdeep', paths: es.map(e => e.path) }))
})
docs.forEach((d, i) => d.on('update', (u, origin) => { if (origin !== 'sync') updates[i].push(u) }))
const sortKeys = v => {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) { const o = {}; for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]); return o }
  return v
}
const run = (d, ops) => {
  const m = d.getMap('map'), a = d.getArray('array'), t = d.getText('text'), x = d.getXmlFragment('xml')
  d.transact(() => {
    for (const o of ops) {
      switch (o.t) {
        case 'mset': m.set(o.k, o.v === undefined ? null : o.v); break
        case 'mmap': { const nm = new Y.Map(); m.set(o.k, nm); nm.set('inner', o.v); break }
        case 'mdel': m.delete(o.k); break
        case 'ains': a.insert(o.i || 0, o.vals); break
        case 'adel': a.delete(o.i || 0, o.n); break
        case 'tins': t.insert(o.i || 0, o.s, o.attrs); break
        case 'tdel': t.delete(o.i || 0, o.n); break
        case 'tfmt': t.format(o.i || 0, o.n, o.attrs); break
        case 'temb': t.insertEmbed(o.i || 0, o.v, o.attrs); break
        case 'xins': { const el = new Y.XmlElement('p'); x.insert(o.i || 0, [el]); el.setAttribute('id', o.s); const xt = new Y.XmlText(); el.insert(0, [xt]); xt.insert(0, 'hi'); break }
        case 'xdel': x.delete(o.i || 0, 1); break
        default: throw new Error('op ' + o.t)
      }
    }
  })
}
for (const s of inp.steps) {
  if (s.txn) run(docs[s.doc], s.txn)
  else {
    const u = updates[s.from][s.seq]
    if (!u) return { error: 'yjs has no update ' + s.seq + ' of doc ' + s.from, updates: updates.map(us => us.map(b64)), docs: [] }
    Y.applyUpdate(docs[s.doc], u, 'sync')
  }
}
return {
  logs,
  updates: updates.map(us => us.map(b64)),
  docs: docs.map(d => ({
    json: sortKeys({ map: d.getMap('map').toJSON(), array: d.getArray('array').toJSON(), text: d.getText('text').toDelta(), xml: d.getXmlFragment('xml').toString() }),
    sv: b64(Y.encodeStateVector(d)),
    state: b64(Y.encodeStateAsUpdate(d))
  }))
}
})
`

func canonJSON(tb testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		tb.Fatal(err)
	}
	b, _ = json.Marshal(x) // maps marshal with sorted keys
	return string(b)
}

func goDocJSON(tb testing.TB, d *Doc) string {
	m, _ := d.GetMap("map")
	a, _ := d.GetArray("array")
	txt, _ := d.GetText("text")
	x, _ := d.GetXmlFragment("xml")
	return canonJSON(tb, map[string]any{"map": m.ToJSON(), "array": a.ToJSON(), "text": txt.ToDelta(), "xml": x.String()})
}

// TestInteropRandomAgainstYjs runs the same random multi-client sessions
// here and in yjs and requires byte-identical updates and equal documents.
func TestInteropRandomAgainstYjs(t *testing.T) {
	jstest.Available(t)
	sessions := 400
	if testing.Short() {
		sessions = 30
	}
	p := jstest.Start(t, interopJS)
	for seed := uint64(1); seed <= uint64(sessions); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { interopSession(t, p, seed, false) })
	}
}

// TestInteropEventsAgainstYjs runs sessions with observers on every root
// (map keys, array deltas, text deltas, deep paths) and requires the same
// events as yjs reports. Reading a text delta may delete redundant format
// items, in yjs and here alike, so the updates must still agree.
func TestInteropEventsAgainstYjs(t *testing.T) {
	jstest.Available(t)
	sessions := 200
	if testing.Short() {
		sessions = 15
	}
	p := jstest.Start(t, interopJS)
	for seed := uint64(1000); seed < 1000+uint64(sessions); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { interopSession(t, p, seed, true) })
	}
}

// observeAll records the events of a document's roots as JSON-able values,
// in the shape the JS side records them.
func observeAll(d *Doc, log *[]any) {
	m, _ := d.GetMap("map")
	a, _ := d.GetArray("array")
	txt, _ := d.GetText("text")
	x, _ := d.GetXmlFragment("xml")
	m.Type().Observe(func(e *Event) {
		var keys []any
		ks := e.Keys()
		names := make([]string, 0, len(ks))
		for k := range ks {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			c := ks[k]
			keys = append(keys, []any{k, c.Action.String(), eventValue(c.OldValue)})
		}
		*log = append(*log, map[string]any{"t": "map", "keys": keys})
	})
	a.Type().Observe(func(e *Event) {
		*log = append(*log, map[string]any{"t": "array", "delta": eventDelta(e.Delta())})
	})
	txt.Type().Observe(func(e *Event) {
		*log = append(*log, map[string]any{"t": "text", "delta": eventDelta(e.Delta())})
	})
	x.Type().ObserveDeep(func(es []*Event) {
		var paths []any
		for _, e := range es {
			paths = append(paths, e.Path())
		}
		*log = append(*log, map[string]any{"t": "xmldeep", "paths": paths})
	})
	m.Type().ObserveDeep(func(es []*Event) {
		var paths []any
		for _, e := range es {
			paths = append(paths, e.Path())
		}
		*log = append(*log, map[string]any{"t": "mapdeep", "paths": paths})
	})
}

func eventValue(v any) any {
	if t, ok := asType(v); ok {
		return map[string]any{"$type": typeTag(t.kind)}
	}
	if v == lib0.Undefined {
		return map[string]any{"$undefined": true}
	}
	return v
}

func eventDelta(ds []Delta) []any {
	out := []any{}
	for _, d := range ds {
		op := map[string]any{}
		switch {
		case d.Insert != nil:
			if vals, ok := d.Insert.([]any); ok {
				conv := make([]any, len(vals))
				for i, v := range vals {
					conv[i] = eventValue(v)
				}
				op["insert"] = conv
			} else {
				op["insert"] = eventValue(d.Insert)
			}
		case d.Delete > 0:
			op["delete"] = d.Delete
		default:
			op["retain"] = d.Retain
		}
		if d.Attributes != nil {
			op["attributes"] = d.Attributes
		}
		out = append(out, op)
	}
	return out
}

func interopSession(t *testing.T, p *jstest.Proc, seed uint64, events bool) {
	{
		r := rand.New(rand.NewPCG(seed, 42))
		sc := script{Clients: []uint64{1, 2, 3 + seed*1000}, GC: seed%2 == 0, Events: events}
		docs := make([]*Doc, len(sc.Clients))
		updates := make([][][]byte, len(docs))
		logs := make([][]any, len(docs))
		for i, c := range sc.Clients {
			docs[i] = MustNewDoc(Options{ClientID: c, DisableGC: !sc.GC})
			i := i
			docs[i].OnUpdate(func(u []byte, tx *Txn) {
				if tx.Origin != "sync" {
					updates[i] = append(updates[i], u)
				}
			})
			if events {
				observeAll(docs[i], &logs[i])
			}
		}
		delivered := make([]map[[2]int]bool, len(docs))
		for i := range delivered {
			delivered[i] = map[[2]int]bool{}
		}
		for round := 0; round < 10; round++ {
			for i, d := range docs {
				if r.IntN(3) == 0 {
					// no local edit this round
				} else if ops := genOps(r, d); len(ops) > 0 {
					sc.Steps = append(sc.Steps, step{Doc: i, Txn: ops})
					runOps(t, d, ops)
				}
				// deliver a random subset of others' updates, in random order
				var cands [][2]int
				for from := range docs {
					if from == i {
						continue
					}
					for seq := range updates[from] {
						if !delivered[i][[2]int{from, seq}] {
							cands = append(cands, [2]int{from, seq})
						}
					}
				}
				r.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
				last := round == 9
				for _, c := range cands {
					if !last && r.IntN(2) == 0 {
						continue
					}
					delivered[i][c] = true
					sc.Steps = append(sc.Steps, step{Doc: i, From: c[0], Seq: c[1]})
					if err := d.ApplyUpdate(updates[c[0]][c[1]], "sync"); err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
				}
			}
		}
		// final full sync
		for i, d := range docs {
			for from := range docs {
				for seq := range updates[from] {
					if from != i && !delivered[i][[2]int{from, seq}] {
						sc.Steps = append(sc.Steps, step{Doc: i, From: from, Seq: seq})
						if err := d.ApplyUpdate(updates[from][seq], "sync"); err != nil {
							t.Fatalf("seed %d: %v", seed, err)
						}
					}
				}
			}
		}
		var res jsResult
		if err := p.Call(sc, &res); err != nil {
			t.Fatalf("seed %d: yjs: %v", seed, err)
		}
		if res.Error != "" {
			if b, err := json.Marshal(sc); err == nil {
				t.Logf("script: %s", b)
			}
			for i := range docs {
				for k, u := range updates[i] {
					if k >= len(res.Updates[i]) {
						t.Fatalf("seed %d: %s; doc %d update %d only in Go: %x", seed, res.Error, i, k, u)
					}
					if want := res.Updates[i][k]; base64.StdEncoding.EncodeToString(u) != want {
						t.Fatalf("seed %d: %s; doc %d update %d differs\n go  %x\n yjs %x", seed, res.Error, i, k, u, mustB64(want))
					}
				}
			}
			t.Fatalf("seed %d: %s", seed, res.Error)
		}
		for i := range docs {
			for k := 0; k < max(len(updates[i]), len(res.Updates[i])); k++ {
				var g, y []byte
				if k < len(updates[i]) {
					g = updates[i][k]
				}
				if k < len(res.Updates[i]) {
					y = mustB64(res.Updates[i][k])
				}
				if string(g) != string(y) {
					if b, err := json.Marshal(sc); err == nil {
						t.Logf("script: %s", b)
					}
					t.Fatalf("seed %d: doc %d update %d differs\n go  %x\n yjs %x", seed, i, k, g, y)
				}
			}
		}
		for i := range docs {
			if got, want := goDocJSON(t, docs[i]), canonJSON(t, res.Docs[i].JSON); got != want {
				t.Fatalf("seed %d: doc %d JSON differs\n go  %s\n yjs %s", seed, i, got, want)
			}
			if got := base64.StdEncoding.EncodeToString(EncodeStateVector(docs[i].StateVector())); got != res.Docs[i].SV {
				t.Fatalf("seed %d: doc %d state vector differs", seed, i)
			}
			if got := base64.StdEncoding.EncodeToString(docs[i].EncodeStateAsUpdate(nil)); got != res.Docs[i].State {
				t.Fatalf("seed %d: doc %d encoded state differs\n go  %x\n yjs %x", seed, i, docs[i].EncodeStateAsUpdate(nil), mustB64(res.Docs[i].State))
			}
			if events {
				var want any
				if err := json.Unmarshal(res.Logs[i], &want); err != nil {
					t.Fatal(err)
				}
				if got, w := canonJSON(t, logs[i]), canonJSON(t, want); got != w {
					t.Fatalf("seed %d: doc %d events differ\n go  %s\n yjs %s", seed, i, got, w)
				}
			}
		}
	}
}

func mustB64(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}
