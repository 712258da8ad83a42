package peer

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/replication/ysync"
)

// Options configure a session. A nil *Options is the zero value.
type Options struct {
	// Name is this node's name, sent in the hello. The peer tags the
	// updates it applies from this session with the origin "peer:<Name>"
	// and never sends updates with that origin back, so the names of a
	// node's peers must differ. Empty means a random name ("peer-" and 8
	// hex digits), different for every Sync call.
	Name string
	// Workspaces are the workspaces to sync. Nil (or empty) means every
	// workspace of the store, plus any the peer names (created here if
	// missing); a non-empty list means exactly these (those the peer
	// names besides are not synced), as long as the peer accepts them.
	Workspaces []string
	// Follow keeps the session open after the initial sync, streaming live
	// updates both ways, until the context ends or the stream breaks. It
	// takes effect only if the peer follows too; otherwise the session ends
	// once both sides are in sync (one-shot). SyncRaw always follows.
	Follow bool
	// MaxFrameSize is the largest frame accepted from the peer, in bytes;
	// a larger length prefix ends the session with ErrFrameTooLarge before
	// anything is allocated for it. Zero means DefaultMaxFrameSize.
	MaxFrameSize int
	// Logger receives session events at debug and info level. Nil
	// discards them.
	Logger *slog.Logger
	// OnSynced, if set, is called once when the initial sync completed:
	// both sides applied what the other had when the session started.
	// It runs on the session's reader goroutine: it must not block.
	OnSynced func(Stats)
}

// Stats describe a session.
type Stats struct {
	// Remote is the name the peer gave in its hello ("" in raw mode).
	Remote string
	// Workspaces are the workspaces the session syncs, sorted.
	Workspaces []string
	// BytesIn and BytesOut count the bytes read from and written to the
	// stream, framing included.
	BytesIn, BytesOut int64
	// UpdatesIn and UpdatesOut count the updates received and sent: each
	// SyncStep2 and each live update.
	UpdatesIn, UpdatesOut int64
	// Synced reports whether the initial sync completed.
	Synced bool
}

// Sync runs one session with the peer at the other end of rw: the
// handshake, the state vector exchange for every workspace both sides agree
// on, then (with Options.Follow on both sides) live updates both ways. It
// closes rw before returning.
//
// It returns nil when the session ended cleanly: one-shot, once both sides
// are in sync; following, when the peer closed the stream after the initial
// sync. It returns ctx's error if ctx ended the session, an error wrapping
// io.ErrUnexpectedEOF if the stream ended before the initial sync completed,
// ErrVersion, ErrProtocol (bad input from the peer: the session ends and
// nothing from the offending frame is stored), *RemoteError, or the engine's
// or the stream's error. Whatever was applied before an error is durable and
// correct (every update is a CRDT update); a new session resumes from there.
func Sync(ctx context.Context, store *engine.Store, rw io.ReadWriteCloser, opts *Options) (Stats, error) {
	s := newSession(store, rw, opts)
	err := s.run(ctx)
	return s.stats(), err
}

// SyncRaw syncs one workspace with a plain y-protocols peer (yjs with
// y-protocols/sync, yrs, ...) at the other end of rw, in raw mode: each
// y-protocols message is prefixed with its length as a lib0 varUint, with
// no hello, no workspace name and no done frame (see the package doc).
// It sends SyncStep1, answers the peer's SyncStep1 with a SyncStep2, applies
// the peer's SyncStep2 and updates (origin "peer:raw:<Options.Name or a
// random name>"), and streams the workspace's own changes as updates until
// ctx ends or the peer closes the stream. Awareness and other messages are
// ignored. Options.Workspaces and Options.Follow do not apply.
func SyncRaw(ctx context.Context, ws *engine.Workspace, rw io.ReadWriteCloser, opts *Options) (Stats, error) {
	s := newSession(nil, rw, opts)
	s.raw = true
	s.mu.workspaces = []string{ws.Name()}
	s.wss = map[string]*wsState{ws.Name(): {ws: ws}}
	s.origin = "peer:raw:" + s.opts.Name
	s.live = true
	err := s.run(ctx)
	return s.stats(), err
}

