package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/replication/ysync"
)

// Defaults for zero Options fields.
const (
	DefaultMaxMessageSize = 8 << 20
	DefaultSendQueue      = 256
	DefaultPingInterval   = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second

	DefaultMaxDocumentSize            = 256 << 20
	DefaultMaxConnections             = 10_000
	DefaultMaxConnectionsPerWorkspace = 1_000
	DefaultHeartbeatInterval          = 15 * time.Second
)

// closeGrace is how long Close waits for WebSocket close handshakes before
// cutting connections off.
const closeGrace = 5 * time.Second

// awarenessCheckInterval is how often outdated awareness states are removed
// (y-protocols checks every outdatedTimeout/10 = 3 s).
const awarenessCheckInterval = 3 * time.Second

// Options configure a Server. The zero value is valid; each field documents
// what its zero value means.
type Options struct {
	// Logger receives connection and error logs. Nil discards them.
	Logger *slog.Logger
	// MaxMessageSize is the largest WebSocket message and HTTP request body
	// accepted, in bytes. A WebSocket client that sends more is closed with
	// status 1009 (message too big); an HTTP body gets 413. Zero means
	// DefaultMaxMessageSize (8 MiB).
	MaxMessageSize int64
	// SendQueue is how many messages may wait to be written to one
	// connection; a connection that falls further behind is closed with
	// status 1013. Zero means DefaultSendQueue.
	SendQueue int
	// PingInterval is how often each connection is pinged; a connection
	// that does not answer within the interval is closed. Zero means
	// DefaultPingInterval (30 s, as the reference server); negative disables
	// pings.
	PingInterval time.Duration
	// WriteTimeout bounds each WebSocket write: a connection whose write
	// has not completed after one to two WriteTimeouts (the sweeper checks
	// every WriteTimeout) is cut off. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OriginPatterns, when non-empty, restricts the Origin of WebSocket
	// handshakes (github.com/coder/websocket AcceptOptions.OriginPatterns).
	// Empty accepts any origin, as the y-websocket reference server does:
	// tokens travel in the URL, not in cookies, so a foreign page cannot
	// use a visitor's credentials.
	OriginPatterns []string
	// Now supplies the time for awareness bookkeeping and token expiry.
	// Nil means time.Now.
	Now func() time.Time

	// Auth, when non-nil, requires a token (auth.go) on every endpoint
	// except /healthz. Nil serves without authentication: cmd/octobase
	// allows that only on a loopback address.
	Auth *Auth
	// RevokedFile, with Auth, is the revocation list to follow (revoke.go;
	// cmd/octobase passes <data>/AUTH_REVOKED): read at start and again
	// whenever it changes, checked every RevokedPoll (zero means 1 s).
	// Empty: no list.
	RevokedFile string
	RevokedPoll time.Duration
	// MaxDocumentSize refuses updates that would grow a workspace beyond
	// this many bytes, by the estimate documented in doc.go (encoded state
	// size when the server first touched the workspace plus the sum of the
	// updates it applied since). Zero means DefaultMaxDocumentSize;
	// negative means no limit.
	MaxDocumentSize int64
	// MaxConnections caps the WebSocket connections and SSE streams of
	// the node; MaxConnectionsPerWorkspace those of one workspace. Zero
	// means DefaultMaxConnections / DefaultMaxConnectionsPerWorkspace;
	// negative means no limit.
	MaxConnections             int
	MaxConnectionsPerWorkspace int
	// HeartbeatInterval is how often an idle SSE stream gets a comment
	// line. Zero means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// Gauges, if set, adds the embedding program's gauges to GET /metrics
	// (octobase serve reports replication with it). It is called once per
	// scrape with a context that ends after a few seconds; names must be
	// valid Prometheus metric names.
	Gauges func(ctx context.Context) []Gauge
}

// Gauge is one extra value reported by GET /metrics (Options.Gauges).
type Gauge struct {
	Name, Help string
	Value      float64
}

