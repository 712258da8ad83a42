package ysync

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

func newDoc(tb testing.TB, client uint64) *crdt.Doc {
	tb.Helper()
	d, err := crdt.NewDoc(crdt.Options{ClientID: client})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func setKey(tb testing.TB, d *crdt.Doc, k string, v any) {
	tb.Helper()
	m, err := d.GetMap("m")
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Set(nil, k, v); err != nil {
		tb.Fatal(err)
	}
}

func insertText(tb testing.TB, d *crdt.Doc, i int, s string) {
	tb.Helper()
	x, err := d.GetText("t")
	if err != nil {
		tb.Fatal(err)
	}
	if err := x.Insert(nil, i, s, nil); err != nil {
		tb.Fatal(err)
	}
}

// exchange delivers msg to s and returns the replies, failing on error.
func exchange(tb testing.TB, s Store, msg []byte, origin any, opts *Options) [][]byte {
	tb.Helper()
	r, err := Handle(s, msg, origin, opts)
	if err != nil {
		tb.Fatalf("Handle(% x): %v", msg, err)
	}
	return r
}

func sameState(tb testing.TB, a, b *crdt.Doc) {
	tb.Helper()
	if got, want := crdt.EncodeStateVector(a.StateVector()), crdt.EncodeStateVector(b.StateVector()); !bytes.Equal(got, want) {
		tb.Fatalf("state vectors differ: % x vs % x", got, want)
	}
	ta, _ := a.GetText("t")
	tb2, _ := b.GetText("t")
	if ta.String() != tb2.String() {
		tb.Fatalf("texts differ: %q vs %q", ta.String(), tb2.String())
	}
	ma, _ := a.GetMap("m")
	mb, _ := b.GetMap("m")
	if ja, jb := jsonText(tb, ma.ToJSON()), jsonText(tb, mb.ToJSON()); ja != jb {
		tb.Fatalf("maps differ: %s vs %s", ja, jb)
	}
}

// TestHandleSyncTwoDocs runs the y-websocket handshake between two Go
// documents: both send Step1, both answer with Step2, then updates flow.
func TestHandleSyncTwoDocs(t *testing.T) {
	a, b := newDoc(t, 1), newDoc(t, 2)
	setKey(t, a, "x", "from a")
	insertText(t, a, 0, "hello")
	setKey(t, b, "y", 2.5)
	insertText(t, b, 0, "world")

	// b (the client) opens; a (the server) answers and opens too.
	replies := exchange(t, a, Step1(b), "b", nil)
	if len(replies) != 1 {
		t.Fatalf("Step1 got %d replies", len(replies))
	}
	if m, err := Decode(replies[0]); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(SyncStep2); !ok {
		t.Fatalf("reply to Step1 is %v", m)
	}
	for _, r := range replies {
		if got := exchange(t, b, r, "a", nil); len(got) != 0 {
			t.Fatalf("Step2 got replies %v", got)
		}
	}
	for _, r := range exchange(t, b, Step1(a), "a", nil) {
		exchange(t, a, r, "b", nil)
	}
	sameState(t, a, b)

	// Live updates, forwarded as Update messages with the right origin.
	var toB [][]byte
	var origins []any
	cancel := a.OnUpdate(func(u []byte, tx *crdt.Txn) {
		origins = append(origins, tx.Origin)
		if tx.Origin != "b" {
			toB = append(toB, AppendUpdate(nil, u))
		}
	})
	defer cancel()
	insertText(t, a, 0, ">> ")
	setKey(t, a, "z", true)
	for _, m := range toB {
		exchange(t, b, m, "a", nil)
	}
	var toA [][]byte
	cancelB := b.OnUpdate(func(u []byte, tx *crdt.Txn) {
		if tx.Origin != "a" {
			toA = append(toA, AppendUpdate(nil, u))
		}
	})
	defer cancelB()
	setKey(t, b, "x", "from b")
	for _, m := range toA {
		exchange(t, a, m, "b", nil)
	}
	sameState(t, a, b)
	if origins[len(origins)-1] != "b" {
		t.Fatalf("origin of applied update = %v, want b", origins[len(origins)-1])
	}
}

func TestHandleStep1ReplyIsDiff(t *testing.T) {
	a := newDoc(t, 1)
	insertText(t, a, 0, "abc")
	sv := a.StateVector()
	insertText(t, a, 3, "def")
	replies := exchange(t, a, AppendSyncStep1(nil, sv), nil, nil)
	want := AppendSyncStep2(nil, a.EncodeStateAsUpdate(sv))
	if len(replies) != 1 || !bytes.Equal(replies[0], want) {
		t.Fatalf("replies = % x, want % x", replies, want)
	}
	// Read-only peers may still read.
	replies = exchange(t, a, AppendSyncStep1(nil, nil), nil, &Options{ReadOnly: true})
	if len(replies) != 1 || !bytes.Equal(replies[0], AppendSyncStep2(nil, a.EncodeStateAsUpdate(nil))) {
		t.Fatalf("read-only Step1 replies = % x", replies)
	}
}

func TestHandleReadOnly(t *testing.T) {
	src := newDoc(t, 7)
	insertText(t, src, 0, "secret")
	u := src.EncodeStateAsUpdate(nil)
	for _, tc := range []struct {
		name   string
		msg    []byte
		opts   *Options
		reason string // "" = no reply
	}{
		{"update", AppendUpdate(nil, u), &Options{ReadOnly: true}, DefaultDenyReason},
		{"step2", AppendSyncStep2(nil, u), &Options{ReadOnly: true, DenyReason: "viewer"}, "viewer"},
		{"empty step2", AppendSyncStep2(nil, []byte{0, 0}), &Options{ReadOnly: true}, ""},
		{"malformed update", AppendUpdate(nil, []byte{9, 9, 9}), &Options{ReadOnly: true}, DefaultDenyReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDoc(t, 1)
			replies := exchange(t, d, tc.msg, nil, tc.opts)
			if len(d.StateVector()) != 0 {
				t.Fatal("read-only Handle applied the update")
			}
			if tc.reason == "" {
				if len(replies) != 0 {
					t.Fatalf("replies = % x, want none", replies)
				}
				return
			}
			if len(replies) != 1 {
				t.Fatalf("replies = % x", replies)
			}
			m, err := Decode(replies[0])
			if err != nil {
				t.Fatal(err)
			}
			if m != (AuthDenied{Reason: tc.reason}) {
				t.Fatalf("reply = %#v", m)
			}
		})
	}
}

