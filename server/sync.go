package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"octobase/replication/ysync"
)

// Close codes the server uses. Codes 4400–4499 stop y-websocket (3.1+)
// from reconnecting: they are for conditions a retry cannot fix.
const (
	statusGoingAway     = websocket.StatusGoingAway               // 1001: server shutting down
	statusTryAgainLater = websocket.StatusTryAgainLater           // 1013: the client reads too slowly, too many connections
	statusUnauthorized  = websocket.StatusCode(4401)              // missing, invalid or expired token
	statusForbidden     = websocket.StatusCode(4403)              // the token does not grant this workspace
	statusDocTooLarge   = websocket.StatusCode(4413)              // an update would exceed Options.MaxDocumentSize
	statusUnsupported   = websocket.StatusUnsupportedData         // 1003: a text frame or an unknown message type
	statusMalformed     = websocket.StatusInvalidFramePayloadData // 1007: a message or update that does not decode
)

// maxReasonLen bounds close reasons (RFC 6455 allows 123 bytes).
const maxReasonLen = 120

// conn is one WebSocket connection of a room.
type conn struct {
	id      uint64
	srv     *Server
	ws      *websocket.Conn // handshake, reads, the close frame
	log     *slog.Logger
	ctx     context.Context // canceled when the handler ends
	tokenID string          // the id of the token the connection was opened with (revocation)
	send    chan *outMsg
	kickc   chan struct{} // closed by kick
	kickMu  sync.Mutex
	code    websocket.StatusCode // guarded by kickMu, set once by kick
	reason  string

	// nc is the hijacked connection: the server writes its frames to it
	// (frame.go). raw is its descriptor, for sendNow's non-blocking
	// writes; nil if it has none.
	nc  net.Conn
	raw syscall.RawConn
	// wmu is held while anything is written to nc: by the writer
	// goroutine, or by sendNow when the send queue is empty.
	wmu sync.Mutex
	// pending counts the messages put in send and not yet written: while
	// it is not zero, sendNow queues, so that messages keep their order.
	pending atomic.Int64
	// partial is the unwritten rest of a frame a non-blocking write began;
	// it is written before anything else. Guarded by wmu.
	partial []byte
	// closing is set, under wmu, once the close frame is about to be sent
	// or the connection failed: nothing more is written.
	closing bool

	// clients are the awareness client ids this connection controls;
	// guarded by room.mu.
	clients map[uint64]struct{}

	// writes counts the writer's blocking writes twice, before and after
	// each: odd while a write is in progress. watched is the value the
	// sweeper saw at its previous check (the sweeper's own).
	writes  atomic.Uint64
	watched uint64
	// pingOut is set (by the sweeper, its own) when it pings, and pongSeen
	// cleared; a pong sets pongSeen.
	pingOut  bool
	pongSeen atomic.Bool
}

// kicked reports whether the connection is being closed.
func (c *conn) kicked() bool {
	select {
	case <-c.kickc:
		return true
	default:
		return false
	}
}

// enqueue queues msg, a y-protocols message, without blocking; a full
// queue kicks the connection.
func (c *conn) enqueue(msg []byte) { c.enqueueMsg(&outMsg{frame: binaryFrame(msg)}) }

// enqueueMsg queues m without blocking; a full queue kicks the connection.
func (c *conn) enqueueMsg(m *outMsg) {
	c.pending.Add(1)
	select {
	case c.send <- m:
	default:
		c.pending.Add(-1)
		if c.kick(statusTryAgainLater, "send queue overflow: reading too slowly") {
			c.srv.overflows.Add(1)
		}
	}
}

// kick asks the writer to close the connection with code and reason. The
// first call wins and reports true.
func (c *conn) kick(code websocket.StatusCode, reason string) bool {
	if len(reason) > maxReasonLen {
		reason = strings.ToValidUTF8(reason[:maxReasonLen], "")
	}
	c.kickMu.Lock()
	defer c.kickMu.Unlock()
	if c.code != 0 {
		return false
	}
	c.code, c.reason = code, reason
	close(c.kickc)
	return true
}

