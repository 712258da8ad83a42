package yjsfixture

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"octobase/internal/jstest"
)

func init() { strict = true } // unknown fields mean README, types and data drifted apart

// TestFamilies checks every scenario file against the documented schema and
// its invariants, so a Go conformance test can rely on them.
func TestFamilies(t *testing.T) {
	total := 0
	for _, family := range Families {
		t.Run(family, func(t *testing.T) {
			f, err := LoadFamily(family)
			if err != nil {
				t.Fatal(err)
			}
			if f.Schema != 1 || f.Yjs == "" {
				t.Fatalf("header = %+v", f.Header)
			}
			if len(f.Scenarios) < 20 {
				t.Errorf("only %d scenarios", len(f.Scenarios))
			}
			total += len(f.Scenarios)
			names := map[string]bool{}
			for _, s := range f.Scenarios {
				if names[s.Name] {
					t.Errorf("duplicate scenario %s", s.Name)
				}
				names[s.Name] = true
				checkScenario(t, s)
			}
		})
	}
	if total < 200 {
		t.Errorf("%d scenarios in total, want a few hundred", total)
	}
}

func checkScenario(t *testing.T, s *Scenario) {
	t.Helper()
	n := len(s.Clients)
	if n < 2 || len(s.Deliveries) != n || len(s.Final) != n {
		t.Fatalf("%s: %d clients, %d delivery lists, %d finals", s.Name, n, len(s.Deliveries), len(s.Final))
	}
	if s.Format != "v1" && s.Format != "v2" {
		t.Errorf("%s: format %q", s.Name, s.Format)
	}
	ids := map[uint64]bool{}
	for _, c := range s.Clients {
		if ids[c.ID] || c.ID > 1<<32-1 {
			t.Errorf("%s: bad or duplicate client id %d", s.Name, c.ID)
		}
		ids[c.ID] = true
		for u, up := range c.Updates {
			if len(up.V1) < 2 || len(up.V2) < 2 || len(up.Ops) == 0 {
				t.Errorf("%s: client %d update %d is incomplete", s.Name, c.ID, u)
			}
		}
	}
	for d, events := range s.Deliveries {
		nextLocal := 0
		seen := make([]map[int]bool, n)
		for i := range seen {
			seen[i] = map[int]bool{}
		}
		checks := 0
		err := s.Replay(d, false, func(ev Event, update []byte) error {
			switch ev.Kind {
			case Local:
				if ev.U != nextLocal {
					t.Errorf("%s: doc %d: local u=%d, want %d", s.Name, d, ev.U, nextLocal)
				}
				nextLocal++
			case Recv:
				if ev.From == d {
					t.Errorf("%s: doc %d receives its own update", s.Name, d)
				}
				seen[ev.From][ev.U] = true
			case Sync:
				if len(ev.V1) == 0 || len(ev.V2) == 0 {
					t.Errorf("%s: doc %d: empty sync payload", s.Name, d)
				}
			}
			if len(update) == 0 {
				t.Errorf("%s: doc %d: %s event with no bytes", s.Name, d, ev.Kind)
			}
			return nil
		}, func(ev Event) error {
			checks++
			if len(ev.SV) == 0 || len(ev.StateV1SHA256) != 64 {
				t.Errorf("%s: doc %d: incomplete check %+v", s.Name, d, ev)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if nextLocal != len(s.Clients[d].Updates) {
			t.Errorf("%s: doc %d made %d updates but has %d local events", s.Name, d, len(s.Clients[d].Updates), nextLocal)
		}
		if checks < 2 || events[len(events)-1].Kind != Check {
			t.Errorf("%s: doc %d: %d checks, last event %q", s.Name, d, checks, events[len(events)-1].Kind)
		}
		// After the final sync every doc has seen every other doc's updates.
		for from, c := range s.Clients {
			if from == d {
				continue
			}
			for u := range c.Updates {
				if !seen[from][u] {
					t.Errorf("%s: doc %d never received update %d of doc %d", s.Name, d, u, from)
				}
			}
		}
	}
	for d, f := range s.Final {
		if !bytes.Equal(f.SV, s.Final[0].SV) {
			t.Errorf("%s: final state vectors differ (doc %d)", s.Name, d)
		}
		if len(f.StateV1) == 0 || len(f.StateV2) == 0 {
			t.Errorf("%s: doc %d: empty final state", s.Name, d)
		}
		for name, kind := range s.Roots {
			out, ok := f.Roots[name]
			if !ok {
				t.Errorf("%s: doc %d: no output for root %q", s.Name, d, name)
				continue
			}
			eq, err := JSONEqual(out.JSON, s.Final[0].Roots[name].JSON)
			if err != nil || !eq {
				t.Errorf("%s: root %q of doc %d differs from doc 0 (%v)", s.Name, name, d, err)
			}
			if (kind == "text") != (out.Delta != nil) || (kind == "xmlfragment") != (out.Tree != nil) {
				t.Errorf("%s: root %q (%s): delta/tree presence wrong", s.Name, name, kind)
			}
		}
	}
	m := s.Merged
	if len(m.V1) == 0 || len(m.V2) == 0 || !bytes.Equal(m.SVV1, m.SVV2) || !bytes.Equal(m.SVV1, s.Final[0].SV) {
		t.Errorf("%s: merged state vectors do not match the final one", s.Name)
	}
	for _, p := range m.Subset {
		if p[0] < 0 || p[0] >= n || p[1] < 0 || p[1] >= len(s.Clients[p[0]].Updates) {
			t.Errorf("%s: subset names a missing update %v", s.Name, p)
		}
	}
	if len(s.AllUpdates(false)) != len(s.AllUpdates(true)) {
		t.Errorf("%s: AllUpdates lengths differ", s.Name)
	}
}

func TestBasics(t *testing.T) {
	b, err := LoadBasics()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Any) < 20 || len(b.Units) < 20 {
		t.Errorf("%d any cases, %d units", len(b.Any), len(b.Units))
	}
	if want := []byte{0, 0}; !bytes.Equal(b.Empty.StateV1, want) || !bytes.Equal(b.Empty.MergeV1, want) {
		t.Errorf("empty state = % x, merge = % x, want 00 00", b.Empty.StateV1, b.Empty.MergeV1)
	}
	// docs/YJS.md §1: client 1 inserts "abc" into root text "t".
	abc := []byte{0x01, 0x01, 0x01, 0x00, 0x04, 0x01, 0x01, 0x74, 0x03, 0x61, 0x62, 0x63, 0x00}
	if u := b.Units[0]; len(u.Updates) != 1 || !bytes.Equal(u.Updates[0].V1, abc) {
		t.Errorf("unit 0 (%s) update = % x, want % x", u.Desc, u.Updates, abc)
	}
	for _, c := range b.Any {
		if len(c.Hex) == 0 || c.Hex[0] < 116 || c.Hex[0] > 127 {
			t.Errorf("any %q: bytes % x do not start with an Any tag", c.Desc, c.Hex)
		}
	}
}

func TestTraces(t *testing.T) {
	tr, err := LoadTraces()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Client != 1 || tr.Root != "text" || len(tr.Traces) == 0 {
		t.Fatalf("traces.json header: client %d root %q, %d traces", tr.Client, tr.Root, len(tr.Traces))
	}
	for _, x := range tr.Traces {
		if x.StateV1.Len == 0 || len(x.StateV1.SHA256) != 64 || len(x.EndSHA256) != 64 || x.SVMap["1"] == 0 {
			t.Errorf("trace %s: incomplete: %+v", x.File, x)
		}
	}
}

// TestPinnedYjs fails when package-lock.json moved to another yjs without
// `make fixtures`: the fixtures would no longer describe the yjs that the
// interop tests run.
func TestPinnedYjs(t *testing.T) {
	root, err := jstest.Root()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "node_modules", "yjs", "package.json"))
	if err != nil {
		if jstest.Required() {
			t.Fatalf("node_modules/yjs missing: %v (run `make test` or `npm ci`)", err)
		}
		t.Skipf("node_modules/yjs missing (%v); run `make test` to install it", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, family := range Families[:1] {
		f, err := LoadFamily(family)
		if err != nil {
			t.Fatal(err)
		}
		if f.Yjs != pkg.Version {
			t.Errorf("fixtures were generated with yjs %s but node_modules has %s; run `make fixtures`", f.Yjs, pkg.Version)
		}
	}
}

func TestJSONEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, true},
		{`[1,2]`, `[2,1]`, false},
		{`0`, `-0`, true},
		{`{"a":{"$bytes":"AQ=="}}`, `{"a":{"$bytes":"Ag=="}}`, false},
	} {
		got, err := JSONEqual([]byte(tc.a), []byte(tc.b))
		if err != nil || got != tc.want {
			t.Errorf("JSONEqual(%s, %s) = %v, %v; want %v", tc.a, tc.b, got, err, tc.want)
		}
	}
}

