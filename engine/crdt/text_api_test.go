package crdt

import (
	"encoding/json"
	"testing"

	"octobase/engine/lib0"
)

// ApplyDelta and ToDelta round-trip, and InsertWithAttributes keeps the
// given attribute order.
func TestTextDeltaRoundTrip(t *testing.T) {
	d := MustNewDoc(Options{ClientID: 1})
	x, _ := d.GetText("t")
	delta := []Delta{
		{Insert: "plain "},
		{Insert: "bold", Attributes: lib0.Object{{Key: "bold", Value: true}}},
		{Insert: lib0.Object{{Key: "image", Value: "p.png"}}},
		{Insert: "\n"},
	}
	if err := x.ApplyDelta(nil, delta); err != nil {
		t.Fatal(err)
	}
	if err := x.InsertWithAttributes(nil, 0, ">", lib0.Object{{Key: "z", Value: 1.0}, {Key: "a", Value: 2.0}}); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(x.ToDelta())
	want := `[{"insert":"\u003e","attributes":{"z":1,"a":2}},{"insert":"plain "},{"insert":"bold","attributes":{"bold":true}},{"insert":{"image":"p.png"}},{"insert":"\n"}]`
	if string(got) != want {
		t.Fatalf("delta\n got  %s\n want %s", got, want)
	}
	if x.String() != ">plain bold\n" || x.Len() != 13 {
		t.Fatalf("text %q len %d", x.String(), x.Len())
	}
	if err := x.Delete(nil, 0, 100); err == nil {
		t.Fatal("deleting past the end succeeded")
	}
}
