package crdt

import (
	"reflect"
	"testing"
)

func TestUpdateClients(t *testing.T) {
	a, b := MustNewDoc(Options{ClientID: 9}), MustNewDoc(Options{ClientID: 3})
	set := func(d *Doc, k string, v any) []byte {
		var u []byte
		off := d.OnUpdate(func(up []byte, _ *Txn) { u = append([]byte(nil), up...) })
		defer off()
		m, _ := d.GetMap("m")
		d.Transact(nil, func(tx *Txn) {
			if err := m.Set(tx, k, v); err != nil {
				t.Fatal(err)
			}
		})
		return u
	}
	ua := set(a, "x", 1.0)
	ub := set(b, "y", 2.0)
	if err := b.ApplyUpdate(ua, nil); err != nil {
		t.Fatal(err)
	}
	second := set(b, "y", 3.0) // starts at clock 1 and deletes b's first item
	merged, err := MergeUpdates([][]byte{ua, ub, second})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		update []byte
		want   []uint64
	}{
		{"one client", ua, []uint64{9}},
		{"not from clock 0", second, []uint64{3}},
		{"merged", merged, []uint64{3, 9}},
		{"empty", []byte{0, 0}, nil},
	} {
		got, err := UpdateClients(c.update)
		if err != nil || !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 {
			t.Errorf("%s: UpdateClients = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := UpdateClients(ua[:len(ua)-2]); err == nil {
		t.Error("truncated update: no error")
	}
}
