package merge

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"octobase/internal/jstest"
)

// mulberry32Seed42 are the first outputs of mulberry32 seeded with 42, as
// the reference JavaScript implementation prints them.
var mulberry32Seed42 = []uint32{2581720956, 1925393290, 3661312704, 2876485805, 750819978}

func TestPRNG(t *testing.T) {
	r := newRNG(Seed)
	for i, want := range mulberry32Seed42 {
		if got := r.uint32(); got != want {
			t.Fatalf("value %d = %d, want %d", i, got, want)
		}
	}
	r = newRNG(Seed)
	for range 1000 {
		if v := r.intn(3, 9); v < 3 || v > 9 {
			t.Fatalf("intn(3, 9) = %d", v)
		}
		if w := r.word(2, 10); len(w) < 2 || len(w) > 10 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("word(2, 10) = %q", w)
		}
	}
}

func TestWorkloads(t *testing.T) {
	const n = 300
	for _, b := range Benchmarks {
		switch {
		case b.Group == "B1" && b.Array:
			in := genB1Array(b.ID, n)
			if len(in.want) != n {
				t.Errorf("%s: %d numbers, want %d", b.ID, len(in.want), n)
			}
		case b.Group == "B1":
			in := genB1Text(b.ID, n)
			if len(in.ops) == 0 {
				t.Errorf("%s: no ops", b.ID)
			}
		case b.Group == "B2":
			in := genB2(b.ID, n)
			if len(in.init) != 100 || len(in.ops1) == 0 || len(in.ops2) == 0 {
				t.Errorf("%s: bad input", b.ID)
			}
		}
	}
	if got := b3Clients(DefaultN); got != 1540 {
		t.Errorf("b3Clients(6000) = %d, want 1540", got)
	}
}

func TestChecksumCanonical(t *testing.T) {
	a := checksumValue(map[string]any{"b": []any{int64(1), 2.0, "x"}, "a": nil})
	b := checksumValue(map[string]any{"a": nil, "b": []any{1, int64(2), "x"}})
	if a != b {
		t.Errorf("equal values hash differently: %s %s", a, b)
	}
	var sb strings.Builder
	canonical(&sb, map[string]any{"v": []any{int64(12), "hé", true}})
	if got, want := sb.String(), "{s1:v:[12,s3:hé,true]}"; got != want {
		t.Errorf("canonical = %q, want %q", got, want)
	}
}

func TestSelected(t *testing.T) {
	all := Selected(Options{})
	if slices.ContainsFunc(all, func(b Benchmark) bool { return b.ID == "B4x100" }) {
		t.Error("B4x100 selected without Options.B4x100")
	}
	got := Selected(Options{Only: regexp.MustCompile(`^B1\.1$|^B3\.1$`)})
	if len(got) != 2 || got[0].ID != "B1.1" || got[1].ID != "B3.1" {
		t.Errorf("Selected(-only) = %v", got)
	}
	if got := Selected(Options{B4x100: true, Only: regexp.MustCompile(`x100`)}); len(got) != 1 {
		t.Errorf("Selected(B4x100) = %v", got)
	}
}

func TestReportRendering(t *testing.T) {
	rep := Report{N: 10, Impls: []ImplInfo{{Name: ImplOctobase, Status: "ok"}, {Name: ImplYjs, Status: "ok"}, {Name: ImplYwasm, Status: "n/a (node missing)"}}}
	res := Result{Benchmark: Benchmarks[0], Measures: map[string]Measure{
		ImplOctobase: {Metrics: map[string]float64{MetricTime: 2, MetricDocSize: 100}, Checksum: "aa"},
		ImplYjs:      {Metrics: map[string]float64{MetricTime: 10, MetricDocSize: 101}, Checksum: "bb"},
		ImplYwasm:    {NA: "n/a (node missing)"},
	}}
	res.Notes = notes(res, rep.implNames())
	rep.Results = []Result{res}
	rep.Targets = targets(rep.Results)
	if len(res.Notes) != 2 {
		t.Errorf("notes = %q, want a checksum and a docSize discrepancy", res.Notes)
	}
	if rep.Failures() != 1 {
		t.Errorf("Failures() = %d, want 1 (the checksum)", rep.Failures())
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5.00×", "n/a (node missing)", "2.00 ms"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if md := rep.Markdown(); !strings.Contains(md, "| **B1.1** | time |") {
		t.Errorf("markdown:\n%s", md)
	}
	dec := xml.NewDecoder(strings.NewReader(rep.SVG()))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

// TestSmoke runs B1.1 and B3.1 with N=200 for every implementation and
// checks that their final contents agree. The yjs and ywasm subtests skip
// when Node.js or node_modules is missing, and fail then instead when
// jstest.Required() (OCTOBASE_REQUIRE_NODE=1 or CI=true).
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := Run(ctx, Options{N: 200, Only: regexp.MustCompile(`^(B1\.1|B3\.1)$`)}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if len(rep.Results) != 2 {
		t.Fatalf("%d results, want 2", len(rep.Results))
	}
	for _, im := range rep.Impls {
		t.Run(im.Name, func(t *testing.T) {
			if im.Status != "ok" {
				if jstest.Required() {
					t.Fatalf("%s %s although %s=1 or CI=true", im.Name, im.Status, jstest.EnvRequireNode)
				}
				t.Skipf("%s %s; skipping", im.Name, im.Status)
			}
			for _, res := range rep.Results {
				m := res.Measures[im.Name]
				if m.Error != "" {
					t.Fatalf("%s: %s", res.ID, m.Error)
				}
				if m.Checksum == "" || m.Metrics[MetricTime] <= 0 {
					t.Errorf("%s: no checksum or time: %+v", res.ID, m)
				}
				if want := res.Measures[ImplOctobase].Checksum; m.Checksum != want {
					t.Errorf("%s: content checksum %s, octobase's is %s", res.ID, m.Checksum, want)
				}
				// Our encoder must produce yjs's bytes; ywasm's may differ.
				if y, ok := res.Measures[ImplYjs].get(MetricDocSize); ok && im.Name == ImplOctobase && m.Metrics[MetricDocSize] != y {
					t.Errorf("%s: docSize %v, yjs's is %v", res.ID, m.Metrics[MetricDocSize], y)
				}
			}
		})
	}
}

// TestNodePRNG checks that bench/js/bench.cjs draws the same numbers.
func TestNodePRNG(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, na := findNode(root, ImplYjs)
	if na != "" {
		if jstest.Required() {
			t.Fatalf("yjs %s although %s=1 or CI=true", na, jstest.EnvRequireNode)
		}
		t.Skipf("yjs %s; skipping", na)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := newNodeImpl(ctx, root, node, ImplYjs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	values, word, intn, err := n.prng(ctx, len(mulberry32Seed42))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(values, mulberry32Seed42) {
		t.Errorf("JS values %v, want %v", values, mulberry32Seed42)
	}
	r := newRNG(Seed)
	for range mulberry32Seed42 {
		r.uint32()
	}
	if w, i := r.word(2, 10), r.intn(0, 0x7fffffff); w != word || i != intn {
		t.Errorf("JS word %q intn %d, Go %q %d", word, intn, w, i)
	}
}
