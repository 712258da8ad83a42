package serverbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"octobase/oplog"
)

// TestMain lets Run re-execute this test binary as the benchmark's server.
func TestMain(m *testing.M) {
	if ok, err := ServeChild(context.Background(), os.Stdin, os.Stdout); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunServerSmall runs both scenarios with 20 clients for a second and
// checks that real numbers come out. Run itself fails a cell in which any
// client missed an edit or got one twice; the test checks that as well.
func TestRunServerSmall(t *testing.T) {
	var out, progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Clients:    []int{20},
		Writers:    4,
		Duration:   time.Second,
		Durability: oplog.SyncNone,
		Dir:        t.TempDir(),
		Progress:   &progress,
	}, &out)
	t.Logf("table:\n%s\nprogress:\n%s", out.String(), progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2 (one, many)", len(res))
	}
	for _, r := range res {
		if r.Skipped != "" {
			t.Fatalf("%s skipped: %s", r.Scenario, r.Skipped)
		}
		perRoom := r.Clients / r.Workspaces
		if r.Updates <= 0 || r.UpdatesPerSec <= 0 || r.Deliveries != r.Updates*int64(perRoom) {
			t.Errorf("%s: updates %d (%.0f/s), deliveries %d (want updates × %d)", r.Scenario, r.Updates, r.UpdatesPerSec, r.Deliveries, perRoom)
		}
		if r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s: latency p50 %v p99 %v", r.Scenario, r.P50, r.P99)
		}
		if r.ServerCPU <= 0 || r.CPUPerDelivery <= 0 {
			t.Errorf("%s: server CPU %v, per delivery %v", r.Scenario, r.ServerCPU, r.CPUPerDelivery)
		}
		if r.WriteFloor <= 0 {
			t.Errorf("%s: write floor %v", r.Scenario, r.WriteFloor)
		}
		if r.IdleRSS <= 0 || r.GoroutinesPerConn < 1 {
			t.Errorf("%s: idle RSS %d, goroutines per connection %.2f", r.Scenario, r.IdleRSS, r.GoroutinesPerConn)
		}
		if r.Missing != 0 || r.Duplicates != 0 {
			t.Errorf("%s: %d missing, %d duplicate edits", r.Scenario, r.Missing, r.Duplicates)
		}
	}
	if res[0].Workspaces != 1 || res[0].Writers != 4 || res[1].Workspaces != 2 || res[1].Writers != 2 {
		t.Errorf("layout: one %d spaces %d writers, many %d spaces %d writers", res[0].Workspaces, res[0].Writers, res[1].Workspaces, res[1].Writers)
	}
	for _, want := range []string{"µs CPU/upd/sub", "anchor (y/hub", "one        20"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if !strings.Contains(progress.String(), "editing for 1s") {
		t.Errorf("no progress lines")
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	b := appendMarker([]byte("x"), 7, 123456, 1<<40+5)
	if len(b) != 1+markerLen {
		t.Fatalf("marker %q is %d bytes, want %d", b[1:], len(b)-1, markerLen)
	}
	w, s, ts, ok := parseMarker(b[1:])
	if !ok || w != 7 || s != 123456 || ts != 1<<40+5 {
		t.Fatalf("parse %q: %d %d %d %v", b[1:], w, s, ts, ok)
	}
	if _, _, _, ok := parseMarker(append([]byte("~T00zz"), b[7:]...)); ok {
		t.Fatal("accepted a non-hex marker")
	}
}