// TestGeneratorInSync reruns gen.cjs for the first seed of every family and
// requires the scenarios stored here: it fails when gen.cjs changed (or the
// pinned yjs did) without `make fixtures`.
func TestGeneratorInSync(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	jstest.Run(t, `
const inp = readInput()
process.argv = [process.argv[0], inp.gen, '--out', inp.out, '--seeds', '1', '--only', inp.families.join(',')]
require(inp.gen)
`, map[string]any{"gen": filepath.Join(dir, "gen.cjs"), "out": out, "families": Families}, nil)
	for _, family := range Families {
		stored, err := LoadFamily(family)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*Scenario{}
		for _, s := range stored.Scenarios {
			byName[s.Name] = s
		}
		var fresh File
		if err := loadFrom(filepath.Join(out, family+".json.gz"), &fresh); err != nil {
			t.Fatal(err)
		}
		if len(fresh.Scenarios) != 2 {
			t.Fatalf("%s: regenerated %d scenarios, want 2", family, len(fresh.Scenarios))
		}
		for _, s := range fresh.Scenarios {
			old, ok := byName[s.Name]
			if !ok {
				t.Errorf("%s: stored fixtures lack %s", family, s.Name)
				continue
			}
			a, _ := json.Marshal(old)
			b, _ := json.Marshal(s)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: gen.cjs now generates a different scenario than the one stored; run `make fixtures`", s.Name)
			}
		}
	}
}
