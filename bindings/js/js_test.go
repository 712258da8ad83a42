package js

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"octobase/bindings/bindingtest"
	"octobase/engine"
	"octobase/internal/jstest"
)

func TestMain(m *testing.M) { bindingtest.Main(m) }

// module builds cmd/octobase-wasm and returns the paths of the module and
// of Go's wasm_exec.js.
func module(t *testing.T) (wasm, wasmExec string) {
	t.Helper()
	jstest.Available(t)
	bindingtest.Track(t, "octobase.cjs", "example.cjs")
	wasm = bindingtest.BuildWasm(t)
	wasmExec = filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")
	if _, err := os.Stat(wasmExec); err != nil {
		t.Fatalf("wasm_exec.js: %v", err)
	}
	return wasm, wasmExec
}

// server is the Node.js side: a thin RPC layer over octobase.cjs.
const server = `
const octobase = require(%s)
let ob, store, ws, sub
const expectError = async (what, code, fn) => {
  try { await fn() } catch (e) {
    if (!(e instanceof octobase.OctoBaseError)) throw e
    return { what, code: e.code, want: code, message: e.message }
  }
  return { what, code: 0, want: code, message: 'did not fail' }
}
serve(async (req) => {
  switch (req.op) {
    case 'init':
      ob = await octobase.load({ wasm: req.wasm, wasmExec: req.wasmExec })
      store = await ob.openStore({ client_id: 404 })
      ws = await store.workspace('notes')
      sub = await ws.subscribe(0)
      return { abi: ob.abiVersion }
    case 'apply': return ws.apply(fromB64(req.update), 'go')
    case 'create': return ws.createBlock(req.block, 'js')
    case 'update': return ws.updateBlock(req.id, req.patch, 'js')
    case 'get': return ws.getBlock(req.id)
    case 'query': return ws.query(req.oql, req.params || [])
    case 'sv': return ws.stateVector()
    case 'diff': return ws.encodeState(fromB64(req.sv))
    case 'poll': return sub.poll(req.timeout)
    case 'yjs': {
      // The real yjs reads our state and its edits apply to ours.
      const Y = require('yjs')
      const doc = new Y.Doc()
      doc.clientID = 505
      Y.applyUpdate(doc, await ws.encodeState())
      const before = Y.encodeStateVector(doc)
      const block = doc.getMap('space:blocks').get('js-para')
      const flavour = block.get('sys:flavour')
      block.set('prop:from_yjs', 'hi')
      await ws.apply(Y.encodeStateAsUpdate(doc, before), 'yjs')
      return { flavour, block: await ws.getBlock('js-para') }
    }
    case 'errors': {
      const C = octobase.codes
      const raw = ob.raw
      return [
        await expectError('malformed update', C.ERR_UPDATE, () => ws.apply(new Uint8Array([255, 255, 255]))),
        await expectError('truncated update', C.ERR_UPDATE, () => ws.apply(fromB64(req.update).slice(0, 10))),
        await expectError('malformed state vector', C.ERR_UPDATE, () => ws.encodeState(new Uint8Array([255]))),
        await expectError('malformed JSON', C.ERR_JSON, () => raw.createBlock(ws.handle, '{"flavour":', '').catch(e => { throw new octobase.OctoBaseError(e.message, e.code) })),
        await expectError('unknown field', C.ERR_JSON, () => ws.createBlock({ flavour: 'x', nope: 1 })),
        await expectError('block exists', C.ERR_EXISTS, () => ws.createBlock({ id: 'js-para', flavour: 'x' })),
        await expectError('bad query', C.ERR_QUERY, () => ws.query('SELECT FROM')),
        await expectError('invalid handle', C.ERR_INVALID_HANDLE, () => new ws.constructor(raw, 98765).getBlock('x')),
        await expectError('store as workspace', C.ERR_INVALID_HANDLE, () => new ws.constructor(raw, store.handle).lastLSN()),
        await expectError('not a Uint8Array', C.ERR_INVALID_ARGUMENT, () => ws.apply('nope')),
        await expectError('disk store', C.ERR_INVALID_ARGUMENT, () => ob.openStore({ memory: false })),
        { what: 'missing block', code: (await ws.getBlock('nope')) === null ? C.ERR_NOT_FOUND : 0, want: C.ERR_NOT_FOUND, message: 'getBlock resolved to null' },
      ]
    }
    case 'close': {
      await sub.close()
      const afterSub = await expectError('poll after close', octobase.codes.ERR_INVALID_HANDLE, () => sub.poll(0))
      await store.close()
      const afterStore = await expectError('workspace after store close', octobase.codes.ERR_INVALID_HANDLE, () => ws.getBlock('go-page'))
      return [afterSub, afterStore]
    }
  }
  throw new Error('unknown op ' + req.op)
})
`