// wsState is one workspace of a session.
type wsState struct {
	ws       *engine.Workspace
	gotStep2 bool
	sub      *engine.Subscription
	// peerDigest is the digest of the peer's delete set, if it sent one
	// (before its SyncStep1): what the SyncStep2 answering it may leave out.
	peerDigest digest
}

type session struct {
	store *engine.Store
	rw    io.ReadWriteCloser
	opts  Options
	log   *slog.Logger
	raw   bool
	max   int

	br *bufio.Reader
	q  *queue

	// Set up by the handshake, then read-only.
	remote hello
	origin string // the origin of updates applied from this session
	live   bool   // both sides follow
	wss    map[string]*wsState

	// Reader goroutine only.
	pending            int // workspaces whose SyncStep2 has not arrived
	myDone, peerDone   bool
	synced             bool
	bytesIn, bytesOut  atomic.Int64
	updatesIn, updsOut atomic.Int64

	mu struct {
		sync.Mutex
		workspaces []string
		failErr    error // the first error of a writer or forwarder
		synced     bool
	}
	wg sync.WaitGroup // writer and forwarders
}

func newSession(store *engine.Store, rw io.ReadWriteCloser, opts *Options) *session {
	s := &session{store: store, rw: rw}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Name == "" {
		var b [4]byte
		rand.Read(b[:])
		s.opts.Name = "peer-" + hex.EncodeToString(b[:])
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.max = s.opts.MaxFrameSize
	if s.max <= 0 {
		s.max = DefaultMaxFrameSize
	}
	s.br = bufio.NewReaderSize(countingReader{rw, &s.bytesIn}, 64<<10)
	// Live updates wait once 1 MiB is queued; replies may take up to
	// four maximal frames before the peer is deemed not to read.
	s.q = newQueue(1<<20, 4*s.max+1<<20)
	return s
}

func (s *session) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Remote:     s.remote.Name,
		Workspaces: slices.Clone(s.mu.workspaces),
		BytesIn:    s.bytesIn.Load(),
		BytesOut:   s.bytesOut.Load(),
		UpdatesIn:  s.updatesIn.Load(),
		UpdatesOut: s.updsOut.Load(),
		Synced:     s.mu.synced,
	}
}

// fail records the first error of a goroutine other than the reader and
// closes the stream, which ends the reader.
func (s *session) fail(err error) {
	s.mu.Lock()
	first := s.mu.failErr == nil
	if first {
		s.mu.failErr = err
	}
	s.mu.Unlock()
	if first {
		s.rw.Close()
	}
}

func (s *session) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.failErr
}

// errFinished ends the reader loop of a one-shot session that completed.
var errFinished = errors.New("peer: finished")

func (s *session) run(ctx context.Context) (err error) {
	// Closing the stream is the only way to interrupt a blocked Read.
	stop := context.AfterFunc(ctx, func() { s.rw.Close() })
	defer stop()
	sctx, cancel := context.WithCancel(ctx)

	s.wg.Add(1)
	writerDone := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(writerDone)
		s.writeLoop()
	}()

	err = s.session(sctx)
	finished := errors.Is(err, errFinished)
	if finished {
		err = nil
	}
	if ferr := s.failed(); ferr != nil && err != nil {
		err = ferr // the root cause: the reader only saw the stream close
	}
	if ctx.Err() != nil && err != nil {
		err = ctx.Err()
	}

	// Tell the peer why we end, unless it ended the session or the stream
	// is gone.
	var final []byte
	var re *RemoteError
	if err != nil && ctx.Err() == nil && !errors.As(err, &re) && !isIOError(err) {
		final = appendFrame(nil, appendError(nil, err.Error()))
	}
	s.q.close(final)
	switch {
	case finished:
		// A one-shot session that completed: everything queued (our
		// done frame) must reach the peer, which reads until it has it.
		// ctx still bounds the wait (it closes the stream).
		<-writerDone
	case final != nil:
		// An error the peer should hear about; it may not be reading.
		select {
		case <-writerDone:
		case <-time.After(2 * time.Second):
		}
	}
	// Otherwise the stream is gone or the peer left: nothing to flush.
	s.rw.Close()
	cancel()
	for _, w := range s.wss {
		if w.sub != nil {
			w.sub.Close()
		}
	}
	s.wg.Wait()
	if err != nil {
		s.log.Info("session ended", "remote", s.remote.Name, "err", err)
	} else {
		s.log.Debug("session ended", "remote", s.remote.Name)
	}
	return err
}