func (s *Server) handleSync(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if name == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "missing workspace name: connect to /sync/<workspace>")
		return
	}
	claims, authErr := s.check(req, name, AccessRead)
	if authErr != nil && authErr.status != http.StatusUnauthorized && authErr.status != http.StatusForbidden {
		writeError(w, authErr.status, authErr.code, authErr.msg)
		return
	}
	var connErr error
	if authErr == nil {
		connErr = s.addConn(name)
		if connErr == nil {
			defer s.removeConn(name)
		}
	}
	var r *room
	if authErr == nil && connErr == nil {
		var err error
		r, err = s.acquire(req.Context(), name)
		if err != nil {
			s.engineError(w, name, err)
			return
		}
		defer s.release(r)
	}

	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: len(s.opts.OriginPatterns) == 0,
		OriginPatterns:     s.opts.OriginPatterns,
		CompressionMode:    websocket.CompressionDisabled, // frame.go writes plain frames
	}
	// Select the first subprotocol the client offers, if any: browsers
	// fail the handshake when none is selected.
	if p := firstSubprotocol(req); p != "" {
		opts.Subprotocols = []string{p}
	}
	// Pings and pongs are the server's to write (frame.go); the
	// connection is known once the handshake is done.
	var cref atomic.Pointer[conn]
	controlHandlers(opts, &cref)
	hr := &hijackRecorder{ResponseWriter: w}
	ws, err := websocket.Accept(hr, req, opts)
	if err != nil {
		s.log.Warn("websocket handshake failed", "workspace", name, "remote", req.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(s.opts.MaxMessageSize)
	// Refusals are close frames, so that y-websocket clients see a reason
	// (and, for 44xx codes, stop reconnecting); browsers cannot read the
	// status of a failed handshake.
	switch {
	case authErr != nil:
		s.metrics.authFailures.Add(1)
		code := statusUnauthorized
		if authErr.status == http.StatusForbidden {
			code = statusForbidden
		}
		s.log.Info("websocket refused", "workspace", name, "remote", req.RemoteAddr, "reason", authErr.msg)
		ws.Close(code, authErr.msg)
		return
	case errors.Is(connErr, errClosed):
		ws.Close(statusGoingAway, "server shutting down")
		return
	case connErr != nil:
		s.log.Warn("websocket refused", "workspace", name, "remote", req.RemoteAddr, "reason", connErr.Error())
		ws.Close(statusTryAgainLater, connErr.Error())
		return
	}
	readOnly := claims.Access < AccessWrite

	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		ws.Close(statusGoingAway, "server shutting down")
		return
	}
	s.mu.nextID++
	id := s.mu.nextID
	s.connWG.Add(1)
	s.mu.Unlock()
	defer s.connWG.Done()

	log := s.log.With("workspace", name, "conn", id, "remote", req.RemoteAddr)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c := &conn{
		id:      id,
		srv:     s,
		ws:      ws,
		log:     log,
		ctx:     ctx,
		send:    make(chan *outMsg, s.opts.SendQueue),
		kickc:   make(chan struct{}),
		clients: make(map[uint64]struct{}),
		tokenID: claims.ID,
		nc:      hr.conn,
	}
	if s.testHookWrite == nil { // a test's hook sees every write: none bypasses the writer
		c.raw = rawConn(hr.conn)
	}
	cref.Store(c)
	hr.guard.c.Store(c)
	// The token's expiry ends the connection, not only later handshakes.
	if !claims.Expires.IsZero() {
		expiry := time.AfterFunc(s.untilExpiry(claims), func() { c.kick(statusUnauthorized, "token expired") })
		defer expiry.Stop()
	}
	log.Info("connected", "subprotocol", ws.Subprotocol(), "read_only", readOnly)
	s.metrics.connections.Add(1)
	defer s.metrics.connections.Add(-1)

	// Register, then greet: SyncStep1 and the awareness states. Both are
	// queued under room.mu so no broadcast can slip in between.
	st := &wsStore{s: s, r: r, c: c, origin: fmt.Sprintf("ws:%d", id), readOnly: readOnly}
	step1 := ysync.Step1(st)
	if st.err != nil {
		log.Error("reading state vector", "err", st.err)
		ws.Close(websocket.StatusInternalError, "internal error")
		return
	}
	r.mu.Lock()
	r.mu.conns[c] = struct{}{}
	r.mu.list = nil
	c.enqueue(step1)
	if r.mu.aw.Len() > 0 {
		c.enqueue(ysync.AppendAwareness(nil, r.mu.aw.EncodeAll()))
	}
	r.mu.Unlock()

	// From here on the sweeper watches the connection's writes and pings
	// it, until the handler returns.
	s.mu.Lock()
	s.mu.live[c] = struct{}{}
	s.mu.Unlock()
	if s.opts.Auth != nil && s.opts.Auth.IsRevoked(c.tokenID) {
		c.kick(statusUnauthorized, "token revoked") // revoked since the handshake's check
	}
	defer func() {
		s.mu.Lock()
		delete(s.mu.live, c)
		s.mu.Unlock()
	}()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx, c)
	}()

	// Reads take a context without a Done channel, which costs
	// coder/websocket nothing per message (with one, every read registers
	// and removes a context.AfterFunc); the connection's context ending
	// closes the connection instead, which ends a read in progress.
	stopRead := context.AfterFunc(ctx, func() { ws.CloseNow() })
	defer stopRead()
	rctx := context.WithoutCancel(ctx)
	var scratch []byte
	for {
		var typ websocket.MessageType
		var data []byte
		var err error
		typ, data, scratch, err = readMessage(rctx, ws, scratch)
		if err != nil {
			if cs := websocket.CloseStatus(err); cs != -1 {
				log.Info("disconnected", "status", int(cs))
			} else if ctx.Err() == nil {
				log.Info("disconnected", "err", err)
			}
			break
		}
		s.metrics.wsBytesIn.Add(int64(len(data)))
		s.metrics.wsMessagesIn.Add(1)
		if typ != websocket.MessageBinary {
			s.metrics.rejected.Add(1)
			c.kick(statusUnsupported, "text frames are not supported: y-protocols messages are binary")
			break
		}
		s.handleMessage(r, c, st, data, log)
		if c.kicked() {
			break // read nothing more from a connection being closed
		}
	}

	// Tear down: leave the room, remove the connection's awareness states
	// and tell the others.
	r.mu.Lock()
	delete(r.mu.conns, c)
	r.mu.list = nil
	if len(c.clients) > 0 {
		ids := make([]uint64, 0, len(c.clients))
		for id := range c.clients {
			ids = append(ids, id)
		}
		ch := r.mu.aw.RemoveStates(ids, s.nowMillis())
		if !ch.Empty() {
			r.broadcastLocked(ysync.AppendAwareness(nil, r.mu.aw.Encode(ch.Clients())))
		}
	}
	r.mu.Unlock()
	// Let the writer send the close frame (with the kick's code and
	// reason, if the connection was kicked) before canceling the rest.
	c.kick(websocket.StatusNormalClosure, "")
	select {
	case <-writerDone:
	case <-s.ctx.Done():
		// Close gave up waiting (closeGrace), and the sweeper is gone:
		// cut off a writer stuck in a write.
		ws.CloseNow()
		<-writerDone
	}
	cancel()
	ws.CloseNow()
}

