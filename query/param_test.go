package query

import (
	"reflect"
	"testing"
)

func TestParamValue(t *testing.T) {
	for in, want := range map[string]any{
		"42": int64(42), "-7": int64(-7), "1.5": 1.5, "1e400": "1e400", "true": true, "null": nil,
		`"alice"`: "alice", "alice": "alice", "affine:page": "affine:page", "[1]": "[1]", "1 2": "1 2", "": "",
	} {
		if got := ParamValue(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParamValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}