// isIOError reports whether err comes from the stream rather than from what
// the peer said.
func isIOError(err error) bool {
	return !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrVersion) && !errors.Is(err, errLocal)
}

// errLocal marks errors of this side (engine failures) that the peer should
// hear about.
var errLocal = errors.New("peer: local error")

func (s *session) writeLoop() {
	bw := bufio.NewWriterSize(countingWriter{s.rw, &s.bytesOut}, 64<<10)
	for {
		frames, ok := s.q.pop()
		if !ok {
			return
		}
		for _, f := range frames {
			if _, err := bw.Write(f); err != nil {
				s.fail(fmt.Errorf("peer: write: %w", err))
				return
			}
		}
		if err := bw.Flush(); err != nil {
			s.fail(fmt.Errorf("peer: write: %w", err))
			return
		}
	}
}

// send queues a frame body; wait applies backpressure (live updates only).
func (s *session) send(body []byte, wait bool) error {
	return s.q.push(appendFrame(make([]byte, 0, len(body)+5), body), wait)
}

// sendMsg queues a y-protocols message for workspace name.
func (s *session) sendMsg(name string, msg []byte, wait bool) error {
	if s.raw {
		return s.send(msg, wait)
	}
	return s.send(appendMsg(make([]byte, 0, len(name)+len(msg)+3), name, msg), wait)
}

// session is the reader side: handshake, initial sync, live updates.
func (s *session) session(ctx context.Context) error {
	if !s.raw {
		if err := s.handshake(ctx); err != nil {
			return err
		}
	}
	names := s.sessionWorkspaces()
	s.pending = len(names)
	if s.live {
		// Subscribe before the state vectors are exchanged: whatever is
		// logged from now on is streamed, whatever was logged before is
		// in the SyncStep2 this side sends. Overlap is harmless (a
		// duplicate update changes nothing and is not logged).
		for _, name := range names {
			w := s.wss[name]
			sub, err := w.ws.Subscribe(ctx, 0)
			if err != nil {
				return fmt.Errorf("%w: workspace %q: subscribe: %w", errLocal, name, err)
			}
			w.sub = sub
			s.wg.Add(1)
			go s.forward(ctx, name, sub)
		}
	}
	for _, name := range names {
		if !s.raw {
			d, err := ownDigest(ctx, s.wss[name].ws)
			if err != nil {
				return fmt.Errorf("%w: workspace %q: delete set digest: %w", errLocal, name, err)
			}
			if len(d) > 0 {
				if err := s.send(appendDigestFrame(nil, name, d), false); err != nil {
					return err
				}
			}
		}
		sv, err := s.wss[name].ws.StateVector(ctx)
		if err != nil {
			return fmt.Errorf("%w: workspace %q: state vector: %w", errLocal, name, err)
		}
		msg := append([]byte{ysync.MsgSync, ysync.MsgSyncStep1}, appendVarBytes(sv)...)
		if err := s.sendMsg(name, msg, false); err != nil {
			return err
		}
	}
	if err := s.maybeDone(); err != nil {
		return err
	}
	for {
		body, err := readFrame(s.br, s.max)
		if err != nil {
			return s.readError(err)
		}
		if err := s.handleFrame(ctx, body); err != nil {
			return err
		}
	}
}

func (s *session) sessionWorkspaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mu.workspaces)
}