// Server serves one engine.Store over HTTP and WebSocket. Create it with New;
// it implements http.Handler. Close ends its WebSocket connections.
type Server struct {
	store *engine.Store
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux

	revMu    sync.Mutex
	revokedC chan struct{} // closed and replaced when the revoked tokens change (revoke.go)

	ctx    context.Context // canceled by Close; engine calls use it
	cancel context.CancelFunc
	// streams is canceled by StopStreams and Close: it ends SSE streams.
	streams     context.Context
	stopStreams context.CancelFunc
	wg          sync.WaitGroup // the awareness janitor and room broadcasters
	connWG      sync.WaitGroup // connection handlers

	overflows atomic.Int64 // connections closed for a full send queue
	partials  atomic.Int64 // frames a direct write began and the writer finished (tests)
	metrics   metrics

	mu struct {
		sync.Mutex
		closed bool
		rooms  map[string]*room
		nextID uint64
		// conns counts WebSocket connections and SSE streams, in total
		// and per workspace (limits.go).
		conns   int
		wsConns map[string]int
		// docSize is the document size estimate per workspace (limits.go).
		docSize map[string]*docSize
		// live are the WebSocket connections whose handler is running,
		// for the sweeper.
		live map[*conn]struct{}
	}

	// testHookWrite, if set, is called by a connection's writer before
	// each write (tests).
	testHookWrite func(c *conn)
}