type blockJSON struct {
	ID       string         `json:"id"`
	Flavour  string         `json:"flavour"`
	Parent   *string        `json:"parent"`
	Children []string       `json:"children"`
	Creator  string         `json:"creator"`
	Props    map[string]any `json:"props"`
}

type rows struct {
	Columns []string         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

type change struct {
	LSN    uint64 `json:"lsn"`
	Origin string `json:"origin"`
	Blocks []struct {
		ID     string   `json:"id"`
		Op     string   `json:"op"`
		Fields []string `json:"fields"`
	} `json:"blocks"`
	Update []byte `json:"update"`
}

type errCase struct {
	What    string `json:"what"`
	Code    int    `json:"code"`
	Want    int    `json:"want"`
	Message string `json:"message"`
}

// TestSync edits one workspace from Go and from JavaScript (the WebAssembly
// module under Node.js) and syncs them both ways with state vectors and
// diffs, checking that both converge, that queries in JS see Go's edits and
// that JS's change stream reports them.
func TestSync(t *testing.T) {
	wasm, wasmExec := module(t)
	node := jstest.Start(t, fmt.Sprintf(server, strconv.Quote(filepath.Join(bindingtest.Root(t), "bindings", "js", "octobase.cjs"))))
	call := func(req map[string]any, resp any) {
		t.Helper()
		if err := node.Call(req, resp); err != nil {
			t.Fatalf("%v: %v", req["op"], err)
		}
	}
	var init struct{ ABI int }
	call(map[string]any{"op": "init", "wasm": wasm, "wasmExec": wasmExec}, &init)
	if init.ABI != 1 {
		t.Errorf("abi version %d", init.ABI)
	}

	// Go → JS.
	peer := bindingtest.NewPeer(t, "notes", 101)
	update := peer.Edit(t, func(b *engine.Blocks) error {
		if _, err := b.Create(engine.NewBlock{ID: "go-page", Flavour: "affine:page",
			Props: map[string]any{"title": engine.RichText{Text: "Made in Go"}}}); err != nil {
			return err
		}
		_, err := b.Create(engine.NewBlock{ID: "go-para", Flavour: "affine:paragraph", Parent: "go-page"})
		return err
	})
	var lsn uint64
	call(map[string]any{"op": "apply", "update": update}, &lsn)
	if lsn != 1 {
		t.Errorf("apply lsn = %d", lsn)
	}
	var b blockJSON
	call(map[string]any{"op": "get", "id": "go-page"}, &b)
	if title, _ := b.Props["title"].(map[string]any); title["$text"] != "Made in Go" || len(b.Children) != 1 {
		t.Fatalf("go-page in JS = %+v", b)
	}

	// JS edits: a new block under Go's page, and Go's title.
	call(map[string]any{"op": "create", "block": map[string]any{"id": "js-para", "flavour": "affine:paragraph",
		"creator": "js-user", "parent": "go-page", "props": map[string]any{"text": map[string]any{"$text": "from JS"}, "n": 1}}}, &b)
	call(map[string]any{"op": "update", "id": "go-page", "patch": map[string]any{
		"text": map[string]any{"title": []any{map[string]any{"retain": 10}, map[string]any{"insert": ", edited in JS"}}}}}, &b)
	var r rows
	call(map[string]any{"op": "query", "oql": "SELECT id, creator FROM blocks WHERE CHILD OF $1 ORDER BY id", "params": []any{"go-page"}}, &r)
	if len(r.Rows) != 2 || r.Rows[0]["id"] != "go-para" || r.Rows[1]["id"] != "js-para" || r.Rows[1]["creator"] != "js-user" {
		t.Errorf("query in JS = %+v", r)
	}

	// JS → Go.
	var diff []byte
	call(map[string]any{"op": "diff", "sv": peer.StateVector(t)}, &diff)
	peer.Apply(t, diff)
	if got := peer.Get(t, "go-page").Props["title"].(engine.RichText).Text; got != "Made in Go, edited in JS" {
		t.Errorf("go-page title in Go = %q", got)
	}
	if jp := peer.Get(t, "js-para"); jp.Parent != "go-page" || jp.Creator != "js-user" || jp.Props["n"] != float64(1) {
		t.Errorf("js-para in Go = %+v", jp)
	}

	// Concurrent edits on both sides, then a sync each way.
	peer.Edit(t, func(b *engine.Blocks) error { return b.SetProp("js-para", "seen_by_go", true) })
	call(map[string]any{"op": "update", "id": "go-para", "patch": map[string]any{"props": map[string]any{"seen_by_js": true}}}, &b)
	var jsSV, jsDiff []byte
	call(map[string]any{"op": "sv"}, &jsSV)
	call(map[string]any{"op": "diff", "sv": peer.StateVector(t)}, &jsDiff)
	goDiff, err := peer.WS.EncodeStateAsUpdate(context.Background(), jsSV)
	if err != nil {
		t.Fatal(err)
	}
	call(map[string]any{"op": "apply", "update": goDiff}, &lsn)
	peer.Apply(t, jsDiff)
	call(map[string]any{"op": "sv"}, &jsSV)
	peer.SameState(t, jsSV)
	if v := peer.Get(t, "go-para").Props["seen_by_js"]; v != true {
		t.Errorf("go-para.seen_by_js in Go = %v", v)
	}
	call(map[string]any{"op": "query", "oql": "SELECT id FROM blocks WHERE prop.seen_by_go = true"}, &r)
	if len(r.Rows) != 1 || r.Rows[0]["id"] != "js-para" {
		t.Errorf("JS query for Go's edit = %+v", r)
	}

	// JS's change stream: every record in order, the last one Go's edit.
	var changes []change
	for range 5 {
		var c *change
		call(map[string]any{"op": "poll", "timeout": 5000}, &c)
		if c == nil {
			t.Fatalf("JS saw %d changes, want 5: %+v", len(changes), changes)
		}
		changes = append(changes, *c)
	}
	var extra *change
	if call(map[string]any{"op": "poll", "timeout": 200}, &extra); extra != nil {
		t.Errorf("a sixth change: %+v", extra)
	}
	for i, c := range changes {
		if c.LSN != uint64(i+1) || len(c.Update) == 0 {
			t.Errorf("change %d = %+v", i, c)
		}
	}
	last := changes[4]
	if last.Origin != "go" || len(last.Blocks) != 1 || last.Blocks[0].ID != "js-para" || last.Blocks[0].Op != "updated" ||
		strings.Join(last.Blocks[0].Fields, ",") != "prop:seen_by_go" {
		t.Errorf("Go's edit as JS saw it = %+v", last)
	}

	// Interop with the real yjs.
	var y struct {
		Flavour string
		Block   blockJSON
	}
	call(map[string]any{"op": "yjs"}, &y)
	if y.Flavour != "affine:paragraph" || y.Block.Props["from_yjs"] != "hi" {
		t.Errorf("yjs round trip: %+v", y)
	}

	// Errors come back as codes with messages.
	var errs []errCase
	call(map[string]any{"op": "errors", "update": update}, &errs)
	var closing []errCase
	call(map[string]any{"op": "close"}, &closing)
	for _, e := range append(errs, closing...) {
		if e.Code != e.Want || e.Message == "" {
			t.Errorf("%s: code %d (%s), want %d", e.What, e.Code, e.Message, e.Want)
		} else {
			t.Logf("%s: %d %s", e.What, e.Code, e.Message)
		}
	}
}

// TestExample runs example.cjs, the JavaScript example of
// docs/embedding.md.
func TestExample(t *testing.T) {
	wasm, wasmExec := module(t)
	var out struct {
		Rows  []map[string]any
		First string
		Title string
	}
	jstest.Run(t, fmt.Sprintf(`
const input = readInput()
process.env.OCTOBASE_WASM_EXEC = input.wasmExec
require(%s)(input.wasm).then(writeOutput)
`, strconv.Quote(filepath.Join(bindingtest.Root(t), "bindings", "js", "example.cjs"))),
		map[string]string{"wasm": wasm, "wasmExec": wasmExec}, &out)
	if len(out.Rows) != 1 || out.Rows[0]["prop.item"] != "milk" || out.First != "created" || out.Title != "Groceries for Sunday" {
		t.Errorf("example output = %+v", out)
	}
}
