package query

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// FuzzExec parses each input and, when it is a SELECT without parameters,
// runs it over the EXPLAIN fixture with the index and by scanning: both
// must succeed (or both fail with ErrUnsupported) and agree.
func FuzzExec(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, s := range readCorpus(f, "explain.oql") {
		f.Add(s)
	}
	src := NewMemSource(fixture())
	f.Fuzz(func(t *testing.T, q string) {
		stmt, err := Parse(q)
		if err != nil || NumParams(stmt) > 0 {
			return
		}
		sel, ok := stmt.(*Select)
		if !ok || sel.AsOf != nil {
			return
		}
		noExplain := *sel
		noExplain.Explain = false
		for _, always := range []bool{false, true} {
			testAlwaysLookup = always
			got, err := Exec(context.Background(), &noExplain, src)
			testAlwaysLookup = false
			want, err2 := execScan(context.Background(), &noExplain, src.WithoutIndex())
			if err != nil || err2 != nil {
				if !errors.Is(err, ErrUnsupported) || !errors.Is(err2, ErrUnsupported) {
					t.Fatalf("%s: indexed: %v, scan: %v", q, err, err2)
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s\nindexed: %v\nscan:    %v", q, got.Rows, want.Rows)
			}
		}
		if _, err := Exec(context.Background(), sel, src); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	})
}