// New returns a Server for store. The caller keeps owning store: close the
// Server (after http.Server.Shutdown) before closing the store.
func New(store *engine.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = DefaultSendQueue
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxDocumentSize == 0 {
		opts.MaxDocumentSize = DefaultMaxDocumentSize
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.MaxConnectionsPerWorkspace == 0 {
		opts.MaxConnectionsPerWorkspace = DefaultMaxConnectionsPerWorkspace
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	s := &Server{store: store, opts: opts, log: opts.Logger, mux: http.NewServeMux(), revokedC: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.streams, s.stopStreams = context.WithCancel(s.ctx)
	s.mu.rooms = make(map[string]*room)
	s.mu.wsConns = make(map[string]int)
	s.mu.docSize = make(map[string]*docSize)
	s.mu.live = make(map[*conn]struct{})
	s.metrics.init()
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /metrics", s.handleMetrics)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/update", s.handleGetUpdate)
	s.mux.HandleFunc("POST /api/workspaces/{ws}/update", s.handlePostUpdate)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/blocks", s.handleListBlocks)
	s.mux.HandleFunc("POST /api/workspaces/{ws}/blocks", s.handleCreateBlock)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/blocks/{id}", s.handleGetBlock)
	s.mux.HandleFunc("PATCH /api/workspaces/{ws}/blocks/{id}", s.handlePatchBlock)
	s.mux.HandleFunc("DELETE /api/workspaces/{ws}/blocks/{id}", s.handleDeleteBlock)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/changes", s.handleChanges)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/history", s.handleHistory)
	s.mux.HandleFunc("POST /api/query", s.handleQuery)
	s.mux.HandleFunc("GET /sync/{ws...}", s.handleSync)
	s.wg.Add(2)
	go s.awarenessJanitor()
	go s.sweeper()
	if s.opts.Auth != nil && s.opts.RevokedFile != "" {
		if s.opts.RevokedPoll <= 0 {
			s.opts.RevokedPoll = time.Second
		}
		// The list in force before the first request.
		if ids, err := LoadRevoked(s.opts.RevokedFile, s.opts.Auth.now()); err != nil {
			s.log.Error("reading the revoked tokens", "err", err)
		} else {
			s.opts.Auth.SetRevoked(ids)
		}
		s.wg.Add(1)
		go s.watchRevoked()
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// StopStreams ends every SSE change stream (clients reconnect with
// Last-Event-ID and lose nothing). Pass it to http.Server.RegisterOnShutdown:
// Shutdown waits for active requests, and a stream never ends by itself.
func (s *Server) StopStreams() { s.stopStreams() }

// Close closes every WebSocket connection with status 1001 (going away),
// refuses new ones, and waits for their handlers to finish. http.Server's
// Shutdown does not close hijacked (WebSocket) connections, so call Close
// after it and before closing the store. Safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		s.connWG.Wait()
		s.wg.Wait()
		return nil
	}
	s.mu.closed = true
	s.stopStreams()
	var conns []*conn
	for _, r := range s.mu.rooms {
		r.mu.Lock()
		for c := range r.mu.conns {
			conns = append(conns, c)
		}
		r.mu.Unlock()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kick(statusGoingAway, "server shutting down")
	}
	// Give the close handshakes a moment before cutting connections off.
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	t := time.NewTimer(closeGrace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	s.cancel()
	s.connWG.Wait()
	s.wg.Wait()
	return nil
}

func (s *Server) nowMillis() int64 { return s.opts.Now().UnixMilli() }

// errClosed is returned when the Server is closed.
var errClosed = errors.New("server: closed")

// room is the shared state of one workspace's connections.
type room struct {
	name string
	ws   *engine.Workspace
	refs int // guarded by Server.mu

	// sub is the workspace's change stream; the room's broadcaster
	// goroutine sends every change's update to the room's connections.
	sub *engine.Subscription

	// applied carries the updates the room's connections applied, in the
	// order they were applied, to the room's finisher goroutine, which
	// waits for each to be durable (publishing it to sub) and closes the
	// connection of one that failed. A connection's reader goes on
	// reading meanwhile, so that a client's updates in flight share
	// fsyncs; the channel's capacity bounds how many wait per room.
	// Closed when the room's last user releases it.
	applied chan appliedUpdate

	mu struct {
		sync.Mutex
		conns map[*conn]struct{}
		// list holds conns for the broadcaster, made anew (never changed
		// in place) when it finds nil: joins and leaves set it to nil.
		list []*conn
		aw   *ysync.Awareness
	}
}

// connList returns the room's connections; the slice is not changed
// later, so it can be used after r.mu is released.
func (r *room) connList() []*conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.list == nil {
		r.mu.list = make([]*conn, 0, len(r.mu.conns))
		for c := range r.mu.conns {
			r.mu.list = append(r.mu.list, c)
		}
	}
	return r.mu.list
}

// acquire returns the room of workspace name, creating it (and starting its
// broadcaster), and counts a user; release it when done.
func (s *Server) acquire(ctx context.Context, name string) (*room, error) {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	if r, ok := s.mu.rooms[name]; ok {
		r.refs++
		s.mu.Unlock()
		return r, nil
	}
	s.mu.Unlock()

	ws, err := s.store.Workspace(ctx, name)
	if err != nil {
		return nil, err
	}
	cid, err := ws.ClientID(ctx)
	if err != nil {
		return nil, err
	}
	now := s.nowMillis()
	aw := ysync.NewAwareness(cid, now)
	if _, err := aw.SetLocalState("null", now); err != nil {
		return nil, err
	}
	// From now on: a connection syncs the past with SyncStep1/2.
	sub, err := ws.Subscribe(s.ctx, 0)
	if err != nil {
		return nil, err
	}
	nr := &room{name: name, ws: ws, sub: sub, applied: make(chan appliedUpdate, appliedQueue)}
	nr.mu.conns = make(map[*conn]struct{})
	nr.mu.aw = aw

	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		sub.Close()
		return nil, errClosed
	}
	if r, ok := s.mu.rooms[name]; ok { // created meanwhile
		r.refs++
		s.mu.Unlock()
		sub.Close()
		return r, nil
	}
	nr.refs = 1
	s.mu.rooms[name] = nr
	s.wg.Add(2)
	s.mu.Unlock()
	go s.broadcaster(nr)
	go s.finisher(nr)
	return nr, nil
}

