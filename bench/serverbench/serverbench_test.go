package serverbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"octobase/internal/jstest"
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
		if r.Switches <= 0 && runtime.GOOS == "linux" {
			t.Errorf("%s: %d context switches", r.Scenario, r.Switches)
		}
		if r.FsyncFloor != 0 || r.Floor != r.WriteFloor { // durability none: no fsync floor measured
			t.Errorf("%s: %d fsyncs at %v each, floor %v (write floor %v)", r.Scenario, r.Fsyncs, r.FsyncFloor, r.Floor, r.WriteFloor)
		}
		// Every delivery is in a message (the server's writers may merge
		// several); the sync handshakes after the first sample are not.
		if r.Messages <= 0 || r.Messages > r.Deliveries {
			t.Errorf("%s: %d messages sent for %d deliveries", r.Scenario, r.Messages, r.Deliveries)
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

// TestRunServerFsyncs: with durability always, the store's fsyncs are
// counted over the edit phase (at most one per update: concurrent appends
// share one) and their share of the fsync floor is in the floor.
func TestRunServerFsyncs(t *testing.T) {
	var out bytes.Buffer
	prof := t.TempDir()
	res, err := Run(context.Background(), Options{
		Scenarios:  []string{"one"},
		Clients:    []int{10},
		Writers:    2,
		Duration:   time.Second,
		Durability: oplog.SyncAlways,
		Dir:        t.TempDir(),
		ProfileDir: prof,
	}, &out)
	t.Logf("table:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Fsyncs <= 0 || r.Fsyncs > r.Updates+2 || r.FsyncFloor <= 0 {
		t.Fatalf("%d fsyncs for %d updates, %v each", r.Fsyncs, r.Updates, r.FsyncFloor)
	}
	want := r.WriteFloor + time.Duration(float64(r.FsyncFloor)*float64(r.Fsyncs)/float64(r.Deliveries))
	if r.Floor != want || r.Floor <= r.WriteFloor {
		t.Fatalf("floor %v, want %v (write floor %v)", r.Floor, want, r.WriteFloor)
	}
	// -profile: heap before and after the edit phase, CPU during it.
	for _, name := range []string{"server-one-10.heap.pprof", "server-one-10.pprof", "server-one-10.after.heap.pprof"} {
		if fi, err := os.Stat(filepath.Join(prof, name)); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", name, err)
		}
	}
}

// -repeat: each cell runs that many times and the run of median CPU per
// delivery is reported, with the range of all.
func TestRunServerRepeat(t *testing.T) {
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Scenarios:  []string{"one"},
		Clients:    []int{6},
		Writers:    2,
		Duration:   300 * time.Millisecond,
		Warmup:     100 * time.Millisecond,
		Durability: oplog.SyncNone,
		Dir:        t.TempDir(),
		Repeat:     3,
	}, &out)
	t.Logf("table:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Runs != 3 || r.CPUMin <= 0 || r.CPUMin > r.CPUPerDelivery || r.CPUPerDelivery > r.CPUMax {
		t.Fatalf("runs %d, CPU per delivery %v in [%v, %v]", r.Runs, r.CPUPerDelivery, r.CPUMin, r.CPUMax)
	}
	if !strings.Contains(out.String(), "the median of 3 runs") {
		t.Error("the table does not say it shows medians")
	}
}

// TestRunServerWarmup: the edits of the warm-up are sent but not measured.
// At 20 edits/s, a second of warm-up and a second measured count about 20
// edits, not 40.
func TestRunServerWarmup(t *testing.T) {
	var out, progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Scenarios:  []string{"one"},
		Clients:    []int{4},
		Writers:    2,
		Rate:       20,
		Warmup:     time.Second,
		Duration:   time.Second,
		Durability: oplog.SyncNone,
		Dir:        t.TempDir(),
		Progress:   &progress,
	}, &out)
	t.Logf("table:\n%s\nprogress:\n%s", out.String(), progress.String())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Updates < 12 || r.Updates > 28 || r.Deliveries != 4*r.Updates {
		t.Fatalf("%d updates (%d deliveries) measured at 20/s over 1 s after 1 s of warm-up; want about 20", r.Updates, r.Deliveries)
	}
	if r.Elapsed < 900*time.Millisecond || r.Elapsed > 1500*time.Millisecond {
		t.Fatalf("elapsed %v, want the measured second", r.Elapsed)
	}
	if !strings.Contains(progress.String(), "warming up for 1s") {
		t.Error("no warm-up progress line")
	}
}

