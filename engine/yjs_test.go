package engine

import (
	"bytes"
	"testing"

	"octobase/internal/jstest"
	"octobase/oplog/vfs"
)

// TestYjsClient feeds the updates of a real yjs document that builds blocks
// the way AFFiNE does (and edits them, from two clients) through Apply,
// reopens the store and compares the state with yjs's own encoding.
func TestYjsClient(t *testing.T) {
	var out struct {
		Updates [][]byte
		State   []byte
	}
	jstest.Run(t, `
		const Y = require('yjs')
		const updates = []
		const a = new Y.Doc(); a.clientID = 11
		const b = new Y.Doc(); b.clientID = 22
		a.on('update', u => { updates.push(u); Y.applyUpdate(b, u) })
		b.on('update', u => { updates.push(u); Y.applyUpdate(a, u) })
		const space = a.getMap('space:blocks')
		const block = (doc, id, flavour, parent) => doc.transact(() => {
			const sp = doc.getMap('space:blocks')
			const m = new Y.Map()
			sp.set(id, m)
			m.set('sys:id', id); m.set('sys:flavour', flavour); m.set('sys:children', new Y.Array())
			m.set('sys:created', 1700000000000); m.set('sys:creator', 'u' + doc.clientID)
			const t = new Y.Text(); m.set('prop:text', t); t.insert(0, 'block ' + id)
			if (parent) { m.set('sys:parent', parent); sp.get(parent).get('sys:children').push([id]) }
			doc.getMap('space:updated').set(id, 1700000000001)
		})
		block(a, 'page', 'affine:page')
		for (let i = 0; i < 20; i++) block(i % 2 ? a : b, 'p' + i, 'affine:paragraph', 'page')
		a.transact(() => space.get('p3').get('prop:text').format(0, 5, { reference: 'p4', bold: true }))
		b.transact(() => b.getMap('space:blocks').get('p5').set('prop:link', { '$ref': 'page' }))
		a.transact(() => { const kids = space.get('page').get('sys:children'); kids.delete(0, 1); space.delete('p0') })
		a.getText('unrelated').insert(0, 'not a block')
		writeOutput({ updates, state: Y.encodeStateAsUpdate(a) })
	`, nil, &out)

	fs := vfs.NewMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = 10
	s := openStore(t, opts)
	w := workspace(t, s, "yjs")
	for _, u := range out.Updates {
		if _, err := w.Apply(bg, u, "yjs"); err != nil {
			t.Fatal(err)
		}
	}
	checkViews(t, w, "yjs")
	s.Close()
	s = openStore(t, opts)
	w = workspace(t, s, "yjs")
	if got := encodeState(t, w); !bytes.Equal(got, out.State) {
		t.Fatalf("state after reopen differs from yjs (%d vs %d bytes)", len(got), len(out.State))
	}
	page := get(t, w, "page")
	if len(page.Children) != 19 || page.Children[0] != "p1" {
		t.Fatalf("page children %v", page.Children)
	}
	w.View(bg, func(v *ReadView) error {
		if v.Len() != 20 || v.Has("p0") {
			t.Errorf("%d blocks", v.Len())
		}
		if got := v.Backlinks("p4"); len(got) != 1 || got[0] != "p3" {
			t.Errorf("Backlinks(p4) = %v", got)
		}
		if got := v.Backlinks("page"); len(got) != 1 || got[0] != "p5" {
			t.Errorf("Backlinks(page) = %v", got)
		}
		p3, _ := v.Get("p3")
		if p3.Props["text"].(RichText).Text != "block p3" || p3.Updated != 1700000000001 || p3.Creator != "u11" {
			t.Errorf("p3 = %+v", p3)
		}
		return nil
	})
	checkViews(t, w, "yjs reopened")
}