func (s *Server) release(r *room) {
	s.mu.Lock()
	r.refs--
	unused := r.refs == 0
	last := unused && s.mu.rooms[r.name] == r
	if last {
		delete(s.mu.rooms, r.name)
	}
	s.mu.Unlock()
	if unused {
		close(r.applied) // no user is left to apply anything
	}
	if last {
		r.sub.Close()
	}
}

// appliedQueue is the capacity of a room's applied channel.
const appliedQueue = 256

// appliedUpdate is an update a connection applied (ApplyCompleteAsync)
// that is not yet known to be durable.
type appliedUpdate struct {
	wait  func() (oplog.LSN, error)
	ds    *docSize
	size  int64
	start time.Time
	c     *conn // nil: nobody to close on failure
}

// finisher waits, in order, for the updates the room's connections
// applied to be durable, which publishes them to the room's change stream.
// A failure (storage) closes the connection that sent the update, which
// then reconnects and resyncs.
func (s *Server) finisher(r *room) {
	defer s.wg.Done()
	for a := range r.applied {
		if _, err := s.finishApply(a); err != nil && a.c != nil {
			a.c.log.Error("engine error", "err", err)
			a.c.kick(websocket.StatusInternalError, "internal error")
		}
	}
}

// broadcaster sends each change of the room's workspace, whatever applied
// it (WebSocket, HTTP, the block API, replication), as [0,2,update] to every
// connection of the room: in LSN order and exactly once, as the engine's
// Subscribe guarantees. When no change waits behind it, it writes the
// update itself to the connections that are idle (conn.sendNow), and
// queues it for the others; when changes wait, it queues it for all, so
// that their writers, running in parallel, merge what piles up.
//
// A connection that joins after the broadcaster took the room's list gets
// the update in its handshake: the update was applied before it was
// published. If the stream ends while the room still has users
// (the store closing, a workspace failure), they are closed with 1013 so
// that they reconnect and resync instead of silently missing updates.
func (s *Server) broadcaster(r *room) {
	defer s.wg.Done()
	var seq uint64
	for ch := range r.sub.C {
		if len(ch.Update) == 0 {
			continue
		}
		seq++
		frame := updateFrame(ch.Update)
		m := &outMsg{frame: frame, update: frame[len(frame)-len(ch.Update):], seq: seq}
		now := r.sub.Backlog() == 0
		for _, c := range r.connList() {
			if now {
				c.sendNow(m)
			} else {
				c.enqueueMsg(m)
			}
		}
		s.metrics.broadcasts.Add(1)
	}
	s.mu.Lock()
	stale := s.mu.rooms[r.name] == r
	if stale {
		delete(s.mu.rooms, r.name) // the next user creates a fresh room
	}
	s.mu.Unlock()
	if err := r.sub.Err(); stale && err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("change stream ended", "workspace", r.name, "err", err)
	}
	r.mu.Lock()
	for c := range r.mu.conns {
		c.kick(statusTryAgainLater, "change stream ended")
	}
	r.mu.Unlock()
}

// apply applies update to workspace ws, checking the document size limit
// first and recording metrics. Updates come from clients, so one that
// depends on changes the workspace does not have is refused
// (engine.ErrMissingDeps) rather than kept pending. The broadcast follows from the change
// stream.
func (s *Server) apply(ctx context.Context, ws *engine.Workspace, update []byte, origin string) (oplog.LSN, error) {
	a, err := s.applyAsync(ctx, ws, update, origin)
	if err != nil {
		return 0, err
	}
	return s.finishApply(a)
}

