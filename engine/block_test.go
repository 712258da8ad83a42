package engine

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

func TestBlockCreateGet(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		page, err := b.Create(NewBlock{ID: "page", Flavour: "affine:page", Creator: "alice",
			Props: map[string]any{"title": RichText{Text: "Hello"}, "tags": []any{"a", "b"}, "n": 3}})
		if err != nil {
			return err
		}
		if _, err := b.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, Creator: "alice",
			Props: map[string]any{"text": RichText{Text: "first"}}}); err != nil {
			return err
		}
		_, err = b.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, AtIndex: true, Creator: "bob"})
		return err
	})
	checkViews(t, w, "after create")
	p := get(t, w, "page")
	if p.Flavour != "affine:page" || p.Creator != "alice" || p.Parent != "" || p.Space != DefaultSpace {
		t.Fatalf("page: %+v", p)
	}
	if !slices.Equal(p.Children, []BlockID{"b2", "b1"}) {
		t.Fatalf("children %v, want [b2 b1]", p.Children)
	}
	if p.Created == 0 || p.Updated < p.Created {
		t.Fatalf("times: created %d updated %d", p.Created, p.Updated)
	}
	title, ok := p.Props["title"].(RichText)
	if !ok || title.Text != "Hello" || len(title.Delta) != 1 {
		t.Fatalf("title %#v", p.Props["title"])
	}
	if !reflect.DeepEqual(p.Props["tags"], []any{"a", "b"}) || p.Props["n"] != float64(3) {
		t.Fatalf("props %#v", p.Props)
	}
	c := get(t, w, "b1")
	if c.Parent != "page" || c.Props["text"].(RichText).Text != "first" {
		t.Fatalf("child: %+v", c)
	}
	// Ids are unique per space: creating "page" again fails and changes
	// nothing.
	lsn, _ := w.LastLSN(bg)
	_, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error {
		_, err := b.Create(NewBlock{ID: "page", Flavour: "x"})
		return err
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if l2, _ := w.LastLSN(bg); l2 != lsn {
		t.Fatalf("failed create logged something: %d → %d", lsn, l2)
	}
	err = w.View(bg, func(v *ReadView) error {
		if v.Len() != 3 || !slices.Equal(v.IDs(), []BlockID{"b1", "b2", "page"}) || !slices.Equal(v.Roots(), []BlockID{"page"}) {
			t.Errorf("view: len %d ids %v roots %v", v.Len(), v.IDs(), v.Roots())
		}
		if !slices.Equal(v.Spaces(), []string{DefaultSpace}) {
			t.Errorf("spaces %v", v.Spaces())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBlockMoveAndChildren(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		for _, id := range []BlockID{"r", "a", "b", "c", "d"} {
			if _, err := b.Create(NewBlock{ID: id, Flavour: "f"}); err != nil {
				return err
			}
		}
		return b.InsertChildren("r", 0, "a", "b", "c")
	})
	if got := get(t, w, "r").Children; !slices.Equal(got, []BlockID{"a", "b", "c"}) {
		t.Fatalf("children %v", got)
	}
	// Move within the same parent: index counts after removal.
	transact(t, w, func(b *Blocks) error { return b.Move("a", "r", 2) })
	if got := get(t, w, "r").Children; !slices.Equal(got, []BlockID{"b", "c", "a"}) {
		t.Fatalf("after move: %v", got)
	}
	// Move under another block, then a cycle is refused.
	transact(t, w, func(b *Blocks) error { return b.Move("c", "a", -1) })
	if got := get(t, w, "c").Parent; got != "a" {
		t.Fatalf("c parent %q", got)
	}
	for _, tc := range []struct {
		id, parent BlockID
		index      int
		want       error
	}{
		{"r", "c", 0, ErrCycle}, {"a", "a", 0, ErrCycle}, {"d", "r", 5, ErrOutOfRange}, {"x", "r", 0, ErrNotFound}, {"d", "x", 0, ErrNotFound},
	} {
		_, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { return b.Move(tc.id, tc.parent, tc.index) })
		if !errors.Is(err, tc.want) {
			t.Errorf("Move(%s, %s, %d): %v, want %v", tc.id, tc.parent, tc.index, err, tc.want)
		}
	}
	// Detach and remove children.
	transact(t, w, func(b *Blocks) error { return b.Move("c", "", 0) })
	if c := get(t, w, "c"); c.Parent != "" || len(get(t, w, "a").Children) != 0 {
		t.Fatalf("detached c: %+v", c)
	}
	transact(t, w, func(b *Blocks) error { return b.RemoveChildren("r", 0, 1) })
	if got := get(t, w, "r").Children; !slices.Equal(got, []BlockID{"a"}) || get(t, w, "b").Parent != "" {
		t.Fatalf("after RemoveChildren: %v, b parent %q", got, get(t, w, "b").Parent)
	}
	checkViews(t, w, "moves")
}

func TestBlockDelete(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	build := func() {
		transact(t, w, func(b *Blocks) error {
			b.Create(NewBlock{ID: "root", Flavour: "f"})
			b.Create(NewBlock{ID: "p", Flavour: "f", Parent: "root"})
			b.Create(NewBlock{ID: "c1", Flavour: "f", Parent: "p"})
			b.Create(NewBlock{ID: "c2", Flavour: "f", Parent: "p"})
			_, err := b.Create(NewBlock{ID: "g", Flavour: "f", Parent: "c1"})
			return err
		})
	}
	build()
	transact(t, w, func(b *Blocks) error { return b.Delete("p", true) })
	err := w.View(bg, func(v *ReadView) error {
		if !slices.Equal(v.IDs(), []BlockID{"root"}) || len(v.Children("root")) != 0 {
			t.Errorf("after subtree delete: %v, root children %v", v.IDs(), v.Children("root"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkViews(t, w, "subtree delete")
	transact(t, w, func(b *Blocks) error { return b.Delete("root", true) })
	build()
	transact(t, w, func(b *Blocks) error { return b.Delete("p", false) })
	err = w.View(bg, func(v *ReadView) error {
		if !slices.Equal(v.IDs(), []BlockID{"c1", "c2", "g", "root"}) {
			t.Errorf("after delete: %v", v.IDs())
		}
		for _, id := range []BlockID{"c1", "c2"} {
			if b, _ := v.Get(id); b.Parent != "" {
				t.Errorf("%s still has parent %q", id, b.Parent)
			}
		}
		if b, _ := v.Get("g"); b.Parent != "c1" {
			t.Errorf("g parent %q", b.Parent)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkViews(t, w, "delete")
}

func TestBlockPropsAndRichText(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		_, err := b.Create(NewBlock{ID: "x", Flavour: "f"})
		return err
	})
	transact(t, w, func(b *Blocks) error {
		if err := b.SetProp("x", "obj", map[string]any{"k": []any{1, true, nil}}); err != nil {
			return err
		}
		txt, err := b.Text("x", "body")
		if err != nil {
			return err
		}
		if err := txt.Insert(b.Txn(), 0, "hello world", nil); err != nil {
			return err
		}
		return txt.Format(b.Txn(), 0, 5, map[string]any{"bold": true})
	})
	x := get(t, w, "x")
	if !reflect.DeepEqual(x.Props["obj"], map[string]any{"k": []any{float64(1), true, nil}}) {
		t.Fatalf("obj %#v", x.Props["obj"])
	}
	body := x.Props["body"].(RichText)
	if body.Text != "hello world" || len(body.Delta) != 2 {
		t.Fatalf("body %#v", body)
	}
	if v, _ := body.Delta[0].Attributes.Get("bold"); v != true {
		t.Fatalf("bold lost: %#v", body.Delta)
	}
	// Typing updates the view incrementally.
	transact(t, w, func(b *Blocks) error {
		txt, err := b.Text("x", "body")
		if err != nil {
			return err
		}
		return txt.Insert(b.Txn(), 11, "!", nil)
	})
	if got := get(t, w, "x").Props["body"].(RichText).Text; got != "hello world!" {
		t.Fatalf("body %q", got)
	}
	// Errors: a non-text prop, a bad value, a missing block.
	_, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { _, err := b.Text("x", "obj"); return err })
	if !errors.Is(err, ErrNotText) {
		t.Fatalf("Text on JSON prop: %v", err)
	}
	_, err = w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { return b.SetProp("x", "bad", struct{}{}) })
	if !errors.Is(err, lib0.ErrUnsupportedType) {
		t.Fatalf("bad value: %v", err)
	}
	_, err = w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { return b.SetProp("nope", "a", 1) })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing block: %v", err)
	}
	transact(t, w, func(b *Blocks) error { return b.RemoveProp("x", "obj") })
	if _, ok := get(t, w, "x").Props["obj"]; ok {
		t.Fatal("obj still set")
	}
	transact(t, w, func(b *Blocks) error { return b.SetMeta("name", "My workspace") })
	w.View(bg, func(v *ReadView) error {
		if v.Meta()["name"] != "My workspace" {
			t.Errorf("meta %v", v.Meta())
		}
		return nil
	})
	checkViews(t, w, "props")
}

func TestLinks(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		for _, id := range []BlockID{"a", "b", "c"} {
			b.Create(NewBlock{ID: id, Flavour: "f"})
		}
		if err := b.SetProp("a", "link", map[string]any{"$ref": "b"}); err != nil {
			return err
		}
		if err := b.SetProp("a", "nested", []any{map[string]any{"x": map[string]any{"$ref": "c"}}}); err != nil {
			return err
		}
		txt, err := b.Text("c", "text")
		if err != nil {
			return err
		}
		if err := txt.Insert(b.Txn(), 0, "see ", nil); err != nil {
			return err
		}
		return txt.Insert(b.Txn(), 4, "B", map[string]any{"reference": "b"})
	})
	check := func(id BlockID, links, backlinks []BlockID) {
		t.Helper()
		w.View(bg, func(v *ReadView) error {
			if got := v.Links(id); !slices.Equal(got, links) {
				t.Errorf("Links(%s) = %v, want %v", id, got, links)
			}
			if got := v.Backlinks(id); !slices.Equal(got, backlinks) {
				t.Errorf("Backlinks(%s) = %v, want %v", id, got, backlinks)
			}
			return nil
		})
	}
	check("a", []BlockID{"b", "c"}, nil)
	check("b", nil, []BlockID{"a", "c"})
	check("c", []BlockID{"b"}, []BlockID{"a"})
	// Removing the formatting and a prop removes the links.
	transact(t, w, func(b *Blocks) error {
		txt, _ := b.Text("c", "text")
		if err := txt.Format(b.Txn(), 4, 1, map[string]any{"reference": nil}); err != nil {
			return err
		}
		return b.RemoveProp("a", "link")
	})
	check("b", nil, nil)
	check("c", nil, []BlockID{"a"})
	// Deleting the source removes its backlinks; links may dangle.
	transact(t, w, func(b *Blocks) error { return b.SetProp("b", "to", map[string]any{"$ref": "zzz"}) })
	check("zzz", nil, []BlockID{"b"})
	transact(t, w, func(b *Blocks) error { return b.Delete("a", false) })
	check("c", nil, nil)
	checkViews(t, w, "links")
}

// TestRemoteUpdatesUpdateViews edits the workspace's blocks from another
// document (a plain crdt.Doc, as a yjs client would) and applies its
// updates.
func TestRemoteUpdatesUpdateViews(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		b.Create(NewBlock{ID: "page", Flavour: "affine:page", Props: map[string]any{"title": RichText{Text: "T"}}})
		_, err := b.Create(NewBlock{ID: "p1", Flavour: "affine:paragraph", Parent: "page"})
		return err
	})
	p := newPeer(77)
	p.sync(t, w)
	for _, u := range p.edit(t, func(b *Blocks) error {
		txt, err := b.Text("page", "title")
		if err != nil {
			return err
		}
		txt.Insert(b.Txn(), 1, "itle", nil)
		if _, err := b.Create(NewBlock{ID: "p2", Flavour: "affine:paragraph", Parent: "page", Props: map[string]any{"ref": map[string]any{"$ref": "p1"}}}); err != nil {
			return err
		}
		other, err := b.Space("other")
		if err != nil {
			return err
		}
		_, err = other.Create(NewBlock{ID: "o1", Flavour: "x"})
		return err
	}) {
		apply(t, w, u, "peer")
	}
	if got := get(t, w, "page"); got.Props["title"].(RichText).Text != "Title" || !slices.Equal(got.Children, []BlockID{"p1", "p2"}) {
		t.Fatalf("page after remote edit: %+v", got)
	}
	w.View(bg, func(v *ReadView) error {
		if !slices.Equal(v.Backlinks("p1"), []BlockID{"p2"}) {
			t.Errorf("backlinks %v", v.Backlinks("p1"))
		}
		if !slices.Equal(v.Spaces(), []string{DefaultSpace, "other"}) || !v.Space("other").Has("o1") {
			t.Errorf("spaces %v", v.Spaces())
		}
		return nil
	})
	checkViews(t, w, "remote")
	// Raw edits that bypass Blocks, as a foreign client might make.
	for _, u := range p.edit(t, func(b *Blocks) error {
		bm, _ := b.blockMap("p1")
		bm.Set(b.Txn(), "sys:flavour", "affine:code")
		bm.Set(b.Txn(), "prop:lang", "go")
		kids, _ := bm.Get("sys:children")
		return kids.(*crdt.Array).Push(b.Txn(), "ghost")
	}) {
		apply(t, w, u, "peer")
	}
	if got := get(t, w, "p1"); got.Flavour != "affine:code" || got.Props["lang"] != "go" || !slices.Equal(got.Children, []BlockID{"ghost"}) {
		t.Fatalf("p1: %+v", got)
	}
	checkViews(t, w, "raw remote")
}

