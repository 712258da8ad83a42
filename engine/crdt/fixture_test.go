package crdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"octobase/engine/lib0"
	"octobase/internal/jstest/yjsfixture"
)

// tagged converts a value the way the fixture generator prints yjs values:
// bytes, bigints, undefined and sub-documents become tagged objects; shared
// types become their toJSON().
func tagged(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(x)}
	case lib0.BigInt:
		return map[string]any{"$bigint": big.NewInt(int64(x)).String()}
	case lib0.UndefinedType:
		return map[string]any{"$undefined": true}
	case *SubDoc:
		return map[string]any{"$doc": x.GUID}
	case *Map:
		out := map[string]any{}
		for _, k := range x.Keys() {
			v, _ := x.Get(k)
			out[k] = tagged(v)
		}
		return out
	case *Array:
		vals := x.Values()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = tagged(e)
		}
		return out
	case *Text:
		return x.String()
	case *XmlText:
		return x.String()
	case *XmlElement:
		return x.String()
	case *XmlFragment:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tagged(e)
		}
		return out
	case lib0.Object:
		out := map[string]any{}
		for _, f := range x {
			out[f.Key] = tagged(f.Value)
		}
		return out
	}
	return v
}

func taggedDelta(ds []Delta) []any {
	out := make([]any, 0, len(ds))
	for _, d := range ds {
		op := map[string]any{}
		if t, ok := asType(d.Insert); ok {
			op["insert"] = map[string]any{"$type": typeTag(t.kind), "json": tagged(t.value())}
		} else {
			op["insert"] = tagged(d.Insert)
		}
		if d.Attributes != nil {
			op["attributes"] = tagged(d.Attributes)
		}
		out = append(out, op)
	}
	return out
}

func typeTag(k Kind) string {
	switch k {
	case KindXmlElement:
		return "xmlelement"
	case KindXmlFragment:
		return "xmlfragment"
	case KindXmlText:
		return "xmltext"
	case KindXmlHook:
		return "xmlhook"
	}
	return k.String()
}

func jsonEq(t *testing.T, what string, got any, want json.RawMessage) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ok, err := yjsfixture.JSONEqual(b, want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !ok {
		t.Fatalf("%s differs\n got  %s\n want %s", what, b, want)
	}
}