// applyAsync is the first half of apply: it integrates update and queues
// its record, and returns what finishApply needs to wait for it.
func (s *Server) applyAsync(ctx context.Context, ws *engine.Workspace, update []byte, origin string) (appliedUpdate, error) {
	ds, err := s.docSizeOf(ctx, ws)
	if err != nil {
		return appliedUpdate{}, err
	}
	size := int64(len(update))
	if err := ds.reserve(size); err != nil {
		s.metrics.applyErrors.Add(1)
		return appliedUpdate{}, err
	}
	start := time.Now()
	wait, err := ws.ApplyCompleteAsync(ctx, update, origin)
	if err != nil {
		ds.unreserve(size)
		s.metrics.applyErrors.Add(1)
		return appliedUpdate{}, err
	}
	return appliedUpdate{wait: wait, ds: ds, size: size, start: start}, nil
}

// finishApply waits for the update of a to be durable (and published).
func (s *Server) finishApply(a appliedUpdate) (oplog.LSN, error) {
	lsn, err := a.wait()
	if err != nil {
		a.ds.unreserve(a.size)
		s.metrics.applyErrors.Add(1)
		return 0, err
	}
	s.metrics.observeApply(time.Since(a.start))
	return lsn, nil
}

// broadcastLocked queues msg, which is not an update (those come from the
// broadcaster), to every connection of the room.
func (r *room) broadcastLocked(msg []byte) {
	m := &outMsg{frame: binaryFrame(msg)}
	for c := range r.mu.conns {
		c.enqueueMsg(m)
	}
}

// wsStore adapts a room's workspace to ysync.Store for one call of
// ysync.HandleMessage. The engine's errors are kept in err, since the
// Store interface has no room for them.
type wsStore struct {
	s      *Server
	r      *room
	origin string
	c      *conn // the connection, closed if one of its updates fails
	// readOnly refuses the connection's updates (ysync.Options.ReadOnly).
	readOnly bool
	err      error
	// missing is set when an update was refused for missing dependencies
	// (engine.ErrMissingDeps): the connection is asked for them.
	missing error
}

func (st *wsStore) StateVector() crdt.StateVector {
	b, err := st.r.ws.StateVector(st.s.ctx)
	if err != nil {
		st.err = err
		return crdt.StateVector{}
	}
	sv, err := crdt.DecodeStateVector(b)
	if err != nil {
		st.err = err
		return crdt.StateVector{}
	}
	return sv
}

func (st *wsStore) EncodeStateAsUpdate(sv crdt.StateVector) []byte {
	u, err := st.r.ws.EncodeStateAsUpdate(st.s.ctx, crdt.EncodeStateVector(sv))
	if err != nil {
		st.err = err
		return []byte{0, 0}
	}
	return u
}

// ApplyUpdate integrates and logs update, and hands it to the room's
// finisher to wait until it is durable: the connection's next message is
// read meanwhile.
func (st *wsStore) ApplyUpdate(update []byte, _ any) error {
	a, err := st.s.applyAsync(st.s.ctx, st.r.ws, update, st.origin)
	if err == nil {
		a.c = st.c
		st.r.applied <- a
		return nil
	}
	if errors.Is(err, engine.ErrMissingDeps) {
		st.missing = err
		return nil
	}
	if err != nil && !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
		st.err = err // not the client's fault: the size limit, storage
		return nil
	}
	return err
}

// ---- HTTP API ----

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleGetUpdate(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if !s.authorize(w, req, name, AccessRead) {
		return
	}
	var sv []byte
	if q := req.URL.Query().Get("sv"); q != "" {
		b, err := decodeBase64(q)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "sv is not base64: "+err.Error())
			return
		}
		if _, err := crdt.DecodeStateVector(b); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "sv is not a state vector: "+err.Error())
			return
		}
		sv = b
	}
	v2, ok := updateFormat(w, req)
	if !ok {
		return
	}
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	u, err := ws.EncodeStateAsUpdate(req.Context(), sv)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	if v2 {
		if u, err = crdt.ConvertUpdateV1ToV2(u); err != nil {
			s.log.Error("converting an update to v2", "workspace", name, "err", err)
			writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(u)))
	w.WriteHeader(http.StatusOK)
	n, _ := w.Write(u)
	s.metrics.httpBytesOut.Add(int64(n))
}

