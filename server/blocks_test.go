package server

import (
	"net/http"
	"reflect"
	"testing"
)

func TestBlockCRUD(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	base := e.hs.URL + "/api/workspaces/crud/blocks"

	// Create a page and two paragraphs under it; the second goes first.
	r := do(t, "POST", base, "", map[string]any{"id": "page", "flavour": "affine:page", "creator": "u1",
		"props": map[string]any{"title": map[string]any{"$text": "Hello"}, "n": 3, "tags": []any{"a", 1.5}}})
	if r.status != http.StatusCreated || r.header.Get("Location") != "/api/workspaces/crud/blocks/page" {
		t.Fatalf("create page = %d %s (Location %q)", r.status, r.body, r.header.Get("Location"))
	}
	page := r.json(t)["block"].(map[string]any)
	if page["creator"] != "u1" || page["flavour"] != "affine:page" {
		t.Fatalf("page = %v", page)
	}
	props := page["props"].(map[string]any)
	if !reflect.DeepEqual(props["title"], map[string]any{"$text": "Hello", "$delta": []any{map[string]any{"insert": "Hello"}}}) || props["n"] != 3.0 {
		t.Fatalf("page props = %v", props)
	}
	r = do(t, "POST", base, "", map[string]any{"id": "p1", "flavour": "affine:paragraph", "parent": "page"})
	if r.status != http.StatusCreated {
		t.Fatalf("create p1 = %d %s", r.status, r.body)
	}
	r = do(t, "POST", base, "", map[string]any{"flavour": "affine:paragraph", "parent": "page", "index": 0})
	if r.status != http.StatusCreated {
		t.Fatalf("create p0 = %d %s", r.status, r.body)
	}
	gen := r.json(t)["block"].(map[string]any)["id"].(string)
	if gen == "" {
		t.Fatal("no generated id")
	}

	got := do(t, "GET", base+"/page", "", nil)
	if got.status != 200 {
		t.Fatalf("get page = %d %s", got.status, got.body)
	}
	if ch := got.json(t)["children"]; !reflect.DeepEqual(ch, []any{gen, "p1"}) {
		t.Fatalf("children = %v, want [%s p1]", ch, gen)
	}

	// Lists: all, by flavour, by parent, roots.
	ids := func(q string) []string {
		t.Helper()
		r := do(t, "GET", base+q, "", nil)
		if r.status != 200 {
			t.Fatalf("list %s = %d %s", q, r.status, r.body)
		}
		var out []string
		for _, b := range r.json(t)["blocks"].([]any) {
			out = append(out, b.(map[string]any)["id"].(string))
		}
		return out
	}
	if got := ids(""); len(got) != 3 {
		t.Fatalf("list = %v", got)
	}
	if got := ids("?flavour=affine:page"); !reflect.DeepEqual(got, []string{"page"}) {
		t.Fatalf("by flavour = %v", got)
	}
	if got := ids("?parent=page"); !reflect.DeepEqual(got, []string{gen, "p1"}) {
		t.Fatalf("by parent = %v", got)
	}
	if got := ids("?parent="); !reflect.DeepEqual(got, []string{"page"}) {
		t.Fatalf("roots = %v", got)
	}
	if got := ids("?parent=page&flavour=nope"); len(got) != 0 {
		t.Fatalf("by parent and flavour = %v", got)
	}

	// Patch: set and remove props, move p1 first.
	r = do(t, "PATCH", base+"/p1", "", map[string]any{"set": map[string]any{"text": "hi", "done": true}, "remove": []string{"missing"}, "index": 0})
	if r.status != 200 {
		t.Fatalf("patch = %d %s", r.status, r.body)
	}
	b := r.json(t)["block"].(map[string]any)
	if p := b["props"].(map[string]any); p["text"] != "hi" || p["done"] != true {
		t.Fatalf("patched props = %v", p)
	}
	if ch := do(t, "GET", base+"/page", "", nil).json(t)["children"]; !reflect.DeepEqual(ch, []any{"p1", gen}) {
		t.Fatalf("after move children = %v", ch)
	}
	r = do(t, "PATCH", base+"/p1", "", map[string]any{"remove": []string{"done"}, "parent": ""})
	if r.status != 200 {
		t.Fatalf("patch detach = %d %s", r.status, r.body)
	}
	b = r.json(t)["block"].(map[string]any)
	if _, ok := b["props"].(map[string]any)["done"]; ok || b["parent"] != "" {
		t.Fatalf("after remove/detach = %v", b)
	}

	// Errors.
	do(t, "GET", base+"/nope", "", nil).wantError(t, 404, codeNotFound)
	do(t, "PATCH", base+"/nope", "", map[string]any{"set": map[string]any{"a": 1}}).wantError(t, 404, codeNotFound)
	do(t, "DELETE", base+"/nope", "", nil).wantError(t, 404, codeNotFound)
	do(t, "POST", base, "", map[string]any{"id": "page", "flavour": "x"}).wantError(t, 409, codeExists)
	do(t, "POST", base, "", map[string]any{"id": "q"}).wantError(t, 400, codeBadRequest)
	do(t, "POST", base, "", `{"flavour": "x", "bogus": 1}`).wantError(t, 400, codeBadRequest)
	do(t, "POST", base, "", `not json`).wantError(t, 400, codeBadRequest)
	do(t, "POST", base, "", map[string]any{"flavour": "x", "parent": "ghost"}).wantError(t, 400, codeNotFound)
	do(t, "PATCH", base+"/page", "", map[string]any{"parent": gen}).wantError(t, 409, codeConflict)
	do(t, "PATCH", base+"/p1", "", map[string]any{"parent": "page", "index": 99}).wantError(t, 400, codeBadRequest)
	do(t, "DELETE", base+"/page?subtree=maybe", "", nil).wantError(t, 400, codeBadRequest)

	// Delete the page with its subtree: only the detached p1 is left.
	if r := do(t, "DELETE", base+"/page?subtree=true", "", nil); r.status != 200 {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	if got := ids(""); !reflect.DeepEqual(got, []string{"p1"}) {
		t.Fatalf("after delete = %v", got)
	}
}

func TestBlockBodyTooLarge(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxMessageSize: 64})
	big := map[string]any{"flavour": "x", "props": map[string]any{"s": string(make([]byte, 200))}}
	do(t, "POST", e.hs.URL+"/api/workspaces/w/blocks", "", big).wantError(t, 413, codeTooLarge)
}
