package crdt

import (
	"encoding/json"
	"testing"
)

// Map.ToJSON lists keys as yjs' toJSON does: in the order they first
// appeared, integer-like keys first (a JavaScript object).
func TestMapToJSONKeyOrder(t *testing.T) {
	d := MustNewDoc(Options{ClientID: 1})
	m, _ := d.GetMap("m")
	for _, k := range []string{"b", "a", "10", "c", "2"} {
		if err := m.Set(nil, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Set(nil, "b", 2); err != nil { // overwriting keeps the position
		t.Fatal(err)
	}
	m.Delete(nil, "c")
	got, _ := json.Marshal(m.ToJSON())
	if want := `{"2":1,"10":1,"b":2,"a":1}`; string(got) != want {
		t.Fatalf("ToJSON = %s, want %s", got, want)
	}
	// A replica gets the keys in the order it integrates them.
	d2 := MustNewDoc(Options{ClientID: 2})
	if err := d2.ApplyUpdate(d.EncodeStateAsUpdate(nil), nil); err != nil {
		t.Fatal(err)
	}
	m2, _ := d2.GetMap("m")
	got2, _ := json.Marshal(m2.ToJSON())
	if string(got2) != string(got) {
		t.Fatalf("replica ToJSON = %s, want %s", got2, got)
	}
}
