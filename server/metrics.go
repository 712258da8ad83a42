package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// applyBuckets are the upper bounds, in seconds, of the apply latency
// histogram.
var applyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// metrics are the Server's counters and gauges, exported by GET /metrics in
// the Prometheus text format (written by hand: no client library).
type metrics struct {
	connections    atomic.Int64 // open WebSocket connections (gauge)
	sseStreams     atomic.Int64 // open SSE streams (gauge)
	updatesApplied atomic.Int64 // updates and block transactions applied through this server
	applyErrors    atomic.Int64 // applies that failed (malformed, too large, storage)
	broadcasts     atomic.Int64 // changes broadcast to rooms
	rejected       atomic.Int64 // WebSocket messages refused (malformed, read-only)
	missingDeps    atomic.Int64 // client updates refused for missing dependencies (the client is asked for them)
	authFailures   atomic.Int64 // requests and connections refused with 401/403 or 4401/4403
	connRefused    atomic.Int64 // connections refused by a connection limit
	wsBytesIn      atomic.Int64
	wsBytesOut     atomic.Int64
	wsMessagesIn   atomic.Int64
	wsMessagesOut  atomic.Int64
	wsCoalesced    atomic.Int64 // broadcast updates merged into another message instead of sent alone
	wsDirect       atomic.Int64 // messages written at once by the goroutine that made them (conn.tryWriteNow)
	writeTimeouts  atomic.Int64 // connections closed by the sweeper for a write stuck beyond WriteTimeout
	pingTimeouts   atomic.Int64 // connections closed for a ping not answered within PingInterval
	httpBytesIn    atomic.Int64
	httpBytesOut   atomic.Int64
	sseEvents      atomic.Int64

	applySumNano atomic.Int64
	applyHist    []atomic.Int64 // per bucket (not cumulative), plus +Inf last
}

func (m *metrics) init() {
	m.applyHist = make([]atomic.Int64, len(applyBuckets)+1)
}

// observeApply records one successful apply (or block transaction) of
// duration d.
func (m *metrics) observeApply(d time.Duration) {
	m.updatesApplied.Add(1)
	m.applySumNano.Add(int64(d))
	sec := d.Seconds()
	i := 0
	for i < len(applyBuckets) && sec > applyBuckets[i] {
		i++
	}
	m.applyHist[i].Add(1)
}

