package server

import (
	"net/http"
	"strconv"
	"testing"
)

func TestHistoryEndpoint(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	base := e.hs.URL + "/api/workspaces/hist/blocks"
	if r := do(t, "POST", base, "", map[string]any{"id": "b", "flavour": "x"}); r.status != http.StatusCreated { // 1
		t.Fatal(r.status)
	}
	if r := do(t, "POST", base, "", map[string]any{"id": "other", "flavour": "x"}); r.status != http.StatusCreated { // 2
		t.Fatal(r.status)
	}
	if r := do(t, "PATCH", base+"/b", "", map[string]any{"set": map[string]any{"title": "t"}}); r.status != 200 { // 3
		t.Fatal(r.status)
	}
	if r := do(t, "DELETE", base+"/b", "", nil); r.status != 200 { // 4
		t.Fatal(r.status)
	}
	url := e.hs.URL + "/api/workspaces/hist/history?block=b"
	r := do(t, "GET", url, "", nil)
	if r.status != 200 {
		t.Fatalf("history = %d %s", r.status, r.body)
	}
	entries := r.json(t)["entries"].([]any)
	var got []string
	for _, x := range entries {
		m := x.(map[string]any)
		got = append(got, m["op"].(string)+"@"+strconv.Itoa(int(m["lsn"].(float64))))
		if m["origin"] != "http:blocks" {
			t.Errorf("origin = %v", m["origin"])
		}
	}
	if want := []string{"created@1", "updated@3", "deleted@4"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("history = %v, want %v", got, want)
	}
	if f := entries[1].(map[string]any)["fields"].([]any); len(f) == 0 || f[0] != "prop:title" {
		t.Fatalf("fields = %v", f)
	}
	// Paging.
	r = do(t, "GET", url+"&limit=2", "", nil)
	if m := r.json(t); len(m["entries"].([]any)) != 2 || m["next"] != 4.0 {
		t.Fatalf("page = %s", r.body)
	}
	r = do(t, "GET", url+"&from=4", "", nil)
	if m := r.json(t); len(m["entries"].([]any)) != 1 {
		t.Fatalf("from 4 = %s", r.body)
	}
	do(t, "GET", e.hs.URL+"/api/workspaces/hist/history", "", nil).wantError(t, 400, codeBadRequest)
	do(t, "GET", url+"&limit=0", "", nil).wantError(t, 400, codeBadRequest)
	do(t, "GET", url+"&from=x", "", nil).wantError(t, 400, codeBadRequest)
	do(t, "GET", url+"&from=99", "", nil).wantError(t, 400, codeBadRequest)
}
