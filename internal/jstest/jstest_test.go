package jstest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The update yjs emits when client 1 inserts "abc" into root text "t"
// (docs YJS.md §1, "Verified example").
const abcUpdateHex = "01010100040101740361626300"

func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("Root() = %q has no go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "jstest")); err != nil {
		t.Fatalf("Root() = %q does not hold internal/jstest: %v", root, err)
	}
}

func TestRunYTextInsert(t *testing.T) {
	want, _ := hex.DecodeString(abcUpdateHex)
	var out struct {
		Update  []byte `json:"update"`
		Text    string `json:"text"`
		Version string `json:"version"`
	}
	Run(t, `
const Y = require('yjs')
const inp = readInput()
const doc = new Y.Doc()
doc.clientID = inp.client
let update = null
doc.on('update', u => { update = u })
doc.getText(inp.root).insert(0, inp.text)
console.log('debug output goes to stderr, not into the JSON')
writeOutput({ update, text: doc.getText(inp.root).toString(), version: require('yjs/package.json').version })
`, map[string]any{"client": 1, "root": "t", "text": "abc"}, &out)
	if !bytes.Equal(out.Update, want) {
		t.Errorf("update = % x, want % x", out.Update, want)
	}
	if out.Text != "abc" {
		t.Errorf("text = %q, want %q", out.Text, "abc")
	}
	if !strings.HasPrefix(out.Version, "13.") {
		t.Errorf("yjs version = %q, want 13.x", out.Version)
	}
}

func TestRunBytesIn(t *testing.T) {
	update, _ := hex.DecodeString(abcUpdateHex)
	var out struct {
		Text string `json:"text"`
		SV   []byte `json:"sv"`
	}
	Run(t, `
const Y = require('yjs')
const { update } = readInput()
const doc = new Y.Doc()
Y.applyUpdate(doc, fromB64(update))
writeOutput({ text: doc.getText('t').toString(), sv: Y.encodeStateVector(doc) })
`, map[string]any{"update": update}, &out)
	if out.Text != "abc" {
		t.Errorf("text = %q, want abc", out.Text)
	}
	// One client (1) whose next clock is 3.
	if want := []byte{1, 1, 3}; !bytes.Equal(out.SV, want) {
		t.Errorf("state vector = % x, want % x", out.SV, want)
	}
}

func TestRunNilIO(t *testing.T) {
	Run(t, `if (readInput() !== null) throw new Error('want null input')`, nil, nil)
}

func TestProc(t *testing.T) {
	p := Start(t, `
const Y = require('yjs')
const docs = new Map()
serve(async (req) => {
	switch (req.op) {
	case 'insert': {
		let doc = docs.get(req.doc)
		if (!doc) { doc = new Y.Doc(); doc.clientID = req.client; docs.set(req.doc, doc) }
		let update = null
		const h = u => { update = u }
		doc.on('update', h)
		doc.getText('t').insert(req.index, req.text)
		doc.off('update', h)
		return { update, text: doc.getText('t').toString() }
	}
	case 'throw':
		throw new Error('asked to throw')
	default:
		return null
	}
})
`)
	type resp struct {
		Update []byte `json:"update"`
		Text   string `json:"text"`
	}
	var r resp
	if err := p.Call(map[string]any{"op": "insert", "doc": "a", "client": 1, "index": 0, "text": "abc"}, &r); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(r.Update); got != abcUpdateHex {
		t.Errorf("update = %s, want %s", got, abcUpdateHex)
	}
	// An exception in the handler is an error; the process keeps serving.
	err := p.Call(map[string]any{"op": "throw"}, nil)
	if err == nil || !strings.Contains(err.Error(), "asked to throw") {
		t.Fatalf("Call(throw) error = %v, want the script's exception", err)
	}
	// Many round trips, from several goroutines.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var r resp
				if err := p.Call(map[string]any{"op": "insert", "doc": string(rune('b' + g)), "client": 2 + g, "index": i, "text": "x"}, &r); err != nil {
					errs <- err
					return
				}
				if len(r.Text) != i+1 {
					errs <- fmt.Errorf("doc %d: text length %d, want %d", g, len(r.Text), i+1)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProcScriptDies(t *testing.T) {
	Available(t)
	p := Start(t, `serve(() => { process.exit(3) })`)
	err := p.Call(1, nil)
	if err == nil {
		t.Fatal("Call succeeded on a process that exits")
	}
	if err2 := p.Call(2, nil); err2 == nil {
		t.Fatal("second Call succeeded on a dead process")
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		require, ci string
		want        bool
	}{
		{"", "", false},
		{"1", "", true},
		{"0", "", false},
		{"", "true", true},
		{"", "false", false},
		{"false", "TRUE", true},
	} {
		t.Setenv(EnvRequireNode, tc.require)
		t.Setenv("CI", tc.ci)
		if got := Required(); got != tc.want {
			t.Errorf("Required() with %s=%q CI=%q = %v, want %v", EnvRequireNode, tc.require, tc.ci, got, tc.want)
		}
	}
}
