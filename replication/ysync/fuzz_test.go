package ysync

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"octobase/engine/crdt"
)

// yprotocolsHex holds messages written by y-protocols 1.0.7 with yjs 13.6.33
// (lib0 0.2.120), kept so the seeds and TestGoldenHex work without Node:
//
//	const doc = new Y.Doc(); doc.clientID = 11
//	doc.getText('t').insert(0, 'hi'); doc.getMap('m').set('k', 1)
//	const aw = new Awareness(doc); aw.setLocalState({ user: 'Ann' })
//	step1:     [0] + writeSyncStep1(doc)
//	step2:     [0] + writeSyncStep2(doc)
//	update:    [0] + writeUpdate(encodeStateAsUpdate(doc))
//	aw:        [1] + varUint8Array(encodeAwarenessUpdate(aw, [11]))
//	awRemoved: the same after removeAwarenessStates(aw, [11])
//	denied:    [2] + writePermissionDenied('read-only')
//
// TestGoldenYProtocols checks the same kind of bytes live.
var yprotocolsHex = map[string]string{
	"step1":     "000003010b03",
	"step2":     "00011501020b00040101740268692801016d016b017d0100",
	"update":    "00021501020b00040101740268692801016d016b017d0100",
	"aw":        "0112010b010e7b2275736572223a22416e6e227d",
	"awRemoved": "0108010b02046e756c6c",
	"denied":    "020009726561642d6f6e6c79",
}

func TestGoldenHex(t *testing.T) {
	g := map[string][]byte{}
	for k, v := range yprotocolsHex {
		g[k] = unhex(t, v)
		if got := Encode(decodeOK(t, g[k])); !bytes.Equal(got, g[k]) {
			t.Errorf("%s: re-encoded % x, want % x", k, got, g[k])
		}
	}
	doc := newDoc(t, 11)
	insertText(t, doc, 0, "hi")
	setKey(t, doc, "k", 1.0)
	full := doc.EncodeStateAsUpdate(nil)
	aw := NewAwareness(11, 0)
	if _, err := aw.SetLocalState(`{"user":"Ann"}`, 0); err != nil {
		t.Fatal(err)
	}
	awMsg := AppendAwareness(nil, aw.Encode([]uint64{11}))
	removed := aw.RemoveStates([]uint64{11}, 0)
	for name, got := range map[string][]byte{
		"step1":     Step1(doc),
		"step2":     AppendSyncStep2(nil, full),
		"update":    AppendUpdate(nil, full),
		"aw":        awMsg,
		"awRemoved": AppendAwareness(nil, aw.Encode(removed.Clients())),
		"denied":    AppendAuthDenied(nil, "read-only"),
	} {
		if !bytes.Equal(got, g[name]) {
			t.Errorf("%s: ours % x\n  y-protocols % x", name, got, g[name])
		}
	}
}

func fuzzSeeds(f *testing.F) {
	for _, v := range yprotocolsHex {
		f.Add(unhex(f, v))
	}
	for _, m := range []Message{
		SyncStep1{}, SyncStep1{SV: crdt.StateVector{1: 2, 1 << 40: 7}},
		SyncStep2{Update: []byte{0, 0}}, Update{Update: []byte{1, 2, 3}},
		AwarenessUpdate{Update: EncodeAwarenessUpdate([]AwarenessEntry{{1, 2, `{"a":[1,{"b":null}]}`}, {3, 4, "null"}, {1, 3, `0`}})},
		QueryAwareness{}, AuthDenied{Reason: "nö"}, Unknown{Type: 77, Payload: []byte{1}},
	} {
		f.Add(Encode(m))
	}
	for _, h := range []string{"", "00", "0003", "02 05", "01 02 ff7f", "00 01 ffffffffffffff0f", "01 05 01 05 01 01 ff"} {
		f.Add(unhex(f, h))
	}
}

// FuzzDecode: Decode never panics, errors wrap ErrMalformed, and whatever
// decodes re-encodes to bytes that decode to the same message, whose encoding
// is then stable.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		enc := Encode(m)
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode of % x: %v", enc, err)
		}
		if !messagesEqual(m, m2) {
			t.Fatalf("round trip: %#v != %#v", m, m2)
		}
		if enc2 := Encode(m2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: % x vs % x", enc, enc2)
		}
		// Handle on the same input: a read-only session never changes the
		// document; a failed apply leaves it unchanged.
		d := newDoc(t, 1)
		if _, err := Handle(d, b, nil, &Options{ReadOnly: true}); err != nil && !errors.Is(err, ErrNotSync) {
			t.Fatalf("read-only Handle: %v", err)
		}
		if len(d.StateVector()) != 0 || d.HasPending() {
			t.Fatal("read-only Handle changed the document")
		}
		replies, err := Handle(d, b, nil, nil)
		switch m.(type) {
		case SyncStep1:
			if err != nil || len(replies) != 1 {
				t.Fatalf("Step1: %d replies, %v", len(replies), err)
			}
			if _, ok := decodeOK(t, replies[0]).(SyncStep2); !ok {
				t.Fatal("Step1 reply is not a Step2")
			}
		case SyncStep2, Update:
			if err != nil && (len(d.StateVector()) != 0 || d.HasPending()) {
				t.Fatalf("failed apply changed the document: %v", err)
			}
		default:
			if !errors.Is(err, ErrNotSync) {
				t.Fatalf("non-sync message: %v", err)
			}
		}
	})
}

// FuzzAwareness: DecodeAwarenessUpdate and Awareness.Apply never panic,
// agree on what is malformed, round-trip, and leave a table that encodes to
// decodable bytes.
func FuzzAwareness(f *testing.F) {
	f.Add([]byte{0})
	f.Add(EncodeAwarenessUpdate([]AwarenessEntry{{1, 1, `{"x":1}`}, {7, 0, "null"}, {1, 1, "null"}, {2, 5, `""`}}))
	f.Add(EncodeAwarenessUpdate([]AwarenessEntry{{7, 1<<53 - 1, `null`}, {3, 2, `[[[[]]]]`}}))
	for _, v := range yprotocolsHex {
		if b := unhex(f, v); b[0] == MsgAwareness {
			f.Add(b[2:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeAwarenessUpdate(b)
		a := NewAwareness(7, 0)
		// A second update on top of the first exercises the equal-clock rules.
		c1, err1 := a.Apply(b, 1)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("DecodeAwarenessUpdate err %v, Apply err %v", err, err1)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if a.Len() != 1 || !c1.Empty() {
				t.Fatal("malformed update changed the table")
			}
			return
		}
		enc := EncodeAwarenessUpdate(es)
		es2, err := DecodeAwarenessUpdate(enc)
		if err != nil || !reflect.DeepEqual(es, es2) && !(len(es) == 0 && len(es2) == 0) {
			t.Fatalf("round trip: %v, %+v vs %+v", err, es, es2)
		}
		if _, err := a.Apply(b, 2); err != nil {
			t.Fatal(err)
		}
		for _, id := range c1.Clients() {
			if _, ok := a.Get(id); !ok {
				t.Fatalf("changed client %d unknown", id)
			}
		}
		all := a.EncodeAll()
		got, err := DecodeAwarenessUpdate(all)
		if err != nil {
			t.Fatalf("EncodeAll undecodable: %v", err)
		}
		if len(got) != a.Len() {
			t.Fatalf("EncodeAll has %d entries, table %d", len(got), a.Len())
		}
		// Re-applying our own encoding to a fresh peer reproduces the states.
		peer := NewAwareness(8, 0)
		if _, err := peer.Apply(all, 3); err != nil {
			t.Fatal(err)
		}
	})
}
