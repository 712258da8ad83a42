package ffi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/engine/lib0"
	"octobase/query"
)

// decodeStrict decodes one JSON value from src into v: unknown object fields
// and trailing data are errors (CodeJSON).
func decodeStrict(what, src string, v any) error {
	d := json.NewDecoder(strings.NewReader(src))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return &Error{Code: CodeJSON, Msg: fmt.Sprintf("octobase: %s: invalid JSON: %v", what, err), Err: err}
	}
	if _, err := d.Token(); err != io.EOF {
		return errorf(CodeJSON, "%s: invalid JSON: data after the value", what)
	}
	return nil
}

// marshal encodes v as JSON without HTML escaping and without the trailing
// newline.
func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", &Error{Code: CodeInternal, Msg: "octobase: encode JSON: " + err.Error(), Err: err}
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// blockJSON is a block as the bindings see it.
type blockJSON struct {
	ID       engine.BlockID   `json:"id"`
	Space    string           `json:"space"`
	Flavour  string           `json:"flavour"`
	Parent   *engine.BlockID  `json:"parent"` // null for a root block
	Children []engine.BlockID `json:"children"`
	Created  int64            `json:"created"` // ms since the Unix epoch
	Updated  int64            `json:"updated"`
	Creator  string           `json:"creator"`
	Props    map[string]any   `json:"props"`
}

func encodeBlock(b engine.BlockView) (string, error) {
	out := blockJSON{
		ID: b.ID, Space: b.Space, Flavour: b.Flavour, Children: b.Children,
		Created: b.Created, Updated: b.Updated, Creator: b.Creator,
		Props: make(map[string]any, len(b.Props)),
	}
	if b.Parent != "" {
		p := b.Parent
		out.Parent = &p
	}
	if out.Children == nil {
		out.Children = []engine.BlockID{}
	}
	for k, v := range b.Props {
		out.Props[k] = propOut(v)
	}
	return marshal(out)
}

// propOut converts a property value for JSON output: rich text becomes
// {"$text", "$delta"}, big integers numbers.
func propOut(v any) any {
	switch x := v.(type) {
	case engine.RichText:
		delta := x.Delta
		if delta == nil {
			delta = []crdt.Delta{}
		}
		return map[string]any{"$text": x.Text, "$delta": delta}
	case lib0.BigInt:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = propOut(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = propOut(e)
		}
		return out
	}
	return v
}

