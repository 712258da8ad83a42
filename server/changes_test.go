package server

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestChangesSSE(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{HeartbeatInterval: 100 * time.Millisecond})
	base := e.hs.URL + "/api/workspaces/sse/blocks"
	create := func(id, flavour string) {
		t.Helper()
		if r := do(t, "POST", base, "", map[string]any{"id": id, "flavour": flavour}); r.status != http.StatusCreated {
			t.Fatalf("create = %d %s", r.status, r.body)
		}
	}
	create("page", "affine:page")    // LSN 1
	create("p1", "affine:paragraph") // 2
	create("p2", "affine:paragraph") // 3
	changes := e.hs.URL + "/api/workspaces/sse/changes"

	// From the start: history, then live.
	s := openSSE(t, changes+"?from=1", "", "")
	for i, id := range []string{"page", "p1", "p2"} {
		ev := s.next()
		if ev.id != fmt.Sprint(i+1) || ev.event != "change" || ev.data.LSN != uint64(i+1) || ev.data.Origin != "http:blocks" {
			t.Fatalf("event %d = %+v", i, ev)
		}
		if len(ev.data.Blocks) != 1 || ev.data.Blocks[0].ID != id || ev.data.Blocks[0].Op != "created" || ev.data.Blocks[0].Space != "blocks" {
			t.Fatalf("event %d blocks = %+v", i, ev.data.Blocks)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.data.Time); err != nil {
			t.Fatalf("event time %q: %v", ev.data.Time, err)
		}
	}
	if r := do(t, "PATCH", base+"/p1", "", map[string]any{"set": map[string]any{"text": "x"}}); r.status != 200 { // 4
		t.Fatalf("patch = %d %s", r.status, r.body)
	}
	ev := s.next()
	if ev.id != "4" || len(ev.data.Blocks) != 1 || ev.data.Blocks[0].Op != "updated" || len(ev.data.Blocks[0].Fields) == 0 {
		t.Fatalf("live event = %+v", ev)
	}
	// Heartbeats keep an idle stream alive.
	deadline := time.After(testTimeout)
	for got := ""; got != "heartbeat"; {
		select {
		case got = <-s.comments:
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
	s.close()

	// Resume after event 2: exactly 3, 4, then live 5, and nothing else.
	s = openSSE(t, changes+"?from=1", "", "2")
	for _, want := range []string{"3", "4"} {
		if ev := s.next(); ev.id != want {
			t.Fatalf("resumed event = %s, want %s", ev.id, want)
		}
	}
	create("p3", "affine:paragraph") // 5
	if ev := s.next(); ev.id != "5" {
		t.Fatalf("live after resume = %s, want 5", ev.id)
	}
	s.none(200 * time.Millisecond)
	s.close()

	// No from: only future changes.
	s = openSSE(t, changes, "", "")
	create("p4", "affine:paragraph") // 6
	if ev := s.next(); ev.id != "6" {
		t.Fatalf("future-only first event = %s, want 6", ev.id)
	}
	s.close()

	// Filtered by OQL: only the matching blocks and records.
	q := url.Values{"from": {"1"}, "where": {"type = $1"}, "param": {`"affine:page"`}}
	s = openSSE(t, changes+"?"+q.Encode(), "", "")
	if ev := s.next(); ev.id != "1" || len(ev.data.Blocks) != 1 || ev.data.Blocks[0].ID != "page" {
		t.Fatalf("filtered event = %+v", ev)
	}
	create("page2", "affine:page") // 7
	if ev := s.next(); ev.id != "7" || ev.data.Blocks[0].ID != "page2" {
		t.Fatalf("filtered live event = %+v", ev)
	}
	s.none(200 * time.Millisecond)
	s.close()

	// Errors.
	do(t, "GET", changes+"?from=x", "", nil).wantError(t, 400, codeBadRequest)
	do(t, "GET", changes+"?from=1000", "", nil).wantError(t, 400, codeBadRequest)
	bad := do(t, "GET", changes+"?"+url.Values{"where": {"type = = 1"}}.Encode(), "", nil).wantError(t, 400, codeInvalidQuery)
	if bad.Column == 0 {
		t.Fatalf("where error without a position: %+v", bad)
	}
	req, _ := http.NewRequest("GET", changes, nil)
	req.Header.Set("Last-Event-ID", "nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID = %d", resp.StatusCode)
	}
}

// TestChangesStreamEndsOnClose checks Close (and StopStreams) ends open
// streams instead of waiting for them.
func TestChangesStreamEndsOnClose(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	s := openSSE(t, e.hs.URL+"/api/workspaces/end/changes", "", "")
	e.srv.StopStreams()
	select {
	case _, ok := <-s.events:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(testTimeout):
		t.Fatal("stream did not end")
	}
}
