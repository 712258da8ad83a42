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
	// MaxMessageSize is the largest WebSocket message and HTTP update body
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
	// WriteTimeout bounds each WebSocket write. Zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OriginPatterns, when non-empty, restricts the Origin of WebSocket
	// handshakes (github.com/coder/websocket AcceptOptions.OriginPatterns).
	// Empty accepts any origin, as the y-websocket reference server does
	// (there is no auth yet, so there are no credentials to protect).
	OriginPatterns []string
	// Now supplies the time for awareness bookkeeping. Nil means time.Now.
	Now func() time.Time
}

// Server serves one engine.Store over HTTP and WebSocket. Create it with New;
// it implements http.Handler. Close ends its WebSocket connections.
type Server struct {
	store *engine.Store
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux

	ctx    context.Context // canceled by Close; engine calls use it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the awareness janitor
	connWG sync.WaitGroup // connection handlers

	overflows atomic.Int64 // connections closed for a full send queue

	mu struct {
		sync.Mutex
		closed bool
		rooms  map[string]*room
		nextID uint64
	}
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
	s := &Server{store: store, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.rooms = make(map[string]*room)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /api/workspaces/{ws}/update", s.handleGetUpdate)
	s.mux.HandleFunc("POST /api/workspaces/{ws}/update", s.handlePostUpdate)
	s.mux.HandleFunc("GET /sync/{ws...}", s.handleSync)
	s.wg.Add(1)
	go s.awarenessJanitor()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

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

	applyMu sync.Mutex
	lastLSN oplog.LSN // guarded by applyMu: the newest LSN broadcast

	mu struct {
		sync.Mutex
		conns map[*conn]struct{}
		aw    *ysync.Awareness
	}
}

// acquire returns the room of workspace name, creating it, and counts a
// user; release it when done.
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
	last, err := ws.LastLSN(ctx)
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
	nr := &room{name: name, ws: ws, lastLSN: last}
	nr.mu.conns = make(map[*conn]struct{})
	nr.mu.aw = aw

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, errClosed
	}
	if r, ok := s.mu.rooms[name]; ok { // created meanwhile
		r.refs++
		return r, nil
	}
	nr.refs = 1
	s.mu.rooms[name] = nr
	return nr, nil
}

func (s *Server) release(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.refs--
	if r.refs == 0 && s.mu.rooms[r.name] == r {
		delete(s.mu.rooms, r.name)
	}
}

// apply applies update to the room's workspace and, once it is persisted,
// broadcasts it to every connection of the room.
func (s *Server) apply(r *room, update []byte, origin string) (oplog.LSN, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	lsn, err := r.ws.Apply(s.ctx, update, origin)
	if err != nil {
		return 0, err
	}
	if lsn > r.lastLSN {
		r.lastLSN = lsn
		msg := ysync.AppendUpdate(nil, update)
		r.mu.Lock()
		r.broadcastLocked(msg)
		r.mu.Unlock()
	}
	return lsn, nil
}

func (r *room) broadcastLocked(msg []byte) {
	for c := range r.mu.conns {
		c.enqueue(msg)
	}
}

// wsStore adapts a room's workspace to ysync.Store for one call of
// ysync.HandleMessage. The engine's errors are kept in err, since the
// Store interface has no room for them.
type wsStore struct {
	s      *Server
	r      *room
	origin string
	err    error
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

func (st *wsStore) ApplyUpdate(update []byte, _ any) error {
	_, err := st.s.apply(st.r, update, st.origin)
	return err
}

// ---- HTTP API ----

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleGetUpdate(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	var sv []byte
	if q := req.URL.Query().Get("sv"); q != "" {
		b, err := decodeBase64(q)
		if err != nil {
			writeError(w, http.StatusBadRequest, "sv is not base64: "+err.Error())
			return
		}
		if _, err := crdt.DecodeStateVector(b); err != nil {
			writeError(w, http.StatusBadRequest, "sv is not a state vector: "+err.Error())
			return
		}
		sv = b
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
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(u)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(u)
}

func (s *Server) handlePostUpdate(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, s.opts.MaxMessageSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("update larger than %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	r, err := s.acquire(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	defer s.release(r)
	lsn, err := s.apply(r, body, "http")
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lsn": uint64(lsn)})
}

// engineError maps an engine error to an HTTP status and JSON error.
func (s *Server) engineError(w http.ResponseWriter, ws string, err error) {
	switch {
	case errors.Is(err, engine.ErrInvalidName):
		writeError(w, http.StatusBadRequest, "invalid workspace name")
	case errors.Is(err, crdt.ErrMalformed), errors.Is(err, crdt.ErrUnsupported):
		writeError(w, http.StatusBadRequest, "malformed update: "+err.Error())
	case errors.Is(err, engine.ErrClosed), errors.Is(err, errClosed):
		writeError(w, http.StatusServiceUnavailable, "server is shutting down")
	default:
		s.log.Error("request failed", "workspace", ws, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
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