func TestMedian(t *testing.T) {
	rs := []Result{{CPUPerDelivery: 5, Updates: 1}, {CPUPerDelivery: 1, Updates: 2}, {CPUPerDelivery: 9, Updates: 3}, {CPUPerDelivery: 3, Updates: 4}}
	m := median(rs)
	if m.Updates != 4 || m.Runs != 4 || m.CPUMin != 1 || m.CPUMax != 9 {
		t.Fatalf("median of 1,3,5,9: %+v", m)
	}
	if m := median(rs[:1]); m.Runs != 1 || m.CPUMin != 5 || m.CPUMax != 5 || m.Updates != 1 {
		t.Fatalf("median of one: %+v", m)
	}
}

// TestWriteFloor: back to back and paced, a write costs something.
func TestWriteFloor(t *testing.T) {
	for _, pause := range []time.Duration{0, 5 * time.Millisecond} {
		d, err := WriteFloor(10, 20, 64, pause)
		if err != nil && runtime.GOOS != "linux" {
			t.Skip(err) // a thread's CPU time is measured on Linux
		}
		if err != nil || d <= 0 {
			t.Fatalf("WriteFloor, pause %v: %v, %v", pause, d, err)
		}
	}
}

func TestWakeCost(t *testing.T) {
	d, err := WakeCost(200)
	if err != nil && runtime.GOOS == "windows" {
		t.Skip(err)
	}
	if err != nil || d <= 0 || d > 10*time.Millisecond {
		t.Fatalf("WakeCost: %v, %v", d, err)
	}
}

func TestFsyncFloor(t *testing.T) {
	d, err := FsyncFloor(t.TempDir(), 20, 100)
	if err != nil && runtime.GOOS != "linux" {
		t.Skip(err) // a thread's CPU time is measured on Linux
	}
	if err != nil || d <= 0 {
		t.Fatalf("FsyncFloor: %v, %v", d, err)
	}
	if _, err := FsyncFloor(filepath.Join(t.TempDir(), "missing"), 1, 1); err == nil {
		t.Fatal("FsyncFloor in a missing directory: no error")
	}
}

// TestRunServerReference runs one cell against our server and the
// y-websocket reference under Node.js: the reference's clients must get
// every edit once and in order (Run fails otherwise), and both rows and the
// ratio must be measured.
func TestRunServerReference(t *testing.T) {
	jstest.Available(t)
	root, err := jstest.Root()
	if err != nil {
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Clients:     []int{20},
		Scenarios:   []string{OneWorkspace},
		Writers:     4,
		Duration:    time.Second,
		Durability:  oplog.SyncNone,
		Dir:         t.TempDir(),
		Reference:   RefYWebsocket,
		NodeModules: filepath.Join(root, "node_modules"),
		Progress:    &progress,
	}, &out)
	t.Logf("table:\n%s\nprogress:\n%s", out.String(), progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Server != ServerOctoBase || res[1].Server != ServerYWebsocket {
		t.Fatalf("results: %+v", res)
	}
	ours, ref := res[0], res[1]
	if ref.Updates <= 0 || ref.Deliveries != ref.Updates*20 || ref.ServerCPU <= 0 || ref.IdleRSS <= 0 || ref.P50 <= 0 {
		t.Errorf("reference unmeasured: %+v", ref)
	}
	if want := float64(ours.CPUPerDelivery) / float64(ref.CPUPerDelivery); ours.CPUVsRef != want || want <= 0 {
		t.Errorf("×ref %.3f, want %.3f", ours.CPUVsRef, want)
	}
	for _, want := range []string{"reference: @y/websocket-server", "y-websocket one        20"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

// TestReferenceNotFound: an explicit reference that cannot be found is an
// error naming what is missing; auto says so in the table and goes on.
func TestReferenceNotFound(t *testing.T) {
	empty := t.TempDir()
	_, err := Run(context.Background(), Options{Clients: []int{1}, Reference: RefYWebsocket, NodeModules: empty, Dir: t.TempDir()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "@y/websocket-server") {
		t.Fatalf("missing reference: %v", err)
	}
	var out bytes.Buffer
	_, err = Run(context.Background(), Options{Clients: []int{1}, Scenarios: []string{OneWorkspace}, Writers: 1, Duration: 200 * time.Millisecond,
		Durability: oplog.SyncNone, Reference: RefAuto, NodeModules: empty, Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reference: not run:") || strings.Contains(out.String(), "y-websocket one") {
		t.Fatalf("auto without the package:\n%s", out.String())
	}
	if _, err := Run(context.Background(), Options{Clients: []int{1}, Reference: "hocuspocus"}, io.Discard); err == nil {
		t.Fatal("accepted an unknown reference")
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
