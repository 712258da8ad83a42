package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"octobase/engine"
)

// errDocTooLarge is returned by Server.apply for an update that would grow
// a workspace beyond Options.MaxDocumentSize.
var errDocTooLarge = errors.New("server: document size limit reached")

// docSize is the document size estimate of one workspace: the length of
// its encoded state (a v1 update) when the server first applied an update
// to it, plus the length of every update the server applied since. It
// over-counts (duplicates, deletions and pending structs count in full) and
// misses what other paths (replication) apply, but it costs one addition
// per update and refuses a client that keeps pushing data.
type docSize struct {
	max int64 // negative: no limit
	mu  sync.Mutex
	n   int64
}

func (d *docSize) reserve(n int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.max >= 0 && d.n+n > d.max {
		return fmt.Errorf("%w: the workspace holds about %d bytes, the update has %d, the limit is %d", errDocTooLarge, d.n, n, d.max)
	}
	d.n += n
	return nil
}

func (d *docSize) unreserve(n int64) {
	d.mu.Lock()
	d.n -= n
	d.mu.Unlock()
}

func (d *docSize) load() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// docSizeOf returns the size estimate of ws, encoding its state once to
// start it.
func (s *Server) docSizeOf(ctx context.Context, ws *engine.Workspace) (*docSize, error) {
	name := ws.Name()
	s.mu.Lock()
	d := s.mu.docSize[name]
	s.mu.Unlock()
	if d != nil {
		return d, nil
	}
	var n int64
	if s.opts.MaxDocumentSize >= 0 {
		u, err := ws.EncodeStateAsUpdate(ctx, nil)
		if err != nil {
			return nil, err
		}
		n = int64(len(u))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.mu.docSize[name]; d != nil {
		return d, nil
	}
	d = &docSize{max: s.opts.MaxDocumentSize, n: n}
	s.mu.docSize[name] = d
	return d, nil
}

// errTooManyConns is returned by addConn when a connection limit is
// reached; perWorkspace says which.
type errTooManyConns struct{ perWorkspace bool }

func (e *errTooManyConns) Error() string {
	if e.perWorkspace {
		return "too many connections to this workspace"
	}
	return "too many connections to this node"
}

// addConn counts a WebSocket connection or SSE stream of workspace name,
// or returns *errTooManyConns (or errClosed). Undo with removeConn.
func (s *Server) addConn(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return errClosed
	}
	if max := s.opts.MaxConnections; max > 0 && s.mu.conns >= max {
		s.metrics.connRefused.Add(1)
		return &errTooManyConns{}
	}
	if max := s.opts.MaxConnectionsPerWorkspace; max > 0 && s.mu.wsConns[name] >= max {
		s.metrics.connRefused.Add(1)
		return &errTooManyConns{perWorkspace: true}
	}
	s.mu.conns++
	s.mu.wsConns[name]++
	return nil
}

func (s *Server) removeConn(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.conns--
	if s.mu.wsConns[name]--; s.mu.wsConns[name] <= 0 {
		delete(s.mu.wsConns, name)
	}
}