func checkRoots(t *testing.T, d *Doc, roots map[string]string, want map[string]yjsfixture.RootOut) {
	t.Helper()
	for name, kind := range roots {
		w := want[name]
		switch kind {
		case "map":
			m, err := d.GetMap(name)
			if err != nil {
				t.Fatal(err)
			}
			jsonEq(t, name+" json", tagged(m), w.JSON)
		case "array":
			a, err := d.GetArray(name)
			if err != nil {
				t.Fatal(err)
			}
			jsonEq(t, name+" json", tagged(a), w.JSON)
		case "text":
			x, err := d.GetText(name)
			if err != nil {
				t.Fatal(err)
			}
			jsonEq(t, name+" json", x.String(), w.JSON)
			jsonEq(t, name+" delta", taggedDelta(x.ToDelta()), w.Delta)
		case "xmlfragment":
			x, err := d.GetXmlFragment(name)
			if err != nil {
				t.Fatal(err)
			}
			jsonEq(t, name+" json", x.String(), w.JSON)
		default:
			t.Fatalf("unknown root kind %q", kind)
		}
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestYjsFixtures replays every recorded yjs session (updates delivered late,
// twice and out of order, in v1 and in v2) and requires the same state
// vectors, pending status and byte-identical encoded state at every
// checkpoint, and the same documents at the end.
func TestYjsFixtures(t *testing.T) {
	for _, fam := range yjsfixture.Families {
		f, err := yjsfixture.LoadFamily(fam)
		if err != nil {
			t.Skipf("fixtures not available: %v", err)
		}
		for _, s := range f.Scenarios {
			for d := range s.Clients {
				for _, v2 := range []bool{false, true} {
					name := fmt.Sprintf("%s/doc%d/v2=%v", s.Name, d, v2)
					doc := MustNewDoc(Options{ClientID: 1<<40 + uint64(d), DisableGC: !s.GC})
					err := s.Replay(d, v2, func(ev yjsfixture.Event, u []byte) error {
						if v2 {
							return doc.ApplyUpdateV2(u, nil)
						}
						return doc.ApplyUpdate(u, nil)
					}, func(ev yjsfixture.Event) error {
						if got := EncodeStateVector(doc.StateVector()); !bytes.Equal(got, ev.SV) {
							return fmt.Errorf("state vector %x, want %x", got, ev.SV)
						}
						if got := doc.store.pending != nil; got != ev.PendingStructs {
							return fmt.Errorf("pending structs = %v, want %v", got, ev.PendingStructs)
						}
						if got := doc.store.pendingDs != nil; got != ev.PendingDS {
							return fmt.Errorf("pending delete set = %v, want %v", got, ev.PendingDS)
						}
						if got := sha(doc.EncodeStateAsUpdate(nil)); got != ev.StateV1SHA256 {
							return fmt.Errorf("encoded state differs from yjs")
						}
						return nil
					})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					fin := s.Final[d]
					if got := doc.EncodeStateAsUpdate(nil); !bytes.Equal(got, fin.StateV1) {
						t.Fatalf("%s: final v1 state differs\n got  %x\n want %x", name, got, fin.StateV1)
					}
					if got := doc.EncodeStateAsUpdateV2(nil); !bytes.Equal(got, fin.StateV2) {
						t.Fatalf("%s: final v2 state differs", name)
					}
					checkRoots(t, doc, s.Roots, fin.Roots)
				}
			}
			checkMerged(t, s)
		}
	}
}

func checkMerged(t *testing.T, s *yjsfixture.Scenario) {
	t.Helper()
	m := s.Merged
	eq := func(what string, got []byte, err error, want []byte) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s %s: %v", s.Name, what, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s %s differs\n got  %x\n want %x", s.Name, what, got, want)
		}
	}
	v1, err := MergeUpdates(s.AllUpdates(false))
	eq("merge v1", v1, err, m.V1)
	v2, err := MergeUpdatesV2(s.AllUpdates(true))
	eq("merge v2", v2, err, m.V2)
	sv1, err := EncodeStateVectorFromUpdate(m.V1)
	eq("sv from v1", sv1, err, m.SVV1)
	sv2, err := EncodeStateVectorFromUpdateV2(m.V2)
	eq("sv from v2", sv2, err, m.SVV2)
	d1, err := DiffUpdate(m.V1, m.DiffSV)
	eq("diff v1", d1, err, m.DiffV1)
	d2, err := DiffUpdateV2(m.V2, m.DiffSV)
	eq("diff v2", d2, err, m.DiffV2)
	df, err := DiffUpdate(m.V1, m.SVV1)
	eq("diff full", df, err, m.DiffFullV1)
	c12, err := ConvertUpdateV1ToV2(m.V1)
	eq("v1 to v2", c12, err, m.V1ToV2)
	c21, err := ConvertUpdateV2ToV1(m.V2)
	eq("v2 to v1", c21, err, m.V2ToV1)
	var sub1, sub2 [][]byte
	for _, p := range m.Subset {
		sub1 = append(sub1, s.Update(p[0], p[1], false))
		sub2 = append(sub2, s.Update(p[0], p[1], true))
	}
	s1, err := MergeUpdates(sub1)
	eq("subset merge v1", s1, err, m.SubsetV1)
	s2, err := MergeUpdatesV2(sub2)
	eq("subset merge v2", s2, err, m.SubsetV2)
	for _, v2 := range []bool{false, true} {
		doc := MustNewDoc(Options{ClientID: 1 << 41, DisableGC: !s.GC})
		var err error
		want := m.AppliedStateV1SHA256
		if v2 {
			err = doc.ApplyUpdateV2(m.V2, nil)
			want = m.AppliedV2StateV1SHA256
		} else {
			err = doc.ApplyUpdate(m.V1, nil)
		}
		if err != nil {
			t.Fatalf("%s: apply merged: %v", s.Name, err)
		}
		if got := sha(doc.EncodeStateAsUpdate(nil)); got != want {
			t.Fatalf("%s: state after applying merged (v2=%v) differs", s.Name, v2)
		}
	}
}
