package ffi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func mustCode(t *testing.T, err error, want Code) {
	t.Helper()
	if got := CodeOf(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if want != OK && err.Error() == "" {
		t.Fatalf("error with code %v has no message", want)
	}
}

func open(t *testing.T, a *API, client uint64) (store, ws Handle) {
	t.Helper()
	store, err := a.OpenStore("", fmt.Sprintf(`{"memory":true,"client_id":%d}`, client))
	mustCode(t, err, OK)
	t.Cleanup(func() { a.CloseStore(store) })
	ws, err = a.OpenWorkspace(store, "notes")
	mustCode(t, err, OK)
	return store, ws
}

func TestRoundTrip(t *testing.T) {
	a := New()
	_, w1 := open(t, a, 1)
	_, w2 := open(t, a, 2)

	sub, err := a.Subscribe(w2, 0)
	mustCode(t, err, OK)

	page, _, err := a.CreateBlock(w1, `{"id":"p","flavour":"affine:page","creator":"u1","props":{"title":{"$text":"Hello"}}}`, "test")
	mustCode(t, err, OK)
	var pb blockJSON
	if err := json.Unmarshal([]byte(page), &pb); err != nil {
		t.Fatal(err)
	}
	if pb.ID != "p" || pb.Flavour != "affine:page" || pb.Parent != nil {
		t.Fatalf("created block = %s", page)
	}
	_, _, err = a.CreateBlock(w1, `{"id":"c","flavour":"affine:paragraph","parent":"p","props":{"n":3,"tags":["a"]}}`, "test")
	mustCode(t, err, OK)
	got, lsn, err := a.UpdateBlock(w1, "p", `{"text":{"title":[{"retain":5},{"insert":" world","attributes":{"bold":true}}]},"props":{"x":true}}`, "test")
	mustCode(t, err, OK)
	if lsn != 3 {
		t.Errorf("update lsn = %d, want 3", lsn)
	}
	var ub struct {
		Props map[string]any
	}
	json.Unmarshal([]byte(got), &ub)
	if title := ub.Props["title"].(map[string]any); title["$text"] != "Hello world" {
		t.Errorf("title = %v", title)
	}

	// Sync w1 → w2 through state vectors.
	sv, err := a.StateVector(w2)
	mustCode(t, err, OK)
	diff, err := a.EncodeState(w1, sv)
	mustCode(t, err, OK)
	_, err = a.Apply(w2, diff, "sync", false)
	mustCode(t, err, OK)
	b, err := a.GetBlock(w2, "c")
	mustCode(t, err, OK)
	var cb blockJSON
	json.Unmarshal([]byte(b), &cb)
	if cb.Parent == nil || *cb.Parent != "p" || cb.Props["n"] != float64(3) {
		t.Fatalf("synced block = %s", b)
	}

	res, err := a.Query(w2, "SELECT id, type FROM blocks WHERE type = $1", `["affine:paragraph"]`)
	mustCode(t, err, OK)
	if want := `{"columns":["id","type"],"rows":[{"id":"c","type":"affine:paragraph"}]}`; res != want {
		t.Errorf("query = %s, want %s", res, want)
	}

	ch, err := a.Poll(sub, 5*time.Second)
	mustCode(t, err, OK)
	var c changeJSON
	json.Unmarshal([]byte(ch), &c)
	if c.Origin != "sync" || len(c.Blocks) != 2 || c.Blocks[0].Op != "created" {
		t.Fatalf("change = %s", ch)
	}
	if u, _ := base64.StdEncoding.DecodeString(c.Update); len(u) == 0 {
		t.Errorf("change has no update")
	}
	ch, err = a.Poll(sub, 0)
	if err != nil || ch != "" {
		t.Errorf("second poll = %q, %v; want nothing", ch, err)
	}

	lsn, err = a.DeleteBlock(w2, "c", false, "test")
	mustCode(t, err, OK)
	if lsn != 2 {
		t.Errorf("delete lsn = %d", lsn)
	}
	_, err = a.GetBlock(w2, "c")
	mustCode(t, err, CodeNotFound)
	ch, err = a.Poll(sub, 5*time.Second)
	mustCode(t, err, OK)
	json.Unmarshal([]byte(ch), &c)
	if c.LSN != 2 || c.Blocks[0].Op != "deleted" {
		t.Errorf("change = %s", ch)
	}
	mustCode(t, a.CloseSubscription(sub), OK)
	_, err = a.Poll(sub, 0)
	mustCode(t, err, CodeInvalidHandle)
}

func TestErrors(t *testing.T) {
	a := New()
	store, ws := open(t, a, 1)
	_, _, err := a.CreateBlock(ws, `{"id":"a","flavour":"f"}`, "")
	mustCode(t, err, OK)

	_, err = a.OpenWorkspace(ws, "x") // a workspace handle as a store
	mustCode(t, err, CodeInvalidHandle)
	_, err = a.GetBlock(store, "a")
	mustCode(t, err, CodeInvalidHandle)
	_, err = a.GetBlock(0, "a")
	mustCode(t, err, CodeInvalidHandle)
	_, err = a.GetBlock(12345, "a")
	mustCode(t, err, CodeInvalidHandle)

	for _, bad := range []string{``, `{`, `{"flavour":1}`, `{"flavour":"f","nope":1}`, `{"flavour":"f"} x`, `[]`, `{}`,
		`{"flavour":"f","props":{"t":{"$text":1}}}`, `{"flavour":"f","props":{"t":{"$text":"a","$delta":[{"retain":1,"delete":1}]}}}`} {
		_, _, err = a.CreateBlock(ws, bad, "")
		mustCode(t, err, CodeJSON)
	}
	_, _, err = a.CreateBlock(ws, `{"id":"a","flavour":"f"}`, "")
	mustCode(t, err, CodeExists)
	_, _, err = a.UpdateBlock(ws, "a", `{"props":`, "")
	mustCode(t, err, CodeJSON)
	_, _, err = a.UpdateBlock(ws, "zz", `{"props":{"x":1}}`, "")
	mustCode(t, err, CodeNotFound)
	_, _, err = a.UpdateBlock(ws, "a", `{"parent":"a"}`, "")
	mustCode(t, err, CodeInvalidArg)
	_, err = a.DeleteBlock(ws, "zz", false, "")
	mustCode(t, err, CodeNotFound)

	for _, u := range [][]byte{nil, {0xff}, {1, 2, 3}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		_, err = a.Apply(ws, u, "", false)
		mustCode(t, err, CodeUpdate)
	}
	_, err = a.EncodeState(ws, []byte{0xff, 0xff})
	mustCode(t, err, CodeUpdate)

	_, err = a.Query(ws, "SELEKT", "")
	mustCode(t, err, CodeQuery)
	_, err = a.Query(ws, "SELECT id FROM blocks WHERE type = $1", "")
	mustCode(t, err, CodeQuery)
	_, err = a.Query(ws, "SELECT id FROM blocks", "{")
	mustCode(t, err, CodeJSON)
	_, err = a.Query(ws, "SELECT id FROM blocks", `{"a":1}`)
	mustCode(t, err, CodeJSON)

	_, err = a.OpenStore("", `{"durability":"sometimes","memory":true}`)
	mustCode(t, err, CodeInvalidArg)
	_, err = a.OpenStore("", `{"memory":1}`)
	mustCode(t, err, CodeJSON)
	_, err = a.OpenStore("", ``)
	mustCode(t, err, CodeInvalidArg)

	sub, err := a.Subscribe(ws, 0)
	mustCode(t, err, OK)
	done := make(chan error)
	go func() {
		_, err := a.Poll(sub, -1)
		done <- err
	}()
	mustCode(t, a.CloseStore(store), OK)
	select {
	case err := <-done:
		if c := CodeOf(err); c != CodeClosed && c != CodeInvalidHandle {
			t.Errorf("blocked poll after close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("poll still blocked after the store closed")
	}
	mustCode(t, a.CloseStore(store), CodeInvalidHandle)
	_, err = a.GetBlock(ws, "a")
	mustCode(t, err, CodeInvalidHandle)
	mustCode(t, a.CloseSubscription(sub), CodeInvalidHandle)
	if n := a.Handles(); n != 0 {
		t.Errorf("%d handles left", n)
	}
	var fe *Error
	if !errors.As(a.CloseWorkspace(ws), &fe) || fe.Code != CodeInvalidHandle {
		t.Errorf("close of a closed workspace handle: %v", fe)
	}
}

func TestConcurrent(t *testing.T) {
	a := New()
	store, _ := open(t, a, 1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ws, err := a.OpenWorkspace(store, "notes")
			if err != nil {
				t.Error(err)
				return
			}
			defer a.CloseWorkspace(ws)
			for j := range 10 {
				if _, _, err := a.CreateBlock(ws, fmt.Sprintf(`{"id":"b%d-%d","flavour":"f"}`, i, j), ""); err != nil {
					t.Error(err)
				}
				a.GetBlock(ws+1000, "x") // invalid handles, concurrently
			}
		})
	}
	wg.Wait()
	ws, _ := a.OpenWorkspace(store, "notes")
	res, err := a.Query(ws, "SELECT COUNT(*) FROM blocks", "")
	mustCode(t, err, OK)
	if want := `{"columns":["COUNT(*)"],"rows":[{"COUNT(*)":80}]}`; res != want {
		t.Errorf("count = %s, want %s", res, want)
	}
}

func TestQueryIn(t *testing.T) {
	a := New()
	store, ws := open(t, a, 1)
	other, err := a.OpenWorkspace(store, "other")
	mustCode(t, err, OK)
	_, _, err = a.CreateBlock(other, `{"id":"o","flavour":"f"}`, "")
	mustCode(t, err, OK)
	res, err := a.Query(ws, "SELECT id FROM blocks IN 'other'", "")
	mustCode(t, err, OK)
	if want := `{"columns":["id"],"rows":[{"id":"o"}]}`; res != want {
		t.Errorf("query IN = %s, want %s", res, want)
	}
	_, err = a.Query(ws, "TAIL blocks", "")
	mustCode(t, err, CodeQuery)
}
