package crdt

import (
	"fmt"
	"io"
	"strings"

	"octobase/engine/lib0"
)

// InspectUpdate writes a readable listing of an update's structs, delete
// set and state vector to w (the `octobase update inspect` format).
func InspectUpdate(w io.Writer, update []byte, v2 bool) error {
	d, structs, err := decodeForFormat(update, v2)
	if err != nil {
		return err
	}
	ds, err := readDeleteSet(d)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "structs: %d\n", len(structs))
	for _, st := range structs {
		fmt.Fprintf(w, "  %s\n", describeStruct(st))
	}
	fmt.Fprintf(w, "delete set:\n")
	for _, c := range ds.clientsDesc() {
		var parts []string
		for _, r := range ds[c] {
			parts = append(parts, fmt.Sprintf("[%d,%d)", r.Clock, r.Clock+r.Len))
		}
		fmt.Fprintf(w, "  client %d: %s\n", c, strings.Join(parts, " "))
	}
	sv, err := stateVectorFromUpdate(update, v2)
	if err != nil {
		return err
	}
	dec, _ := DecodeStateVector(sv)
	fmt.Fprintf(w, "state vector:\n")
	for _, c := range dec.sortedClientsDesc() {
		fmt.Fprintf(w, "  client %d: %d\n", c, dec[c])
	}
	return nil
}

func describeStruct(st *Item) string {
	id := fmt.Sprintf("%d:%d", st.ID.Client, st.ID.Clock)
	switch {
	case st.isGC():
		return fmt.Sprintf("%s GC len=%d", id, st.Length)
	case st.isSkip():
		return fmt.Sprintf("%s Skip len=%d", id, st.Length)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s len=%d", id, st.Length)
	if st.hasOrigin() {
		fmt.Fprintf(&b, " origin=%d:%d", st.Origin.Client, st.Origin.Clock)
	}
	if st.hasROrigin() {
		fmt.Fprintf(&b, " right=%d:%d", st.RightOrigin.Client, st.RightOrigin.Clock)
	}
	switch {
	case st.ref != nil && st.ref.isRoot:
		fmt.Fprintf(&b, " parent=%q", st.ref.name)
	case st.ref != nil:
		fmt.Fprintf(&b, " parent=%d:%d", st.ref.id.Client, st.ref.id.Clock)
	case st.parent != nil && st.parent.item == nil:
		fmt.Fprintf(&b, " parent=%q", st.parent.rootName)
	case st.parent != nil:
		fmt.Fprintf(&b, " parent=%d:%d", st.parent.item.ID.Client, st.parent.item.ID.Clock)
	}
	if st.parentSub != nil {
		fmt.Fprintf(&b, " key=%q", *st.parentSub)
	}
	b.WriteString(" " + describeContent(st.content))
	return b.String()
}

func describeContent(c content) string {
	switch x := c.(type) {
	case *contentDeleted:
		return fmt.Sprintf("Deleted(%d)", x.n)
	case *contentString:
		return fmt.Sprintf("String(%q)", x.str())
	case *contentFormat:
		return fmt.Sprintf("Format(%s=%s)", x.key, stringifyJSON(x.v))
	case *contentEmbed:
		return fmt.Sprintf("Embed(%s)", stringifyJSON(x.v))
	case *contentType:
		if x.t.name != "" {
			return fmt.Sprintf("Type(%s %q)", x.t.kind, x.t.name)
		}
		return fmt.Sprintf("Type(%s)", x.t.kind)
	case *contentAny:
		parts := make([]string, len(x.arr))
		for i, v := range x.arr {
			parts[i] = describeAny(v)
		}
		return "Any(" + strings.Join(parts, ", ") + ")"
	case *contentJSON:
		parts := make([]string, len(x.arr))
		for i, v := range x.arr {
			parts[i] = stringifyJSON(v)
		}
		return "JSON(" + strings.Join(parts, ", ") + ")"
	case *contentBinary:
		return fmt.Sprintf("Binary(%x)", x.b)
	case *contentDoc:
		return fmt.Sprintf("Doc(%q)", x.d.GUID)
	}
	return "?"
}

// describeAny prints an Any value as JSON, with bigints as 123n and
// undefined as undefined (which JSON cannot show).
func describeAny(v any) string {
	switch x := v.(type) {
	case lib0.BigInt:
		return fmt.Sprintf("%dn", int64(x))
	case lib0.UndefinedType:
		return "undefined"
	case []byte:
		return fmt.Sprintf("Uint8Array(%x)", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = describeAny(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case lib0.Object:
		parts := make([]string, len(x))
		for i, f := range x {
			k, _ := lib0.StringifyJSON(f.Key)
			parts[i] = k + ":" + describeAny(f.Value)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return stringifyJSON(v)
}
