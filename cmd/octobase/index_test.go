package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"octobase/engine"
	"octobase/engine/crdt"
)

// TestIndexCheck: a store's indexes check out; an index file from another
// store at the same position (which recovery loads, so the maintained
// index is wrong too) is reported as a mismatch, exit 1.
func TestIndexCheck(t *testing.T) {
	dir := queryStore(t)
	r := mustRun(t, nil, "index", "check", "--data", dir)
	for _, want := range []string{`notes: ok at LSN 1 (rebuilt from every record): space "blocks" 4 live blocks`, "1 persisted index files at LSN 1 ok"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	// Another store whose one record made other blocks: its index file,
	// at the same LSN, is not the index of this store's log.
	other := filepath.Join(t.TempDir(), "other")
	st, err := engine.Open(other, &engine.Options{IdleTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.Workspace(context.Background(), "notes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Transact(context.Background(), "test", func(_ *crdt.Txn, b *engine.Blocks) error {
		_, err := b.Create(engine.NewBlock{ID: "stranger", Flavour: "affine:page"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(other, "*", "index", "*.idx"))
	if err != nil || len(files) != 1 {
		t.Fatalf("index files of the other store: %v, %v", files, err)
	}
	rel, _ := filepath.Rel(other, files[0])
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "index", "check", "--data", dir, "-w", "notes")
	if r.code != exitError || !strings.Contains(r.stdout, `notes: MISMATCH: engine: space "blocks"`) || !strings.Contains(r.stdout, "live blocks") ||
		!strings.Contains(r.stderr, "indexes differ from rebuilds in notes") {
		t.Fatalf("damaged index file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "index", "check", "--data", dir, "-w", "nope"); r.code == exitOK || !strings.Contains(r.stderr, `no workspace "nope"`) {
		t.Fatalf("unknown workspace: exit %d, %s", r.code, r.stderr)
	}
}
