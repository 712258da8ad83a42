package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"octobase/internal/jstest"
)

// TestUpdateYjsStream dumps a yjs update stream the way docs/cli.md tells
// users to (lib0 encoding.writeVarUint8Array per update) and checks that
// state, merge, sv and json agree with yjs itself, byte for byte.
func TestUpdateYjsStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node.js")
	}
	jstest.Available(t)
	var out struct {
		Stream, State, Merged, SV []byte
		JSON                      string
	}
	jstest.Run(t, `
		const Y = require('yjs')
		const encoding = require('lib0/encoding')
		const enc = encoding.createEncoder()
		const a = new Y.Doc(); a.clientID = 7
		const b = new Y.Doc(); b.clientID = 8
		const updates = []
		a.on('update', u => { updates.push(u); encoding.writeVarUint8Array(enc, u); Y.applyUpdate(b, u, 'a') })
		b.on('update', (u, origin) => { if (origin !== 'a') { updates.push(u); encoding.writeVarUint8Array(enc, u); Y.applyUpdate(a, u, 'b') } })
		a.getText('t').insert(0, 'hello')
		b.getText('t').insert(5, ' world', { bold: true })
		a.getMap('m').set('k', [1, { x: 'y' }])
		b.getArray('arr').push([1, 'two'])
		a.getText('t').delete(0, 1)
		const p = new Y.XmlElement('p'); a.getXmlFragment('x').insert(0, [p]); p.setAttribute('id', '1')
		writeOutput({
			stream: encoding.toUint8Array(enc),
			state: Y.encodeStateAsUpdate(a),
			merged: Y.mergeUpdates(updates),
			sv: Y.encodeStateVector(a),
			json: JSON.stringify({ t: a.getText('t').toString(), m: a.getMap('m').toJSON(), arr: a.getArray('arr').toJSON(), x: a.getXmlFragment('x').toString() }),
		})
	`, nil, &out)

	stream := filepath.Join(t.TempDir(), "stream.bin")
	if err := os.WriteFile(stream, out.Stream, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, nil, "update", "state", "--framed", stream).stdout; got != string(out.State) {
		t.Errorf("state differs from yjs encodeStateAsUpdate:\n got %x\nwant %x", got, out.State)
	}
	if got := mustRun(t, nil, "update", "merge", "--framed", stream).stdout; got != string(out.Merged) {
		t.Errorf("merge differs from yjs mergeUpdates:\n got %x\nwant %x", got, out.Merged)
	}
	if got := mustRun(t, nil, "update", "sv", "--framed", stream).stdout; got != base64.StdEncoding.EncodeToString(out.SV)+"\n" {
		t.Errorf("sv %q, want %x", got, out.SV)
	}
	got := mustRun(t, nil, "update", "json", "--compact", "--framed", "--root", "t:text", "--root", "m:map", "--root", "arr:array", "--root", "x:xml", stream).stdout
	if got != out.JSON+"\n" {
		t.Errorf("json:\n got %s\nwant %s", got, out.JSON)
	}
}
