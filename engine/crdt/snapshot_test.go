package crdt

import (
	"encoding/json"
	"testing"
)

func TestSnapshotTimeTravel(t *testing.T) {
	d := MustNewDoc(Options{ClientID: 1, DisableGC: true})
	txt, _ := d.GetText("t")
	m, _ := d.GetMap("m")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(txt.Insert(nil, 0, "hello world", nil))
	must(m.Set(nil, "k", "v1"))
	s1 := d.Snapshot()
	must(txt.Delete(nil, 0, 6))
	must(txt.Insert(nil, 5, "!", nil))
	must(m.Set(nil, "k", "v2"))
	s2 := d.Snapshot()
	if s1.Equal(s2) {
		t.Fatal("snapshots of different states compare equal")
	}
	dec, err := DecodeSnapshot(EncodeSnapshot(s1))
	if err != nil || !dec.Equal(s1) {
		t.Fatalf("snapshot round trip: %v", err)
	}
	if got := txt.ToDeltaAt(s1); len(got) != 1 || got[0].Insert != "hello world" {
		t.Fatalf("delta at s1 = %+v", got)
	}
	old, err := d.DocFromSnapshot(dec, 9)
	if err != nil {
		t.Fatal(err)
	}
	ot, _ := old.GetText("t")
	om, _ := old.GetMap("m")
	if ot.String() != "hello world" {
		t.Fatalf("old text = %q", ot.String())
	}
	if v, _ := om.Get("k"); v != "v1" {
		t.Fatalf("old map k = %v", v)
	}
	if txt.String() != "world!" {
		t.Fatalf("current text = %q", txt.String())
	}
	now, err := d.DocFromSnapshot(s2, 9)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(ToJSON(mustRoot(now)))
	b, _ := json.Marshal(ToJSON(mustRoot(d)))
	if string(a) != string(b) {
		t.Fatalf("snapshot of now %s != doc %s", a, b)
	}
	gcDoc := MustNewDoc(Options{ClientID: 2})
	if _, err := gcDoc.DocFromSnapshot(s1, 3); err != ErrGCEnabled {
		t.Fatalf("gc doc: err = %v", err)
	}
}

func mustRoot(d *Doc) *Map {
	m, _ := d.GetMap("m")
	return m
}
