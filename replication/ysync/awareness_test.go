package ysync

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"octobase/engine/lib0"
)

func upd(entries ...AwarenessEntry) []byte { return EncodeAwarenessUpdate(entries) }

func e(id, clock uint64, state string) AwarenessEntry {
	return AwarenessEntry{ClientID: id, Clock: clock, State: state}
}

func ids(v ...uint64) []uint64 { return v }

func mustApply(tb testing.TB, a *Awareness, u []byte, now int64) Change {
	tb.Helper()
	c, err := a.Apply(u, now)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestAwarenessNew(t *testing.T) {
	a := NewAwareness(7, 100)
	cs, ok := a.Get(7)
	if !ok || cs != (ClientState{Clock: 0, LastUpdated: 100, State: "{}"}) {
		t.Fatalf("Get(7) = %+v, %v", cs, ok)
	}
	if a.LocalState() != "{}" || a.Len() != 1 || a.ClientID() != 7 {
		t.Fatalf("local = %s, len %d", a.LocalState(), a.Len())
	}
	// The reference server has no state of its own.
	c, err := a.SetLocalState("null", 200)
	if err != nil || !reflect.DeepEqual(c, Change{Removed: ids(7)}) {
		t.Fatalf("SetLocalState(null) = %+v, %v", c, err)
	}
	if cs, _ := a.Get(7); cs.Clock != 1 || cs.State != "null" || a.Len() != 0 || a.LocalState() != "null" {
		t.Fatalf("after removal: %+v", cs)
	}
	if _, err := a.SetLocalState("{", 300); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad JSON: %v", err)
	}
	if cs, _ := a.Get(7); cs.Clock != 1 {
		t.Fatal("bad JSON changed the table")
	}
	if _, ok := a.Get(99); ok {
		t.Fatal("Get of an unknown client")
	}
}

func TestAwarenessApplyRules(t *testing.T) {
	a := NewAwareness(7, 0)
	steps := []struct {
		name  string
		u     []byte
		want  Change
		clock uint64 // of client 1 afterwards
		state string // of client 1 afterwards
	}{
		// An unknown client's clock counts as 0, so clock 0 is not newer.
		{"unknown clock 0 ignored", upd(e(1, 0, `{"a":1}`)), Change{}, 0, ""},
		{"add", upd(e(1, 1, ` { "a" : 1 , "b":[true,null] } `)), Change{Added: ids(1)}, 1, `{"a":1,"b":[true,null]}`},
		{"same clock ignored", upd(e(1, 1, `{"a":2}`)), Change{}, 1, `{"a":1,"b":[true,null]}`},
		{"renewal", upd(e(1, 2, `{"b":[true,null],"a":1}`)), Change{Updated: ids(1)}, 2, `{"b":[true,null],"a":1}`},
		{"modify", upd(e(1, 3, `{"a":2}`)), Change{Updated: ids(1), Modified: ids(1)}, 3, `{"a":2}`},
		{"older ignored", upd(e(1, 2, `null`)), Change{}, 3, `{"a":2}`},
		{"equal clock null removes", upd(e(1, 3, `null`)), Change{Removed: ids(1)}, 3, ""},
		{"equal clock null again ignored", upd(e(1, 3, `null`)), Change{}, 3, ""},
		{"newer null of removed client", upd(e(1, 4, `null`)), Change{Removed: ids(1)}, 4, ""},
		{"re-add is an update", upd(e(1, 5, `"x"`)), Change{Updated: ids(1), Modified: ids(1)}, 5, `"x"`},
		{"later entry sees earlier", upd(e(1, 6, `1`), e(1, 6, `2`), e(1, 7, `1`)), Change{Updated: ids(1, 1), Modified: ids(1)}, 7, `1`},
	}
	for _, s := range steps {
		c := mustApply(t, a, s.u, 10)
		if !reflect.DeepEqual(c, s.want) {
			t.Fatalf("%s: change = %+v, want %+v", s.name, c, s.want)
		}
		cs, ok := a.Get(1)
		if st, has := a.State(1); s.state == "" && has || s.state != "" && st != s.state {
			t.Fatalf("%s: state = %q %v, want %q", s.name, st, has, s.state)
		}
		if ok && cs.Clock != s.clock {
			t.Fatalf("%s: clock = %d, want %d", s.name, cs.Clock, s.clock)
		}
	}
	// A null for a client never seen records its clock but reports nothing.
	if c := mustApply(t, a, upd(e(2, 5, "null")), 11); !c.Empty() {
		t.Fatalf("null of unknown client: %+v", c)
	}
	if cs, ok := a.Get(2); !ok || cs.Clock != 5 || cs.State != "null" {
		t.Fatalf("Get(2) = %+v", cs)
	}
}

