package replbench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"octobase/oplog"
)

// TestRunSmall runs the whole benchmark with tiny counts: the cluster
// forms, every update reaches node C (Run fails otherwise), and each row
// has both sides measured.
func TestRunSmall(t *testing.T) {
	var out, progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Dir: t.TempDir(), Sizes: []int{64, 1024}, Updates: 300, Raw: 300, Latency: 10,
		Durability: oplog.SyncNone, Progress: &progress,
	}, &out)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	if len(res) != 2 {
		t.Fatalf("%d results:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if r.RawRuns[0] <= 0 || r.RawRuns[1] <= 0 || r.UpdatesPerS <= 0 || r.Ratio <= 0 {
			t.Errorf("size %d: unmeasured side in %+v", r.Size, r)
		}
		if r.Messages == 0 || r.Messages > 300 {
			t.Errorf("size %d: %d messages carried 300 updates", r.Size, r.Messages)
		}
		if r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
			t.Errorf("size %d: latencies p50 %v p99 %v max %v", r.Size, r.P50, r.P99, r.Max)
		}
	}
	for _, want := range []string{"raw JetStream msgs/s", "OctoBase upd/s", "64 B ", "1024 B "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"cluster ready", "64 B: raw", "1024 B: latency of 10 single updates"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

func TestMapUpdatesSize(t *testing.T) {
	for _, size := range []int{64, 1024} {
		ups := mapUpdates(1, 5, size)
		if len(ups) != 5 {
			t.Fatalf("%d updates", len(ups))
		}
		for _, u := range ups {
			if len(u) < size-20 || len(u) > size+20 {
				t.Errorf("size %d: update of %d bytes", size, len(u))
			}
		}
	}
}
