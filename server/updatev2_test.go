package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"octobase/engine/crdt"
	"octobase/internal/jstest"
)

// httpDo sends a request with a binary body (do, without a token) and
// returns the status and body.
func httpDo(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	r := do(t, method, url, "", body)
	return r.status, r.body
}

// TestHTTPUpdateV2: ?format=v2 posts and reads yjs v2 updates; the state
// is the same whichever format it went in or comes out in; a body that is
// not a v2 update, and an unknown format, are refused and change nothing.
func TestHTTPUpdateV2(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	url := e.hs.URL + "/api/workspaces/v2/update"
	src := crdt.MustNewDoc(crdt.Options{ClientID: 11})
	src.Transact(nil, func(tx *crdt.Txn) {
		insertText("t", 0, "posted as v2")(tx, src)
		m, err := src.GetMap("m")
		if err == nil {
			err = m.Set(tx, "k", "v")
		}
		if err != nil {
			panic(err)
		}
	})
	if code, b := httpDo(t, "POST", url+"?format=v2", src.EncodeStateAsUpdateV2(nil)); code != 200 || !strings.Contains(string(b), `"lsn":1`) {
		t.Fatalf("POST v2 = %d %s", code, b)
	}
	text := func(doc *crdt.Doc) string {
		x, err := doc.GetText("t")
		if err != nil {
			t.Fatal(err)
		}
		return x.String()
	}
	check := func(what string, doc *crdt.Doc) {
		t.Helper()
		if got := text(doc); got != "posted as v2" {
			t.Errorf("%s: text %q", what, got)
		}
		m, err := doc.GetMap("m")
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := m.Get("k"); v != "v" {
			t.Errorf("%s: map k = %v", what, v)
		}
	}
	code, v1 := httpDo(t, "GET", url, nil)
	if code != 200 {
		t.Fatalf("GET = %d %s", code, v1)
	}
	d1 := crdt.MustNewDoc(crdt.Options{ClientID: 12})
	if err := d1.ApplyUpdate(v1, nil); err != nil {
		t.Fatal(err)
	}
	check("GET v1", d1)
	code, v2 := httpDo(t, "GET", url+"?format=v2", nil)
	if code != 200 {
		t.Fatalf("GET v2 = %d %s", code, v2)
	}
	d2 := crdt.MustNewDoc(crdt.Options{ClientID: 13})
	if err := d2.ApplyUpdateV2(v2, nil); err != nil {
		t.Fatal(err)
	}
	check("GET v2", d2)
	if want, _ := crdt.ConvertUpdateV1ToV2(v1); !bytes.Equal(v2, want) {
		t.Error("GET v2 is not the v1 state converted")
	}
	// A diff against a state vector, in v2: only what d2 lacks.
	sv := base64.StdEncoding.EncodeToString(crdt.EncodeStateVector(d2.StateVector()))
	var more []byte
	src.OnUpdate(func(u []byte, _ *crdt.Txn) { more = append([]byte(nil), u...) })
	src.Transact(nil, func(tx *crdt.Txn) { insertText("t", len("posted as v2"), "!")(tx, src) })
	if code, b := httpDo(t, "POST", url, more); code != 200 {
		t.Fatalf("POST v1 = %d %s", code, b)
	}
	code, diff := httpDo(t, "GET", url+"?format=v2&sv="+sv, nil)
	if code != 200 || len(diff) >= len(v2) {
		t.Fatalf("GET v2 diff = %d, %d bytes (the whole state is %d)", code, len(diff), len(v2))
	}
	if err := d2.ApplyUpdateV2(diff, nil); err != nil || text(d2) != "posted as v2!" {
		t.Fatalf("v2 diff: %v, text %q", err, text(d2))
	}
	_, v1 = httpDo(t, "GET", url, nil)

	for _, bad := range [][]byte{{0xff, 0xff, 0xff}, v1[:len(v1)/2]} {
		if code, b := httpDo(t, "POST", url+"?format=v2", bad); code != 400 || !strings.Contains(string(b), "malformed_update") {
			t.Errorf("POST v2 of %x = %d %s", bad, code, b)
		}
	}
	for _, m := range []string{"GET", "POST"} {
		if code, b := httpDo(t, m, url+"?format=v3", v1); code != 400 || !strings.Contains(string(b), `format \"v3\"`) {
			t.Errorf("%s format=v3 = %d %s", m, code, b)
		}
	}
	if _, after := httpDo(t, "GET", url, nil); !bytes.Equal(after, v1) {
		t.Error("a refused body changed the state")
	}
}

// TestHTTPUpdateV2Yjs: a v2 update made by yjs is accepted, and yjs reads
// the state the server returns in v2.
func TestHTTPUpdateV2Yjs(t *testing.T) {
	jstest.Available(t)
	e := startServer(t, t.TempDir(), Options{})
	url := e.hs.URL + "/api/workspaces/yjs2/update"
	var made struct {
		Update []byte `json:"update"`
	}
	jstest.Run(t, `
const Y = require('yjs')
const doc = new Y.Doc()
doc.clientID = 77
doc.getText('t').insert(0, 'from yjs, v2')
doc.getArray('a').push([1, 'two', { three: 3 }])
writeOutput({ update: Y.encodeStateAsUpdateV2(doc) })
`, nil, &made)
	if code, b := httpDo(t, "POST", url+"?format=v2", made.Update); code != 200 {
		t.Fatalf("POST = %d %s", code, b)
	}
	code, state := httpDo(t, "GET", url+"?format=v2", nil)
	if code != 200 {
		t.Fatalf("GET = %d", code)
	}
	var read struct {
		Text  string          `json:"text"`
		Array json.RawMessage `json:"array"`
	}
	jstest.Run(t, `
const Y = require('yjs')
const doc = new Y.Doc()
Y.applyUpdateV2(doc, fromB64(readInput().state))
writeOutput({ text: doc.getText('t').toString(), array: doc.getArray('a').toJSON() })
`, map[string][]byte{"state": state}, &read)
	if read.Text != "from yjs, v2" || string(read.Array) != `[1,"two",{"three":3}]` {
		t.Fatalf("yjs read %+v", read)
	}
}
