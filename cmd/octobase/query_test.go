package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
)

// queryStore creates a store in a temporary directory with workspace
// "notes": a page with two paragraphs, one of which links to a second page.
func queryStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	st, err := engine.Open(dir, &engine.Options{IdleTimeout: -1, Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws, err := st.Workspace(ctx, "notes")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ws.Transact(ctx, "test", func(_ *crdt.Txn, b *engine.Blocks) error {
		for _, nb := range []engine.NewBlock{
			{ID: "page-1", Flavour: "affine:page", Creator: "ann", Props: map[string]any{"title": "Budget 2024"}},
			{ID: "page-2", Flavour: "affine:page", Creator: "bob", Props: map[string]any{"title": "Roadmap, Q3"}},
			{ID: "para-1", Flavour: "affine:paragraph", Creator: "ann", Parent: "page-1", Props: map[string]any{"text": engine.RichText{Text: "see the roadmap"}, "ref": map[string]any{"$ref": "page-2"}}},
			{ID: "para-2", Flavour: "affine:paragraph", Creator: "bob", Parent: "page-1", Props: map[string]any{"n": 3.0}},
		} {
			if _, err := b.Create(nb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestQueryOutput(t *testing.T) {
	dir := queryStore(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SELECT id, type, prop.title FROM blocks WHERE type = 'affine:page' ORDER BY id"},
			"id      type         prop.title\npage-1  affine:page  Budget 2024\npage-2  affine:page  Roadmap, Q3\n(2 rows)\n"},
		{[]string{"--json", "SELECT id, parent, created FROM blocks WHERE DESCENDANT OF 'page-1' AND LINKS TO $1", "page-2"},
			`{"id":"para-1","parent":"page-1","created":"2024-05-01T12:00:00Z"}` + "\n"},
		{[]string{"--csv", "SELECT id, prop.title FROM blocks WHERE creator = 'bob' ORDER BY id DESC"},
			"id,prop.title\npara-2,\npage-2,\"Roadmap, Q3\"\n"},
		{[]string{"SELECT type, COUNT(*) FROM blocks GROUP BY type ORDER BY COUNT(*) DESC"},
			"type              COUNT(*)\naffine:page       2\naffine:paragraph  2\n(2 rows)\n"},
		{[]string{"--json", "SELECT COUNT(*) FROM blocks WHERE prop.text CONTAINS 'ROADMAP' OR prop.n >= $1", "3"},
			`{"COUNT(*)":2}` + "\n"},
		{[]string{"SELECT id FROM blocks WHERE LINKED FROM 'para-1' AS OF 1"},
			"id\npage-2\n(1 row)\n"},
		{[]string{"SELECT id FROM blocks WHERE LINKED FROM 'para-1' AS OF 0"},
			"id\n(0 rows)\n"},
		{[]string{"--csv", "SELECT COUNT(*) FROM blocks AS OF '2024-05-01T12:00:00Z'"},
			"COUNT(*)\n4\n"},
		{[]string{"--csv", "SELECT COUNT(*) FROM blocks AS OF $1", "2024-05-01T11:59:59Z"},
			"COUNT(*)\n0\n"},
	} {
		args := append([]string{"query", "--data", dir, "-w", "notes"}, tc.args...)
		r := mustRun(t, nil, args...)
		if r.stdout != tc.want {
			t.Errorf("%q:\ngot:\n%s\nwant:\n%s", tc.args, r.stdout, tc.want)
		}
	}
}

func TestQueryExplain(t *testing.T) {
	dir := queryStore(t)
	r := mustRun(t, nil, "query", "--data", dir, "-w", "notes",
		"EXPLAIN SELECT id FROM blocks WHERE type = 'affine:paragraph' AND prop.n > 1")
	for _, want := range []string{"index flavour['affine:paragraph'], exact", "filter prop.n > 1", "maybe 2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("EXPLAIN output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	dir := queryStore(t)
	r := runCLI(t, nil, "query", "--data", dir, "-w", "notes", "SELECT id FROM blokcs")
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
	}
	if want := "SELECT id FROM blokcs\n               ^\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks the caret form %q:\n%s", want, r.stderr)
	}
	r = runCLI(t, nil, "query", "--data", dir, "-w", "notes", "SELECT id FROM blocks WHERE created > $1", "yesterday")
	if r.code != exitUsage || !strings.Contains(r.stderr, "created needs a time") {
		t.Errorf("bad parameter: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "query", "--data", dir, "-w", "nope", "SELECT id FROM blocks")
	if r.code != exitError || !strings.Contains(r.stderr, `no workspace "nope"`) {
		t.Errorf("missing workspace: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "query", "--data", dir, "SELECT id FROM blocks")
	if r.code != exitUsage {
		t.Errorf("missing -w: exit %d", r.code)
	}
	r = mustRun(t, nil, "query", "--data", dir, "--csv", "SELECT COUNT(*) FROM blocks IN 'notes'")
	if r.stdout != "COUNT(*)\n4\n" {
		t.Errorf("IN 'notes' without -w: %q", r.stdout)
	}
	r = runCLI(t, nil, "query", "--data", dir, "-w", "notes", "--json", "--csv", "SELECT id FROM blocks")
	if r.code != exitUsage {
		t.Errorf("--json --csv: exit %d", r.code)
	}
}
