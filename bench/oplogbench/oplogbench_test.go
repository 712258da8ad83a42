package oplogbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"octobase/oplog"
)

func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Dir: t.TempDir(), Cell: 30 * time.Millisecond,
		Sizes: []int{64}, Writers: []int{1, 8}, Modes: []oplog.Durability{oplog.SyncAlways},
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 { // 2 raw + 2 log rows
		t.Fatalf("%d results:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if r.Appends <= 0 || r.PerSecond <= 0 {
			t.Fatalf("empty result %+v", r)
		}
		if r.Mode != "raw" && r.VsRaw <= 0 {
			t.Fatalf("no raw ratio in %+v", r)
		}
	}
	if !strings.Contains(out.String(), "vs raw fsync") {
		t.Fatalf("table header missing:\n%s", out.String())
	}
}

func TestReopenSmall(t *testing.T) {
	var out, progress bytes.Buffer
	res, err := Reopen(context.Background(), ReopenOptions{Dir: t.TempDir(), Blocks: 2500, Tail: 20, Progress: &progress}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocks != 2500 || res.Records < 23 || res.SnapshotBytes < 2500*20 || res.CleanMS <= 0 || res.CrashMS <= 0 {
		t.Fatalf("result %+v", res)
	}
	for _, want := range []string{"workspace reopen: 2500 blocks", "after a crash (snapshot + 20-record tail)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "2500/2500 blocks") {
		t.Fatalf("no progress:\n%s", progress.String())
	}
}
