package query

import (
	"encoding/json"
	"strings"
)

// ParamValue reads a parameter given as text (a command-line argument, a
// URL query value): a JSON scalar (a number, true, false, null or a
// "quoted string") is that value (integers as int64), anything else is
// the text itself, so 'alice' and '"alice"' both mean the string alice.
func ParamValue(s string) any {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err == nil && !d.More() {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i
			}
			if f, err := x.Float64(); err == nil {
				return f
			}
		case nil, bool, string:
			return x
		}
	}
	return s
}
