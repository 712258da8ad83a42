package querybench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSmall runs the whole benchmark on 10,000 blocks: every query kind is
// answered identically through the index and by scan (Run checks this and
// fails otherwise), and every figure is measured.
func TestSmall(t *testing.T) {
	var out, progress bytes.Buffer
	rep, err := Run(context.Background(), Options{Blocks: 10_000, Runs: 20, Scans: 3, Updates: 200, Progress: &progress}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Queries) != 3 {
		t.Fatalf("%d query kinds", len(rep.Queries))
	}
	rows := 0.0
	for _, q := range rep.Queries {
		if q.IndexP50 <= 0 || q.ScanP50 <= 0 || q.ViewP50 <= 0 {
			t.Errorf("%s: unmeasured: %+v", q.Name, q)
		}
		rows += q.Rows
	}
	if rows == 0 {
		t.Error("no query returned rows: the queries select nothing")
	}
	if rep.MaxDepth != 7 || rep.Links == 0 {
		t.Errorf("workspace shape: depth %d, %d links", rep.MaxDepth, rep.Links)
	}
	if rep.ApplyUS <= 0 || rep.IndexUS <= 0 || rep.IndexOneUS <= 0 || rep.ApplyOneUS <= 0 || rep.IndexBytes == 0 || rep.FileBytes == 0 {
		t.Errorf("unmeasured costs: %+v", rep)
	}
	for _, want := range []string{"type+creator", "backlinks", "children", "index maintenance per update", "per million blocks"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "query: 10000/10000 blocks") {
		t.Errorf("progress:\n%s", progress.String())
	}
	t.Logf("\n%s", out.String())
}