func (s *Server) handlePostUpdate(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if !s.authorize(w, req, name, AccessWrite) {
		return
	}
	v2, ok := updateFormat(w, req)
	if !ok {
		return
	}
	body, ok := s.readBody(w, req)
	if !ok {
		return
	}
	if v2 {
		u, err := crdt.ConvertUpdateV2ToV1(body)
		if err != nil {
			s.metrics.applyErrors.Add(1)
			writeError(w, http.StatusBadRequest, codeMalformed, "the body is not a yjs v2 update: "+err.Error())
			return
		}
		body = u
	}
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	lsn, err := s.apply(req.Context(), ws, body, "http")
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lsn": uint64(lsn)})
}

// updateFormat reads the format query parameter of the update endpoints:
// v1 (the default) or v2, the yjs update encodings. Anything else is
// answered 400 and reported false.
func updateFormat(w http.ResponseWriter, req *http.Request) (v2, ok bool) {
	switch f := req.URL.Query().Get("format"); f {
	case "", "v1":
		return false, true
	case "v2":
		return true, true
	default:
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("format %q: want v1 or v2", f))
		return false, false
	}
}

// readBody reads a request body of at most MaxMessageSize bytes; on failure
// it answers 413 or 400 and reports false.
func (s *Server) readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, s.opts.MaxMessageSize))
	s.metrics.httpBytesIn.Add(int64(len(body)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, codeBadRequest, "reading body: "+err.Error())
		return nil, false
	}
	return body, true
}

// Error codes of JSON error responses (docs/http-api.md, "Errors").
const (
	codeBadRequest     = "bad_request"
	codeMalformed      = "malformed_update"
	codeMissingDeps    = "missing_dependencies"
	codeInvalidName    = "invalid_name"
	codeInvalidQuery   = "invalid_query"
	codeNotFound       = "not_found"
	codeExists         = "exists"
	codeConflict       = "conflict"
	codeTooLarge       = "too_large"
	codeDocTooLarge    = "document_too_large"
	codeTooManyConns   = "too_many_connections"
	codeUnauthorized   = "unauthorized"
	codeForbidden      = "forbidden"
	codeGone           = "gone"
	codeNotImplemented = "not_implemented"
	codeUnavailable    = "unavailable"
	codeInternal       = "internal"
)

// engineError maps an engine error to an HTTP status and JSON error.
func (s *Server) engineError(w http.ResponseWriter, ws string, err error) {
	switch {
	case errors.Is(err, engine.ErrInvalidName):
		writeError(w, http.StatusBadRequest, codeInvalidName, "invalid workspace or space name")
	case errors.Is(err, crdt.ErrMalformed), errors.Is(err, crdt.ErrUnsupported):
		writeError(w, http.StatusBadRequest, codeMalformed, "malformed update: "+err.Error())
	case errors.Is(err, engine.ErrMissingDeps):
		writeError(w, http.StatusConflict, codeMissingDeps, err.Error()+
			" (send those changes first, or the whole diff against the state vector from GET .../update?sv)")
	case errors.Is(err, errDocTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, codeDocTooLarge, err.Error())
	case errors.Is(err, engine.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, engine.ErrExists):
		writeError(w, http.StatusConflict, codeExists, err.Error())
	case errors.Is(err, engine.ErrCycle):
		writeError(w, http.StatusConflict, codeConflict, err.Error())
	case errors.Is(err, engine.ErrOutOfRange):
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, engine.ErrFuture):
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, oplog.ErrCompacted):
		writeError(w, http.StatusGone, codeGone, "history before that position was compacted away")
	case errors.Is(err, engine.ErrClosed), errors.Is(err, errClosed):
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "server is shutting down")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "request canceled")
	default:
		s.log.Error("request failed", "workspace", ws, "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is the body of every JSON error response.
type apiError struct {
	Error  string `json:"error"`
	Code   string `json:"code"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Offset *int   `json:"offset,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, " ", "+") // an unescaped + in a query string
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
