package server

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
)

// parseMetrics reads the samples of a Prometheus text exposition, checking
// that every sample's family has HELP and TYPE lines.
func parseMetrics(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			typed[strings.Fields(line)[2]] = true
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		name := line[:i]
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		fam := name
		if j := strings.IndexByte(fam, '{'); j >= 0 {
			fam = fam[:j]
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(fam, suf); base != fam && typed[base] {
				fam = base
			}
		}
		if !typed[fam] {
			t.Fatalf("sample %q without # TYPE", line)
		}
		out[name] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{Gauges: func(ctx context.Context) []Gauge {
		if ctx.Err() != nil {
			return nil
		}
		return []Gauge{{Name: "octobase_test_gauge", Help: "A gauge of the embedding program.", Value: 2.5}}
	}})
	sc := newSyncClient(t, e.wsURL("m"), 1)
	sc.edit(insertText("t", 0, "hello"))
	waitFor(t, "the echo", func() bool { return sc.text("t") == "hello" })
	if r := do(t, "POST", e.hs.URL+"/api/workspaces/m/blocks", "", map[string]any{"flavour": "x"}); r.status != 201 {
		t.Fatal(r.status)
	}
	// Applied: the client's SyncStep2 (an empty update), its edit, the block.
	waitFor(t, "three applies", func() bool { return e.srv.metrics.updatesApplied.Load() == 3 })
	bad := dial(t, e.wsURL("m"), nil)
	readMsg(t, bad)
	writeMsg(t, bad, []byte{0xff, 0xff}) // malformed: closed
	wsClosed(t, bad)
	waitFor(t, "the bad connection to go", func() bool { return e.srv.metrics.connections.Load() == 1 })

	r := do(t, "GET", e.hs.URL+"/metrics", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q", r.status, r.header.Get("Content-Type"))
	}
	m := parseMetrics(t, r.body)
	for name, want := range map[string]float64{
		"octobase_websocket_connections":                    1,
		"octobase_rooms":                                    1,
		"octobase_updates_applied_total":                    3,
		"octobase_apply_duration_seconds_count":             3,
		`octobase_apply_duration_seconds_bucket{le="+Inf"}`: 3,
		"octobase_websocket_rejected_messages_total":        1,
		"octobase_oplog_records_total":                      2, // the edit and the block (the empty SyncStep2 logs nothing)
		"octobase_open_workspaces":                          1,
		"octobase_test_gauge":                               2.5,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"octobase_websocket_received_bytes_total", "octobase_websocket_sent_bytes_total", "octobase_broadcasts_total", "octobase_http_received_bytes_total", "octobase_document_size_estimate_bytes", "octobase_oplog_bytes_total", "octobase_oplog_open_segment_bytes", "octobase_index_seconds_total"} {
		if m[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, m[name])
		}
	}
	if _, ok := m["octobase_oplog_syncs_total"]; !ok { // 0 here: the test store does not fsync
		t.Error("octobase_oplog_syncs_total missing")
	}
	// Buckets are cumulative.
	prev := 0.0
	for _, ub := range applyBuckets {
		v := m[`octobase_apply_duration_seconds_bucket{le="`+strconv.FormatFloat(ub, 'g', -1, 64)+`"}`]
		if v < prev {
			t.Fatalf("bucket %v = %v < %v", ub, v, prev)
		}
		prev = v
	}
}
