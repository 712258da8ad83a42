package index_test

import (
	"bytes"
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"

	"octobase/index"
)

func Example() {
	ix := index.New()
	const may1 = 1714521600000 // 2024-05-01T00:00:00Z in ms
	err := ix.ApplyAt(1, []index.BlockChange{
		{ID: "page", Flavour: "affine:page", Creator: "alice", Created: may1, Updated: may1},
		{ID: "note", Flavour: "affine:note", Creator: "alice", Parent: "page", Created: may1, Updated: may1},
		{ID: "p1", Flavour: "affine:paragraph", Creator: "bob", Parent: "note", Created: may1 + 60_000, Updated: may1},
		{ID: "p2", Flavour: "affine:paragraph", Creator: "alice", Parent: "note", Links: []string{"page"}, Created: may1, Updated: may1},
	})
	if err != nil {
		panic(err)
	}
	s := ix.Snapshot() // immutable; later writes do not change it

	ids := func(bm *roaring.Bitmap) []string {
		var out []string
		for _, r := range bm.ToArray() {
			id, _ := s.ID(index.RowID(r))
			out = append(out, id)
		}
		return out
	}
	// type = 'affine:paragraph' AND creator = 'alice'
	fmt.Println(ids(roaring.And(s.ByFlavour("affine:paragraph"), s.ByCreator("alice"))))
	fmt.Println(ids(s.DescendantsOf("page")))
	fmt.Println(ids(s.LinkingTo("page")))
	exact, candidates := s.CreatedRange(may1, may1+30_000)
	fmt.Println(ids(exact), ids(candidates)) // p1 is in the boundary hour, not in the range

	_ = ix.Apply([]index.BlockChange{{ID: "p2", Deleted: true}})
	fmt.Println(s.LiveCount(), ix.Snapshot().LiveCount())

	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		panic(err)
	}
	loaded := index.New()
	if _, err := loaded.ReadFrom(&buf); err != nil {
		panic(err)
	}
	fmt.Println(ix.Check(loaded), loaded.Snapshot().Position())
	// Output:
	// [p2]
	// [note p1 p2]
	// [p2]
	// [] [page note p1 p2]
	// 4 3
	// <nil> 1
}