// TestNonBlockDocument stores a document that ignores the block layout:
// it is kept and served untouched, and has no blocks.
func TestNonBlockDocument(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "plain")
	d := crdt.MustNewDoc(crdt.Options{ClientID: 5})
	var ups [][]byte
	d.OnUpdate(func(u []byte, _ *crdt.Txn) { ups = append(ups, append([]byte(nil), u...)) })
	d.Transact(nil, func(tx *crdt.Txn) {
		txt, _ := d.GetText("content")
		txt.Insert(tx, 0, "just text", nil)
		sp, _ := d.GetMap("space:blocks")
		sp.Set(tx, "notablock", "a string")
		arr, _ := d.GetArray("space:weird")
		arr.Push(tx, 1, 2)
		meta, _ := d.GetMap("space:meta")
		meta.Set(tx, "k", lib0.Object{{Key: "z", Value: 1}})
	})
	for _, u := range ups {
		apply(t, w, u, "client")
	}
	if got, want := encodeState(t, w), d.EncodeStateAsUpdate(nil); !slices.Equal(got, want) {
		t.Fatal("encoded state differs from the client's")
	}
	w.View(bg, func(v *ReadView) error {
		if v.Len() != 0 || len(v.Spaces()) != 0 {
			t.Errorf("blocks in a plain document: %v", v.IDs())
		}
		if !reflect.DeepEqual(v.Meta()["k"], map[string]any{"z": float64(1)}) {
			t.Errorf("meta %v", v.Meta())
		}
		return nil
	})
	checkViews(t, w, "plain")
}
