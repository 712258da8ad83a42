package ysync

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestEncodeBytes pins the wire layout documented in doc.go.
func TestEncodeBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		hex  string
	}{
		{"step1 empty", SyncStep1{}, "00 00 01 00"},
		{"step1", SyncStep1{SV: crdt.StateVector{1: 3, 300: 2}}, "00 00 06 02 ac02 02 01 03"},
		{"step2 empty update", SyncStep2{Update: []byte{0, 0}}, "00 01 02 0000"},
		{"update", Update{Update: []byte{1, 2, 3}}, "00 02 03 010203"},
		{"awareness", AwarenessUpdate{Update: EncodeAwarenessUpdate([]AwarenessEntry{{ClientID: 5, Clock: 1, State: `{}`}})}, "01 06 01 05 01 02 7b7d"},
		{"awareness removal", AwarenessUpdate{Update: EncodeAwarenessUpdate([]AwarenessEntry{{ClientID: 5, Clock: 2}})}, "01 08 01 05 02 04 6e756c6c"},
		{"query", QueryAwareness{}, "03"},
		{"denied", AuthDenied{Reason: "no"}, "02 00 02 6e6f"},
		{"unknown", Unknown{Type: 200, Payload: []byte{9}}, "c801 09"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got := Encode(tc.m)
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode = % x, want % x", got, want)
			}
			m, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !messagesEqual(m, tc.m) {
				t.Fatalf("Decode = %#v, want %#v", m, tc.m)
			}
			// Append appends.
			if got := tc.m.Append([]byte{0xff}); !bytes.Equal(got, append([]byte{0xff}, want...)) {
				t.Fatalf("Append = % x", got)
			}
		})
	}
}

// messagesEqual compares messages treating nil and empty state vectors and
// byte slices alike.
func messagesEqual(a, b Message) bool {
	switch a := a.(type) {
	case SyncStep1:
		b, ok := b.(SyncStep1)
		return ok && maps.Equal(a.SV, b.SV)
	case SyncStep2:
		b, ok := b.(SyncStep2)
		return ok && bytes.Equal(a.Update, b.Update)
	case Update:
		b, ok := b.(Update)
		return ok && bytes.Equal(a.Update, b.Update)
	case AwarenessUpdate:
		b, ok := b.(AwarenessUpdate)
		return ok && bytes.Equal(a.Update, b.Update)
	case Unknown:
		b, ok := b.(Unknown)
		return ok && a.Type == b.Type && bytes.Equal(a.Payload, b.Payload)
	}
	return reflect.DeepEqual(a, b)
}

func TestDecodeLenient(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want Message
	}{
		// y-protocols reads one message and ignores what follows.
		{"trailing after update", "00 02 01 07 ffff", Update{Update: []byte{7}}},
		{"trailing after query", "03 0102", QueryAwareness{}},
		{"trailing after denied", "02 00 01 61 00", AuthDenied{Reason: "a"}},
		// non-canonical varUint (lib0 tolerates redundant zero groups)
		{"redundant varuint type", "80 00 02 01 07", Update{Update: []byte{7}}},
		// auth sub-types other than permission denied are not interpreted.
		{"auth other", "02 05 0102", Unknown{Type: 2, Payload: []byte{5, 1, 2}}},
		{"unknown outer", "04", Unknown{Type: 4, Payload: []byte{}}},
		{"unknown big outer", "ffffffffffffff0f 01", Unknown{Type: 1<<53 - 1, Payload: []byte{1}}},
		{"awareness trailing entries bytes", "01 07 01 05 01 02 7b7d 99", AwarenessUpdate{Update: unhex(t, "01 05 01 02 7b7d 99")}},
		{"awareness zero entries", "01 01 00", AwarenessUpdate{Update: []byte{0}}},
		{"step1 duplicate client", "00 00 05 02 01 01 01 02", SyncStep1{SV: crdt.StateVector{1: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(unhex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !messagesEqual(m, tc.want) {
				t.Fatalf("Decode = %#v, want %#v", m, tc.want)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		also      error
	}{
		{"empty", "", lib0.ErrUnexpectedEOF},
		{"truncated varuint", "80", lib0.ErrUnexpectedEOF},
		{"overflow type", "ffffffffffffffff7f", lib0.ErrOverflow},
		{"sync no subtype", "00", lib0.ErrUnexpectedEOF},
		{"sync unknown subtype", "00 03 00", nil},
		{"sync no payload", "00 02", lib0.ErrUnexpectedEOF},
		{"sync payload short", "00 02 05 0102", lib0.ErrUnexpectedEOF},
		{"sync huge length", "00 01 ffffffffffffff0f", lib0.ErrUnexpectedEOF},
		{"step1 bad sv", "00 00 01 05", crdt.ErrMalformed},
		{"step1 empty sv", "00 00 00", crdt.ErrMalformed},
		{"awareness no payload", "01", lib0.ErrUnexpectedEOF},
		{"awareness empty payload", "01 00", lib0.ErrUnexpectedEOF},
		{"awareness count too big", "01 02 ff7f", lib0.ErrUnexpectedEOF},
		{"awareness truncated entry", "01 04 01 05 01 02", lib0.ErrUnexpectedEOF},
		{"awareness bad json", "01 06 01 05 01 02 7b7b", lib0.ErrSyntax},
		{"awareness empty json", "01 04 01 05 01 00", lib0.ErrSyntax},
		{"awareness bad utf8", "01 05 01 05 01 01 ff", lib0.ErrInvalidUTF8},
		{"auth no subtype", "02", lib0.ErrUnexpectedEOF},
		{"auth no reason", "02 00", lib0.ErrUnexpectedEOF},
		{"auth reason bad utf8", "02 00 01 c3", lib0.ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(unhex(t, tc.hex))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %#v, %v; want ErrMalformed", m, err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Fatalf("err = %v; want it to wrap %v", err, tc.also)
			}
			if !strings.HasPrefix(err.Error(), "ysync: ") {
				t.Fatalf("err = %q, want ysync: prefix", err)
			}
		})
	}
}

// TestDecodeAliases documents that payloads alias the input.
func TestDecodeAliases(t *testing.T) {
	b := AppendUpdate(nil, []byte{1, 2, 3})
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = 9
	if got := m.(Update).Update; got[2] != 9 {
		t.Fatalf("Update.Update = %v, want it to alias the input", got)
	}
}

func TestDecodeAllocs(t *testing.T) {
	msg := AppendUpdate(nil, bytes.Repeat([]byte{7}, 1000))
	n := testing.AllocsPerRun(100, func() {
		if _, err := Decode(msg); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 { // the interface conversion
		t.Fatalf("Decode(update) allocates %v times", n)
	}
	// A claimed length far beyond the input allocates nothing big.
	huge := unhex(t, "01 08 ffffffffffff0f 01")
	n = testing.AllocsPerRun(100, func() { _, _ = Decode(huge) })
	if n > 2 { // the error values
		t.Fatalf("Decode(huge length) allocates %v times", n)
	}
}

func TestStrings(t *testing.T) {
	for _, m := range []Message{SyncStep1{}, SyncStep2{}, Update{}, AwarenessUpdate{}, QueryAwareness{}, AuthDenied{Reason: "x"}, Unknown{Type: 9}} {
		if s, ok := m.(interface{ String() string }); !ok || s.String() == "" {
			t.Errorf("%T has no String", m)
		}
	}
}
