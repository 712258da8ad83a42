package crdt

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The byte sequences below were produced by yjs 13.6.33 (see YJS.md §1).
func TestTextInsertMatchesYjs(t *testing.T) {
	d := MustNewDoc(Options{ClientID: 1})
	txt, err := d.GetText("t")
	if err != nil {
		t.Fatal(err)
	}
	var updates [][]byte
	d.OnUpdate(func(u []byte, _ *Txn) { updates = append(updates, u) })
	if err := txt.Insert(nil, 0, "abc", nil); err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "010101000401017403616263"+"00")
	if got := d.EncodeStateAsUpdate(nil); !bytes.Equal(got, want) {
		t.Fatalf("state = %x, want %x", got, want)
	}
	if len(updates) != 1 || !bytes.Equal(updates[0], want) {
		t.Fatalf("update = %x, want %x", updates, want)
	}
	if err := txt.Insert(nil, 1, "X", nil); err != nil {
		t.Fatal(err)
	}
	if err := txt.Delete(nil, 3, 1); err != nil {
		t.Fatal(err)
	}
	want = mustHex(t, "01040100"+"040101740161"+"8401000162"+"81010101"+"c401000101015"+"8"+"0101010201")
	if got := d.EncodeStateAsUpdate(nil); !bytes.Equal(got, want) {
		t.Fatalf("state = %x\n want  %x", got, want)
	}
	if s := txt.String(); s != "aXb" {
		t.Fatalf("text = %q", s)
	}
	// A second document applying the state converges.
	d2 := MustNewDoc(Options{ClientID: 2})
	if err := d2.ApplyUpdate(want, nil); err != nil {
		t.Fatal(err)
	}
	t2, _ := d2.GetText("t")
	if s := t2.String(); s != "aXb" {
		t.Fatalf("remote text = %q", s)
	}
	if got := d2.EncodeStateAsUpdate(nil); !bytes.Equal(got, want) {
		t.Fatalf("remote state = %x\n want         %x", got, want)
	}
}