func TestAwarenessLocalNotRemovable(t *testing.T) {
	a := NewAwareness(7, 0)
	if _, err := a.SetLocalState(`{"me":1}`, 0); err != nil { // clock 1
		t.Fatal(err)
	}
	c := mustApply(t, a, upd(e(7, 1, "null")), 5)
	// y-protocols reports the local client as removed yet keeps its state and
	// moves its clock past the remote removal.
	if !reflect.DeepEqual(c, Change{Removed: ids(7)}) {
		t.Fatalf("change = %+v", c)
	}
	if cs, _ := a.Get(7); cs.Clock != 2 || cs.State != `{"me":1}` {
		t.Fatalf("local = %+v", cs)
	}
	// A newer remote state for the local id is taken, as y-protocols does.
	if c := mustApply(t, a, upd(e(7, 9, `{"me":2}`)), 6); !reflect.DeepEqual(c, Change{Updated: ids(7), Modified: ids(7)}) {
		t.Fatalf("change = %+v", c)
	}
}

func TestAwarenessApplyMalformedIsAtomic(t *testing.T) {
	a := NewAwareness(7, 0)
	good := upd(e(1, 1, `{}`))
	bad := append([]byte{2}, good[1:]...) // claims 2 entries, has 1
	if _, err := a.Apply(bad, 1); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Apply = %v", err)
	}
	if _, ok := a.Get(1); ok {
		t.Fatal("malformed update partly applied")
	}
	bad = upd(e(1, 1, `{}`), e(2, 1, `{oops}`))
	if _, err := a.Apply(bad, 1); !errors.Is(err, ErrMalformed) || a.Len() != 1 {
		t.Fatalf("Apply = %v, len %d", err, a.Len())
	}
}

func TestAwarenessEncode(t *testing.T) {
	a := NewAwareness(7, 0)
	mustApply(t, a, upd(e(1, 1, `{"n":"one"}`), e(2, 3, `0`), e(3, 1, `false`), e(4, 2, `{"x":1}`)), 0)
	a.RemoveStates(ids(4), 0)
	got := a.Encode(ids(1, 2, 3, 4, 99, 7))
	// Falsy states are written as null (states.get(id) || null), clients never
	// seen are skipped.
	want := upd(e(1, 1, `{"n":"one"}`), e(2, 3, "null"), e(3, 1, "null"), e(4, 2, "null"), e(7, 0, `{}`))
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = % x\nwant     % x", got, want)
	}
	if got, want := a.EncodeAll(), a.Encode(ids(1, 2, 3, 7)); !bytes.Equal(got, want) {
		t.Fatalf("EncodeAll = % x, want % x", got, want)
	}
	if !slices.Equal(a.Clients(), ids(1, 2, 3, 7)) {
		t.Fatalf("Clients = %v", a.Clients())
	}
	// A falsy local state counts as none.
	if _, err := a.SetLocalState(`""`, 0); err != nil || a.LocalState() != "null" {
		t.Fatalf("LocalState = %s, %v", a.LocalState(), err)
	}
	if _, ok := a.RenewLocal(1e6, OutdatedTimeout); ok {
		t.Fatal("renewed a falsy local state")
	}
}