// deltaJSON is one Quill delta operation on input.
type deltaJSON struct {
	Insert     any            `json:"insert,omitempty"`
	Delete     int            `json:"delete,omitempty"`
	Retain     int            `json:"retain,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

func toDelta(in []deltaJSON) ([]crdt.Delta, error) {
	out := make([]crdt.Delta, len(in))
	for i, d := range in {
		n := 0
		if d.Insert != nil {
			n++
		}
		if d.Delete != 0 {
			n++
		}
		if d.Retain != 0 {
			n++
		}
		if n != 1 || d.Delete < 0 || d.Retain < 0 {
			return nil, errorf(CodeJSON, "delta operation %d: exactly one of insert, delete (> 0) or retain (> 0) must be set", i)
		}
		out[i] = crdt.Delta{Insert: d.Insert, Delete: d.Delete, Retain: d.Retain, Attributes: toObject(d.Attributes)}
	}
	return out, nil
}

// toObject converts a JSON object to a lib0.Object with sorted keys.
func toObject(m map[string]any) lib0.Object {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := make(lib0.Object, len(keys))
	for i, k := range keys {
		o[i] = lib0.Field{Key: k, Value: m[k]}
	}
	return o
}

// propIn converts a JSON property value for the engine: an object with a
// "$text" string (and optionally a "$delta" array) and nothing else is rich
// text; anything else is stored as the JSON value it is.
func propIn(name string, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	t, ok := m["$text"]
	if !ok {
		return v, nil
	}
	text, ok := t.(string)
	if !ok {
		return nil, errorf(CodeJSON, "property %q: $text must be a string", name)
	}
	rt := engine.RichText{Text: text}
	for k := range m {
		if k != "$text" && k != "$delta" {
			return nil, errorf(CodeJSON, "property %q: unexpected key %q next to $text", name, k)
		}
	}
	if d, ok := m["$delta"]; ok {
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, errorf(CodeJSON, "property %q: $delta: %v", name, err)
		}
		var ops []deltaJSON
		if err := decodeStrict("property "+strconv.Quote(name)+" $delta", string(raw), &ops); err != nil {
			return nil, err
		}
		if rt.Delta, err = toDelta(ops); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

func propsIn(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		pv, err := propIn(k, v)
		if err != nil {
			return nil, err
		}
		out[k] = pv
	}
	return out, nil
}

// newBlockJSON is the input of CreateBlock.
type newBlockJSON struct {
	ID      engine.BlockID `json:"id"`
	Flavour string         `json:"flavour"`
	Creator string         `json:"creator"`
	Parent  engine.BlockID `json:"parent"`
	Index   *int           `json:"index"`
	Props   map[string]any `json:"props"`
}

// patchJSON is the input of UpdateBlock.
type patchJSON struct {
	Props  map[string]any         `json:"props"`
	Remove []string               `json:"remove"`
	Text   map[string][]deltaJSON `json:"text"`
	Parent *engine.BlockID        `json:"parent"`
	Index  *int                   `json:"index"`
}

// changeJSON is a change as Poll returns it.
type changeJSON struct {
	LSN    uint64            `json:"lsn"`
	Time   int64             `json:"time"` // ms since the Unix epoch
	Origin string            `json:"origin"`
	Blocks []blockChangeJSON `json:"blocks"`
	Update string            `json:"update"` // base64 of the yjs v1 update
}

type blockChangeJSON struct {
	Space  string         `json:"space"`
	ID     engine.BlockID `json:"id"`
	Op     string         `json:"op"` // created, updated, deleted
	Fields []string       `json:"fields,omitempty"`
}

func encodeChange(c engine.Change) (string, error) {
	out := changeJSON{
		LSN: uint64(c.LSN), Time: c.Time.UnixMilli(), Origin: c.Origin,
		Blocks: make([]blockChangeJSON, len(c.Blocks)),
		Update: base64.StdEncoding.EncodeToString(c.Update),
	}
	for i, b := range c.Blocks {
		out.Blocks[i] = blockChangeJSON{Space: b.Space, ID: b.ID, Op: b.Op.String(), Fields: b.Fields}
	}
	return marshal(out)
}

// encodeResult writes a query result as
// {"columns": [...], "rows": [{column: value, ...}, ...]}, each row's keys in
// column order (as `octobase query --json` prints them). Times are RFC 3339
// strings in UTC.
func encodeResult(res *query.Result) (string, error) {
	var b strings.Builder
	cols, err := marshal(res.Columns)
	if err != nil {
		return "", err
	}
	b.WriteString(`{"columns":`)
	b.WriteString(cols)
	b.WriteString(`,"rows":[`)
	for r, row := range res.Rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			k, err := marshal(res.Columns[i])
			if err != nil {
				return "", err
			}
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format(time.RFC3339Nano)
			}
			val, err := marshal(propOut(v))
			if err != nil {
				return "", err
			}
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(val)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.String(), nil
}

// paramsIn decodes query parameters: a JSON array (or "" / null for none).
// Integral numbers become int64, others float64.
func paramsIn(src string) ([]any, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(src))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, &Error{Code: CodeJSON, Msg: "octobase: query parameters: invalid JSON: " + err.Error(), Err: err}
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errorf(CodeJSON, "query parameters: invalid JSON: data after the value")
	}
	if raw == nil {
		return nil, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, errorf(CodeJSON, "query parameters must be a JSON array")
	}
	for i, v := range arr {
		arr[i] = numbers(v)
	}
	return arr, nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}