func (s *Server) handleMetrics(w http.ResponseWriter, req *http.Request) {
	if !s.authorize(w, req, AllWorkspaces, AccessRead) {
		return
	}
	s.mu.Lock()
	rooms := len(s.mu.rooms)
	var docBytes int64
	sizes := make([]*docSize, 0, len(s.mu.docSize))
	for _, d := range s.mu.docSize {
		sizes = append(sizes, d)
	}
	s.mu.Unlock()
	for _, d := range sizes {
		docBytes += d.load()
	}
	m := &s.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	counter := func(name, help string, v int64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge("octobase_websocket_connections", "Open WebSocket sync connections.", m.connections.Load())
	gauge("octobase_sse_streams", "Open SSE change streams.", m.sseStreams.Load())
	gauge("octobase_rooms", "Workspaces with at least one WebSocket connection.", int64(rooms))
	counter("octobase_updates_applied_total", "Updates and block transactions applied through this server.", m.updatesApplied.Load())
	counter("octobase_apply_errors_total", "Updates refused or failed (malformed, over the document limit, storage errors).", m.applyErrors.Load())
	counter("octobase_broadcasts_total", "Changes broadcast to the WebSocket connections of a room.", m.broadcasts.Load())
	counter("octobase_websocket_rejected_messages_total", "WebSocket messages refused: malformed, or writes on a read-only connection.", m.rejected.Load())
	counter("octobase_missing_dependency_updates_total", "Client updates refused because they depend on changes the workspace does not have (not stored; over WebSocket the client is sent a SyncStep1 for them).", m.missingDeps.Load())
	counter("octobase_auth_failures_total", "Requests and connections refused for a missing, invalid or insufficient token.", m.authFailures.Load())
	counter("octobase_connections_refused_total", "WebSocket connections and SSE streams refused by a connection limit.", m.connRefused.Load())
	counter("octobase_send_queue_overflows_total", "WebSocket connections closed because they read too slowly.", s.overflows.Load())
	counter("octobase_websocket_received_bytes_total", "Bytes of WebSocket messages received.", m.wsBytesIn.Load())
	counter("octobase_websocket_sent_bytes_total", "Bytes of WebSocket frames sent, headers included.", m.wsBytesOut.Load())
	counter("octobase_websocket_received_messages_total", "WebSocket messages received.", m.wsMessagesIn.Load())
	counter("octobase_websocket_sent_messages_total", "WebSocket messages sent.", m.wsMessagesOut.Load())
	counter("octobase_websocket_coalesced_updates_total", "Broadcast updates merged into the message of a preceding one instead of sent alone (queued updates of a connection are sent as one).", m.wsCoalesced.Load())
	counter("octobase_websocket_direct_writes_total", "WebSocket messages written at once by the goroutine that made them (the broadcaster, a reader), because the connection had nothing queued and its socket took them; the others go through the connection's send queue.", m.wsDirect.Load())
	counter("octobase_websocket_write_timeouts_total", "WebSocket connections closed because a write did not complete within the write timeout.", m.writeTimeouts.Load())
	counter("octobase_websocket_ping_timeouts_total", "WebSocket connections closed because a ping was not answered within the ping interval.", m.pingTimeouts.Load())
	counter("octobase_http_received_bytes_total", "Bytes of HTTP request bodies read by the API.", m.httpBytesIn.Load())
	counter("octobase_http_sent_bytes_total", "Bytes of binary updates sent by GET .../update.", m.httpBytesOut.Load())
	counter("octobase_sse_events_total", "Change events sent on SSE streams.", m.sseEvents.Load())
	st := s.store.Stats()
	counter("octobase_oplog_records_total", "Records appended to the workspaces' op-logs and acknowledged, by any path (this server, replication, peers).", st.LoggedRecords)
	counter("octobase_oplog_bytes_total", "Payload bytes (yjs updates, before compression) of those records.", st.LoggedBytes)
	gauge("octobase_open_workspaces", "Workspaces open in the store.", int64(st.OpenWorkspaces))
	counter("octobase_oplog_syncs_total", "Times the op-logs fsynced their segment files (with the journal: at open, when sealing a segment and at close), or with --group-fsync waited for a shared round.", st.LogSyncs)
	if st.SyncRounds > 0 {
		counter("octobase_oplog_group_sync_rounds_total", "Rounds of shared fsyncs: one fsync of the journal, or with --group-fsync one syncfs(2), for the op-logs that needed one at the same time.", st.SyncRounds)
		counter("octobase_oplog_group_synced_logs_total", "Op-log fsyncs served by those rounds (divided by the rounds: logs per round).", st.SyncedLogs)
	}
	gauge("octobase_oplog_open_segment_bytes", "Bytes on disk in the op-log segment files of the open workspaces (compressed records and framing; snapshots and closed workspaces not counted).", st.OpenLogBytes)
	fmt.Fprintf(bw, "# HELP %[1]s %[2]s\n# TYPE %[1]s counter\n%[1]s %[3]g\n", "octobase_index_seconds_total",
		"Time spent keeping the block indexes in step with the blocks, by writers and readers (engine StoreStats.IndexTime).", st.IndexTime.Seconds())
	if s.opts.Gauges != nil {
		ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
		for _, g := range s.opts.Gauges(ctx) {
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", g.Name, g.Help, g.Name, g.Name, g.Value)
		}
		cancel()
	}
	gauge("octobase_document_size_estimate_bytes", "Sum of the document size estimates (docs/http-api.md, Limits) of the workspaces this server wrote to.", docBytes)

	const h = "octobase_apply_duration_seconds"
	fmt.Fprintf(bw, "# HELP %s Time to apply and persist one update or block transaction.\n# TYPE %s histogram\n", h, h)
	var cum int64
	for i, ub := range applyBuckets {
		cum += m.applyHist[i].Load()
		fmt.Fprintf(bw, "%s_bucket{le=\"%s\"} %d\n", h, strconv.FormatFloat(ub, 'g', -1, 64), cum)
	}
	cum += m.applyHist[len(applyBuckets)].Load()
	fmt.Fprintf(bw, "%s_bucket{le=\"+Inf\"} %d\n", h, cum)
	fmt.Fprintf(bw, "%s_sum %s\n", h, strconv.FormatFloat(time.Duration(m.applySumNano.Load()).Seconds(), 'g', -1, 64))
	fmt.Fprintf(bw, "%s_count %d\n", h, cum)
	_ = bw.Flush()
}