func TestAwarenessTimeouts(t *testing.T) {
	a := NewAwareness(7, 0)
	mustApply(t, a, upd(e(1, 1, `{}`), e(2, 1, `{}`)), 1000)
	mustApply(t, a, upd(e(2, 2, `{}`)), 20_000)
	if got := a.Outdated(30_999, OutdatedTimeout); len(got) != 0 {
		t.Fatalf("Outdated early = %v", got)
	}
	if got := a.Outdated(31_000, OutdatedTimeout); !slices.Equal(got, ids(1)) {
		t.Fatalf("Outdated = %v", got)
	}
	if got := a.Outdated(1e9, OutdatedTimeout); !slices.Equal(got, ids(1, 2)) { // never the local client
		t.Fatalf("Outdated = %v", got)
	}
	c := a.RemoveStates(ids(1, 1, 5), 31_000)
	if !reflect.DeepEqual(c, Change{Removed: ids(1)}) {
		t.Fatalf("RemoveStates = %+v", c)
	}
	if cs, _ := a.Get(1); cs.Clock != 1 || cs.LastUpdated != 1000 {
		t.Fatalf("removed remote keeps its meta: %+v", cs)
	}
	// Broadcasting the removal at the same clock is accepted by peers.
	peer := NewAwareness(9, 0)
	mustApply(t, peer, upd(e(1, 1, `{}`)), 0)
	if c := mustApply(t, peer, a.Encode(c.Clients()), 0); !reflect.DeepEqual(c, Change{Removed: ids(1)}) {
		t.Fatalf("peer change = %+v", c)
	}

	// Local renewal every timeout/2.
	if _, ok := a.RenewLocal(14_999, OutdatedTimeout); ok {
		t.Fatal("renewed too early")
	}
	c, ok := a.RenewLocal(15_000, OutdatedTimeout)
	if !ok || !reflect.DeepEqual(c, Change{Updated: ids(7)}) {
		t.Fatalf("RenewLocal = %+v, %v", c, ok)
	}
	if cs, _ := a.Get(7); cs.Clock != 1 || cs.LastUpdated != 15_000 {
		t.Fatalf("local after renewal: %+v", cs)
	}
	// Removing the local state bumps its clock.
	a.RemoveStates(ids(7), 16_000)
	if cs, _ := a.Get(7); cs.Clock != 2 || cs.State != "null" {
		t.Fatalf("local after removal: %+v", cs)
	}
	if _, ok := a.RenewLocal(1e9, OutdatedTimeout); ok {
		t.Fatal("renewed a removed local state")
	}
}

func TestAwarenessClockSaturates(t *testing.T) {
	const max = 1<<53 - 1
	a := NewAwareness(7, 0)
	mustApply(t, a, upd(e(7, max, `{"x":1}`)), 0)
	mustApply(t, a, upd(e(7, max, `null`)), 0) // would bump past 2^53-1
	if cs, _ := a.Get(7); cs.Clock != max {
		t.Fatalf("clock = %d", cs.Clock)
	}
	if _, err := DecodeAwarenessUpdate(a.EncodeAll()); err != nil {
		t.Fatal(err)
	}
}

func TestChange(t *testing.T) {
	c := Change{Added: ids(1), Updated: ids(2, 3), Removed: ids(4), Modified: ids(3)}
	if !slices.Equal(c.Clients(), ids(1, 2, 3, 4)) || c.Empty() || !c.Changed() {
		t.Fatalf("%v %v %v", c.Clients(), c.Empty(), c.Changed())
	}
	if r := (Change{Updated: ids(2)}); r.Empty() || r.Changed() {
		t.Fatal("a renewal is an update but not a change")
	}
}

func TestJSONEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		eq   bool
	}{
		{`{"a":1,"b":2}`, `{"b":2,"a":1}`, true},
		{`{"a":1}`, `{"a":1,"b":2}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`[1,{"x":[null]}]`, `[1,{"x":[null]}]`, true},
		{`0`, `-0`, true},
		{`1`, `"1"`, false},
		{`{}`, `[]`, false},
		{`null`, `null`, true},
		{`true`, `false`, false},
		{`{"a":1,"a":2}`, `{"a":2}`, true},
	} {
		a, b := mustParse(t, tc.a), mustParse(t, tc.b)
		if got := jsonEqual(a, b); got != tc.eq {
			t.Errorf("jsonEqual(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func mustParse(tb testing.TB, s string) any {
	tb.Helper()
	v, err := lib0.ParseJSON(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
