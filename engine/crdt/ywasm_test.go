package crdt

import (
	"testing"

	"octobase/internal/jstest"
)

// TestInteropYwasm exchanges updates with yrs (the ywasm package): edits
// made by yrs integrate here, ours integrate there, and both sides end with
// the same text, map and state vector.
func TestInteropYwasm(t *testing.T) {
	jstest.Available(t)
	d := MustNewDoc(Options{ClientID: 7})
	txt, _ := d.GetText("t")
	m, _ := d.GetMap("m")
	var ours [][]byte
	d.OnUpdate(func(u []byte, _ *Txn) { ours = append(ours, u) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(txt.Insert(nil, 0, "hello 😀 world", nil))
	must(m.Set(nil, "n", 42))
	must(m.Set(nil, "s", "str"))
	must(txt.Delete(nil, 0, 1))
	must(txt.Insert(nil, 0, "H", nil))
	var out struct {
		Updates [][]byte `json:"updates"`
		Text    string   `json:"text"`
		Map     map[string]any
		SV      []byte `json:"sv"`
		State   []byte `json:"state"`
	}
	jstest.Run(t, `
const Y = require('ywasm')
const inp = readInput()
const doc = new Y.YDoc({ clientID: 9 })
const updates = []
const t = doc.getText('t'), m = doc.getMap('m')
for (const u of inp.updates) Y.applyUpdate(doc, fromB64(u), 'remote')
doc.onUpdate(u => updates.push(u))
t.insert(t.length(), '!', undefined, undefined)
t.insert(0, '>> ', undefined, undefined)
m.set('from', 'yrs', undefined)
m.delete('n', undefined)
writeOutput({ updates, text: t.toString(), map: m.toJson(), sv: Y.encodeStateVector(doc), state: Y.encodeStateAsUpdate(doc) })
`, map[string]any{"updates": ours}, &out)
	for _, u := range out.Updates {
		must(d.ApplyUpdate(u, "yrs"))
	}
	if got, want := txt.String(), "\x3e> Hello 😀 world!"; got != want || got != out.Text {
		t.Fatalf("text here %q, in yrs %q, want %q", got, out.Text, want)
	}
	if v, _ := m.Get("from"); v != "yrs" || m.Has("n") {
		t.Fatalf("map here = %v", m.ToJSON())
	}
	if got := EncodeStateVector(d.StateVector()); string(got) != string(out.SV) {
		t.Fatalf("state vector %x, yrs %x", got, out.SV)
	}
	// yrs' full state loads here into the same document.
	d2 := MustNewDoc(Options{ClientID: 8})
	must(d2.ApplyUpdate(out.State, nil))
	t2, _ := d2.GetText("t")
	if t2.String() != txt.String() {
		t.Fatalf("yrs state loads as %q", t2.String())
	}
}