// readMessage reads the connection's next message through scratch, which
// it returns for the next call, and returns the message in a slice of its
// own, exactly as long: io.ReadAll (websocket.Conn.Read) would allocate at
// least 512 bytes for each of the small messages most updates are, and
// the engine keeps an update until it is durable.
func readMessage(ctx context.Context, ws *websocket.Conn, scratch []byte) (websocket.MessageType, []byte, []byte, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return 0, nil, scratch, err
	}
	if scratch == nil {
		scratch = make([]byte, 0, 512)
	}
	buf := scratch[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, scratch, err
		}
	}
	data := bytes.Clone(buf)
	if cap(buf) <= maxScratch {
		scratch = buf[:0]
	}
	return typ, data, scratch, nil
}

// maxScratch bounds the read buffer a connection keeps between messages.
const maxScratch = 16 << 10

// handleMessage answers one message. Bad input (a message or update that
// does not decode, an unknown message type) closes the connection with a
// reason, 1007 or 1003; nothing of it is applied. (The reference server
// logs such errors and keeps the connection.)
func (s *Server) handleMessage(r *room, c *conn, st *wsStore, data []byte, log *slog.Logger) {
	m, err := ysync.Decode(data)
	if err != nil {
		s.metrics.rejected.Add(1)
		log.Warn("malformed message", "err", err, "len", len(data))
		c.kick(statusMalformed, "malformed message: "+err.Error())
		return
	}
	switch m := m.(type) {
	case ysync.SyncStep1, ysync.SyncStep2, ysync.Update:
		st.err, st.missing = nil, nil
		var hopts *ysync.Options
		if st.readOnly {
			hopts = &ysync.Options{ReadOnly: true, DenyReason: "read-only token"}
		}
		replies, err := ysync.HandleMessage(st, m, st.origin, hopts)
		if errors.Is(st.err, errDocTooLarge) {
			c.kick(statusDocTooLarge, "document size limit reached")
			return
		}
		if st.err != nil {
			// The update was not applied: close, so that the client
			// reconnects and resyncs instead of diverging.
			log.Error("engine error", "msg", m, "err", st.err)
			c.kick(websocket.StatusInternalError, "internal error")
			return
		}
		if err != nil {
			s.metrics.rejected.Add(1)
			log.Warn("sync message rejected", "msg", m, "err", err)
			c.kick(statusMalformed, "update rejected: "+err.Error())
			return
		}
		if st.missing != nil {
			// Nothing was stored. Ask the client for everything we lack:
			// a y-protocols peer answers SyncStep1 with a SyncStep2 that
			// holds the missing changes too (the usual case: edits sent
			// while the handshake's SyncStep2 is still on its way).
			s.metrics.missingDeps.Add(1)
			log.Info("update refused: missing dependencies; requesting them", "err", st.missing)
			c.sendFrame(binaryFrame(ysync.AppendSyncStep1(nil, st.StateVector())))
		}
		if st.readOnly && len(replies) > 0 {
			if _, ok := m.(ysync.SyncStep1); !ok {
				s.metrics.rejected.Add(1)
			}
		}
		for _, rep := range replies {
			if len(rep) > 0 {
				c.sendFrame(binaryFrame(rep))
			}
		}
	case ysync.AwarenessUpdate:
		r.mu.Lock()
		defer r.mu.Unlock()
		ch, err := r.mu.aw.Apply(m.Update, s.nowMillis())
		if err != nil {
			s.metrics.rejected.Add(1)
			log.Warn("malformed awareness update", "err", err)
			c.kick(statusMalformed, "malformed awareness update: "+err.Error())
			return
		}
		for _, id := range ch.Added {
			c.clients[id] = struct{}{}
		}
		for _, id := range ch.Removed {
			delete(c.clients, id)
		}
		if !ch.Empty() {
			r.broadcastLocked(ysync.AppendAwareness(nil, r.mu.aw.Encode(ch.Clients())))
		}
	case ysync.QueryAwareness:
		// The reference server ignores it; we answer like a y-websocket
		// client does, with every awareness state.
		r.mu.Lock()
		if r.mu.aw.Len() > 0 {
			c.enqueue(ysync.AppendAwareness(nil, r.mu.aw.EncodeAll()))
		}
		r.mu.Unlock()
	case ysync.Unknown:
		s.metrics.rejected.Add(1)
		log.Warn("unknown message type", "type", m.Type)
		c.kick(statusUnsupported, fmt.Sprintf("unknown message type %d", m.Type))
	default:
		// Auth messages are ignored, as the reference server ignores them
		// (clients never send them).
	}
}

// awarenessJanitor removes awareness states not renewed for
// ysync.OutdatedTimeout and broadcasts their removal.
func (s *Server) awarenessJanitor() {
	defer s.wg.Done()
	t := time.NewTicker(awarenessCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		rooms := make([]*room, 0, len(s.mu.rooms))
		for _, r := range s.mu.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
		now := s.nowMillis()
		for _, r := range rooms {
			r.mu.Lock()
			if old := r.mu.aw.Outdated(now, ysync.OutdatedTimeout); len(old) > 0 {
				ch := r.mu.aw.RemoveStates(old, now)
				for c := range r.mu.conns {
					for _, id := range ch.Removed {
						delete(c.clients, id)
					}
				}
				if !ch.Empty() {
					r.broadcastLocked(ysync.AppendAwareness(nil, r.mu.aw.Encode(ch.Clients())))
				}
			}
			r.mu.Unlock()
		}
	}
}

// firstSubprotocol returns the first subprotocol the client offers in
// Sec-WebSocket-Protocol, or "".
func firstSubprotocol(req *http.Request) string {
	for _, h := range req.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				return p
			}
		}
	}
	return ""
}