func TestHandleErrors(t *testing.T) {
	d := newDoc(t, 1)
	_, err := Handle(d, []byte{0, 2, 3, 9, 9, 9}, nil, nil)
	if !errors.Is(err, crdt.ErrMalformed) || errors.Is(err, ErrMalformed) {
		t.Fatalf("bad update: %v", err)
	}
	if _, err := Handle(d, []byte{0, 7, 0}, nil, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad framing: %v", err)
	}
	for _, msg := range [][]byte{AppendQueryAwareness(nil), AppendAuthDenied(nil, "x"), AppendAwareness(nil, []byte{0}), {9}} {
		if r, err := Handle(d, msg, nil, nil); !errors.Is(err, ErrNotSync) || r != nil {
			t.Fatalf("Handle(% x) = %v, %v; want ErrNotSync", msg, r, err)
		}
	}
	if len(d.StateVector()) != 0 {
		t.Fatal("document changed")
	}
}

// logStore is a Store that applies through a log, as the engine does.
type logStore struct {
	doc     *crdt.Doc
	log     [][]byte
	origins []any
	fail    error
}

func (s *logStore) StateVector() crdt.StateVector { return s.doc.StateVector() }
func (s *logStore) EncodeStateAsUpdate(sv crdt.StateVector) []byte {
	return s.doc.EncodeStateAsUpdate(sv)
}
func (s *logStore) ApplyUpdate(u []byte, origin any) error {
	if s.fail != nil {
		return s.fail
	}
	s.log = append(s.log, bytes.Clone(u))
	s.origins = append(s.origins, origin)
	return s.doc.ApplyUpdate(u, origin)
}

func TestHandleStore(t *testing.T) {
	var _ Store = (*logStore)(nil)
	src := newDoc(t, 3)
	insertText(t, src, 0, "logged")
	s := &logStore{doc: newDoc(t, 1)}
	msg := AppendUpdate(nil, src.EncodeStateAsUpdate(nil))
	m, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := HandleMessage(s, m, "peer", nil); err != nil || r != nil {
		t.Fatalf("HandleMessage = %v, %v", r, err)
	}
	if len(s.log) != 1 || s.origins[0] != "peer" {
		t.Fatalf("log = %v, origins %v", s.log, s.origins)
	}
	sameState(t, src, s.doc)

	boom := errors.New("log full")
	s.fail = boom
	if _, err := HandleMessage(s, m, nil, nil); !errors.Is(err, boom) {
		t.Fatalf("store error not returned: %v", err)
	}
	if _, err := HandleMessage(s, nil, nil, nil); !errors.Is(err, ErrNotSync) {
		t.Fatalf("nil message: %v", err)
	}
}

// jsonText prints v as JSON with object keys sorted: map keys arrive in
// different orders on different replicas (as in yjs).
func jsonText(tb testing.TB, v any) string {
	tb.Helper()
	s, err := lib0.StringifyJSON(v)
	if err != nil {
		tb.Fatal(err)
	}
	var x any
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
