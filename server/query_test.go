package server

import (
	"net/http"
	"reflect"
	"testing"
)

func TestQueryEndpoint(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	base := e.hs.URL + "/api/workspaces/q/blocks"
	for _, b := range []map[string]any{
		{"id": "a", "flavour": "affine:page", "props": map[string]any{"title": "A"}},
		{"id": "b", "flavour": "affine:paragraph", "parent": "a", "props": map[string]any{"n": 2}},
		{"id": "c", "flavour": "affine:paragraph", "parent": "a", "props": map[string]any{"n": 5}},
	} {
		if r := do(t, "POST", base, "", b); r.status != http.StatusCreated {
			t.Fatalf("create = %d %s", r.status, r.body)
		}
	}
	url := e.hs.URL + "/api/query"

	r := do(t, "POST", url, "", map[string]any{"workspace": "q", "query": "SELECT id, prop.n FROM blocks WHERE type = $1 AND prop.n > $2", "params": []any{"affine:paragraph", 3}})
	if r.status != 200 {
		t.Fatalf("query = %d %s", r.status, r.body)
	}
	m := r.json(t)
	if !reflect.DeepEqual(m["columns"], []any{"id", "prop.n"}) || !reflect.DeepEqual(m["rows"], []any{[]any{"c", 5.0}}) {
		t.Fatalf("result = %v", m)
	}

	// IN names the workspace; COUNT(*) and GROUP BY; times are strings.
	r = do(t, "POST", url, "", map[string]any{"query": "SELECT type, COUNT(*) FROM blocks IN 'q' GROUP BY type"})
	if r.status != 200 || !reflect.DeepEqual(r.json(t)["rows"], []any{[]any{"affine:page", 1.0}, []any{"affine:paragraph", 2.0}}) {
		t.Fatalf("group by = %d %s", r.status, r.body)
	}
	r = do(t, "POST", url, "", map[string]any{"workspace": "q", "query": "SELECT created FROM blocks WHERE id = 'a'"})
	if rows := r.json(t)["rows"].([]any); len(rows) != 1 {
		t.Fatalf("created = %s", r.body)
	} else if _, ok := rows[0].([]any)[0].(string); !ok {
		t.Fatalf("created is not a string: %s", r.body)
	}

	// A parse error has its position.
	e1 := do(t, "POST", url, "", map[string]any{"workspace": "q", "query": "SELECT id\nFROM blocks WHERE type = = 'x'"}).wantError(t, 400, codeInvalidQuery)
	if e1.Line != 2 || e1.Column == 0 || e1.Offset == nil {
		t.Fatalf("parse error position = %+v", e1)
	}
	do(t, "POST", url, "", map[string]any{"workspace": "q", "query": "SELECT id FROM blocks WHERE type = $1"}).wantError(t, 400, codeInvalidQuery)
	do(t, "POST", url, "", map[string]any{"workspace": "q", "query": "TAIL blocks"}).wantError(t, 400, codeInvalidQuery)
	do(t, "POST", url, "", map[string]any{"query": "SELECT id FROM blocks"}).wantError(t, 400, codeBadRequest)
	do(t, "POST", url, "", map[string]any{"workspace": "q"}).wantError(t, 400, codeBadRequest)
	do(t, "POST", url, "", "{").wantError(t, 400, codeBadRequest)
}