func appendVarBytes(b []byte) []byte {
	out := make([]byte, 0, len(b)+5)
	out = appendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// readError turns the error that stopped reading into the session's result.
func (s *session) readError(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	if ferr := s.failed(); ferr != nil {
		return ferr
	}
	if s.synced {
		// After the initial sync the peer may leave whenever it likes.
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("peer: the stream ended before the initial sync completed: %w", err)
}

// handshake exchanges hellos and opens the workspaces both sides agreed on.
func (s *session) handshake(ctx context.Context) error {
	mine := s.opts.Workspaces
	only := len(mine) > 0
	if !only {
		all, err := s.store.Workspaces()
		if err != nil {
			return fmt.Errorf("%w: listing workspaces: %w", errLocal, err)
		}
		mine = all
	}
	if err := s.send(appendHello(nil, hello{
		Version: Version, Name: s.opts.Name, Follow: s.opts.Follow, Only: only, Workspaces: mine,
	}), false); err != nil {
		return err
	}
	body, err := readFrame(s.br, s.max)
	if err != nil {
		if errors.Is(err, ErrProtocol) {
			return err
		}
		return fmt.Errorf("peer: handshake: %w", unexpected(err))
	}
	f, err := decodeFrame(body)
	if err != nil {
		return err
	}
	switch f.Kind {
	case frameHello:
	case frameError:
		return &RemoteError{f.Reason}
	default:
		return protoErr("the first frame is of kind %d, not a hello", f.Kind)
	}
	h := f.Hello
	if len(h.Name) > 200 {
		return protoErr("hello: the peer's name is %d bytes long", len(h.Name))
	}
	s.remote = h
	s.origin = "peer:" + h.Name
	s.live = s.opts.Follow && h.Follow
	names := agree(mine, h.Workspaces, only, h.Only)
	s.wss = make(map[string]*wsState, len(names))
	for _, name := range names {
		ws, err := s.store.Workspace(ctx, name)
		if errors.Is(err, engine.ErrInvalidName) {
			return protoErr("hello: %v", err)
		}
		if err != nil {
			return fmt.Errorf("%w: opening workspace %q: %w", errLocal, name, err)
		}
		s.wss[name] = &wsState{ws: ws}
	}
	s.mu.Lock()
	s.mu.workspaces = names
	s.mu.Unlock()
	s.log.Debug("handshake", "remote", h.Name, "workspaces", names, "follow", s.live)
	return nil
}

// agree returns the workspaces a session syncs, sorted: those either side
// names, minus those a side that syncs only its own list did not name.
// Both sides compute the same set from the two hellos.
func agree(mine, theirs []string, myOnly, theirOnly bool) []string {
	m := make(map[string]bool, len(mine))
	for _, n := range mine {
		m[n] = true
	}
	t := make(map[string]bool, len(theirs))
	for _, n := range theirs {
		t[n] = true
	}
	var out []string
	for _, list := range [][]string{mine, theirs} {
		for _, n := range list {
			if (m[n] || !myOnly) && (t[n] || !theirOnly) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s *session) handleFrame(ctx context.Context, body []byte) error {
	if s.raw {
		return s.handleMsg(ctx, s.mu.workspaces[0], body)
	}
	f, err := decodeFrame(body)
	if err != nil {
		return err
	}
	switch f.Kind {
	case frameMsg:
		return s.handleMsg(ctx, f.Workspace, f.Msg)
	case frameDigest:
		w := s.wss[f.Workspace]
		if w == nil {
			return protoErr("digest for workspace %q, which is not in the session", f.Workspace)
		}
		d, err := decodeDigest(f.Msg)
		if err != nil {
			return err
		}
		w.peerDigest = d
		return nil
	case frameDone:
		if s.peerDone {
			return protoErr("a second done frame")
		}
		s.peerDone = true
		return s.checkSynced()
	case frameError:
		return &RemoteError{f.Reason}
	default:
		return protoErr("unexpected frame of kind %d after the handshake", f.Kind)
	}
}

func (s *session) handleMsg(ctx context.Context, name string, msg []byte) error {
	w := s.wss[name]
	if w == nil {
		return protoErr("message for workspace %q, which is not in the session", name)
	}
	m, err := ysync.Decode(msg)
	if err != nil {
		return fmt.Errorf("%w: workspace %q: %w", ErrProtocol, name, err)
	}
	switch m := m.(type) {
	case ysync.SyncStep1:
		update, err := w.ws.EncodeStateAsUpdate(ctx, crdt.EncodeStateVector(m.SV))
		if err != nil {
			return fmt.Errorf("%w: workspace %q: encoding state: %w", errLocal, name, err)
		}
		if len(w.peerDigest) > 0 {
			// Leave out the deletions the peer has (digest.go).
			sv, err := w.ws.StateVector(ctx)
			if err != nil {
				return fmt.Errorf("%w: workspace %q: state vector: %w", errLocal, name, err)
			}
			update = trimStep2(update, sv, w.peerDigest)
		}
		s.updsOut.Add(1)
		return s.sendMsg(name, ysync.AppendSyncStep2(nil, update), false)
	case ysync.SyncStep2:
		if err := s.apply(ctx, name, w, m.Update); err != nil {
			return err
		}
		if !w.gotStep2 {
			w.gotStep2 = true
			s.pending--
			return s.maybeDone()
		}
		return nil
	case ysync.Update:
		return s.apply(ctx, name, w, m.Update)
	default:
		// Awareness, auth and unknown messages carry no document state.
		s.log.Debug("ignoring message", "workspace", name, "msg", m)
		return nil
	}
}

func (s *session) apply(ctx context.Context, name string, w *wsState, update []byte) error {
	s.updatesIn.Add(1)
	if isEmptyUpdate(update) {
		return nil
	}
	if _, err := w.ws.Apply(ctx, update, originFor(s.origin)); err != nil {
		if errors.Is(err, crdt.ErrMalformed) || errors.Is(err, crdt.ErrUnsupported) {
			return fmt.Errorf("%w: workspace %q: the peer sent an update the CRDT rejects: %w", ErrProtocol, name, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: workspace %q: apply: %w", errLocal, name, err)
	}
	return nil
}

// isEmptyUpdate reports whether update is the empty v1 update (00 00), what
// a peer that has nothing new sends as its SyncStep2.
func isEmptyUpdate(u []byte) bool { return len(u) == 2 && u[0] == 0 && u[1] == 0 }

// originFor keeps an origin within the op-log's limit.
func originFor(o string) string {
	if len(o) > oplog.MaxOriginLen {
		return o[:oplog.MaxOriginLen]
	}
	return o
}

// maybeDone sends the done frame once every SyncStep2 has arrived (raw
// mode: reports the sync).
func (s *session) maybeDone() error {
	if s.myDone || s.pending > 0 {
		return nil
	}
	s.myDone = true
	if s.raw {
		s.peerDone = true
		return s.checkSynced()
	}
	if err := s.send(appendDone(nil), false); err != nil {
		return err
	}
	return s.checkSynced()
}

func (s *session) checkSynced() error {
	if s.synced || !s.myDone || !s.peerDone {
		return nil
	}
	s.synced = true
	s.mu.Lock()
	s.mu.synced = true
	s.mu.Unlock()
	st := s.stats()
	s.log.Info("in sync", "remote", s.remote.Name, "workspaces", len(st.Workspaces), "bytes_in", st.BytesIn, "bytes_out", st.BytesOut)
	if s.opts.OnSynced != nil {
		s.opts.OnSynced(st)
	}
	if !s.live {
		return errFinished
	}
	return nil
}

// forward streams the workspace's changes to the peer, except those that
// came from the peer.
func (s *session) forward(ctx context.Context, name string, sub *engine.Subscription) {
	defer s.wg.Done()
	for ch := range sub.C {
		if ch.Origin == originFor(s.origin) {
			continue
		}
		if err := s.sendMsg(name, ysync.AppendUpdate(nil, ch.Update), true); err != nil {
			return
		}
		s.updsOut.Add(1)
	}
	if err := sub.Err(); err != nil && ctx.Err() == nil {
		s.fail(fmt.Errorf("%w: workspace %q: change stream: %w", errLocal, name, err))
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
