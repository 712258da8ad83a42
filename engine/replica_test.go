package engine

import (
	"errors"
	"reflect"
	"testing"
)

// TestReplica advances a replica opened in the past with the changes of a
// subscription and checks after every change that its view equals ReadAt
// of the same position, that the before callback sees
// the previous state, and that a change out of order is refused.
func TestReplica(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	var ids []BlockID
	for i := range 12 {
		transact(t, w, func(b *Blocks) error {
			nb := NewBlock{Flavour: "affine:paragraph", Creator: "u"}
			if len(ids) > 0 && i%3 != 0 {
				nb.Parent = ids[len(ids)-1]
			}
			if i%4 == 3 {
				return b.Delete(ids[i/4], false)
			}
			id, err := b.Create(nb)
			ids = append(ids, id)
			return err
		})
	}
	r, err := w.OpenReplica(bg, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.OpenReplica(bg, 13); !errors.Is(err, ErrFuture) {
		t.Fatalf("OpenReplica(13): %v", err)
	}
	sub, err := w.Subscribe(bg, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for ch := range sub.C {
		if err := r.Apply(Change{LSN: ch.LSN + 1, Update: ch.Update}, nil); err == nil {
			t.Fatal("a change out of order was applied")
		}
		var sawBefore bool
		err := r.Apply(ch, func(v *ReadView, blocks []BlockChange) {
			sawBefore = true
			if v.LSN() != ch.LSN-1 || !reflect.DeepEqual(blocks, ch.Blocks) {
				t.Errorf("before %d: view at %d, blocks %v want %v", ch.LSN, v.LSN(), blocks, ch.Blocks)
			}
			want, _ := w.ReadAt(bg, ch.LSN-1)
			if !reflect.DeepEqual(summarize(v.v), summarize(want.v)) {
				t.Errorf("before %d: replica differs from ReadAt", ch.LSN)
			}
		})
		if err != nil || !sawBefore {
			t.Fatalf("Apply(%d): %v", ch.LSN, err)
		}
		want, _ := w.ReadAt(bg, ch.LSN)
		if !reflect.DeepEqual(summarize(r.v), summarize(want.v)) || r.LSN() != ch.LSN {
			t.Fatalf("after %d: replica differs from ReadAt", ch.LSN)
		}
		if r.View().Index() != nil {
			t.Fatal("a replica's view has an index")
		}
		if ch.LSN == 12 {
			break
		}
	}
}
