package jetstream

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"octobase/oplog"
	"octobase/oplog/vfs"
)

// stateFile is the name of the positions file inside Options.StateDir.
const stateFile = "state.json"

// persisted is the content of the state file. Positions only move
// forward, and a persisted position is never ahead of what it claims:
// Published[ws] is an LSN whose record (and every earlier one) JetStream
// acknowledged; Consumed is a stream sequence whose message (and every
// earlier one) is applied and durable in the local op-log.
type persisted struct {
	// Node is this node's incarnation id: random, created with the state
	// file. Message ids start with it, and the consumer skips messages
	// that carry it. A wiped data directory gets a new one, so the node's
	// old messages are applied again and its new LSNs never collide with
	// old message ids.
	Node string `json:"node"`
	// Stream identifies the stream the positions refer to (its creation
	// time); when the stream was recreated, Consumed restarts at 0.
	Stream string `json:"stream,omitempty"`
	// Consumed is the last stream sequence applied.
	Consumed uint64 `json:"consumed"`
	// Published maps a workspace name to the last LSN published.
	Published map[string]oplog.LSN `json:"published"`
	// Epochs counts, per workspace, the times its op-log was found behind
	// its published position (restored or recreated): message ids carry
	// the epoch, so the new records are not dropped as duplicates of the
	// old ones.
	Epochs map[string]uint32 `json:"epochs,omitempty"`
}

// state holds the positions in memory and writes them to dir.
type state struct {
	path string

	mu struct {
		sync.Mutex
		p     persisted
		dirty bool
	}
	flushMu sync.Mutex // serializes writers of the file
}

// loadState reads dir/state.json, creating it (with a new node id) if it
// does not exist. A damaged file is an error, never silently reset: it
// would republish or re-apply everything, which is safe but should be a
// decision.
func loadState(dir string) (*state, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jetstream: state dir: %w", err)
	}
	s := &state{path: filepath.Join(dir, stateFile)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		var id [6]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, err
		}
		s.mu.p = persisted{Node: hex.EncodeToString(id[:]), Published: map[string]oplog.LSN{}}
		if err := s.flush(true); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("jetstream: read state: %w", err)
	}
	if err := json.Unmarshal(b, &s.mu.p); err != nil {
		return nil, fmt.Errorf("jetstream: damaged state file %s: %w", s.path, err)
	}
	if s.mu.p.Node == "" {
		return nil, fmt.Errorf("jetstream: damaged state file %s: no node id", s.path)
	}
	if s.mu.p.Published == nil {
		s.mu.p.Published = map[string]oplog.LSN{}
	}
	return s, nil
}

func (s *state) node() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.p.Node
}

func (s *state) published(ws string) oplog.LSN {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.p.Published[ws]
}

func (s *state) epoch(ws string) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.p.Epochs[ws]
}

// restart sets ws's position to 0 in a new epoch.
func (s *state) restart(ws string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.p.Epochs == nil {
		s.mu.p.Epochs = map[string]uint32{}
	}
	s.mu.p.Epochs[ws]++
	s.mu.p.Published[ws] = 0
	s.mu.dirty = true
}

func (s *state) setPublished(ws string, lsn oplog.LSN) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lsn != s.mu.p.Published[ws] {
		s.mu.p.Published[ws] = lsn
		s.mu.dirty = true
	}
}

func (s *state) consumed() (stream string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.p.Stream, s.mu.p.Consumed
}

func (s *state) setConsumed(stream string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stream != s.mu.p.Stream || seq != s.mu.p.Consumed {
		s.mu.p.Stream, s.mu.p.Consumed = stream, seq
		s.mu.dirty = true
	}
}

// flush writes the state if it changed since the last write (always with
// force): a temporary file, fsynced, renamed over the old one, and the
// directory fsynced, so a crash leaves the old or the new file.
func (s *state) flush(force bool) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if !s.mu.dirty && !force {
		s.mu.Unlock()
		return nil
	}
	p := s.mu.p
	p.Published = maps.Clone(p.Published)
	p.Epochs = maps.Clone(p.Epochs)
	s.mu.dirty = false
	s.mu.Unlock()

	err := writeFileAtomic(s.path, p)
	if err != nil {
		s.mu.Lock()
		s.mu.dirty = true
		s.mu.Unlock()
	}
	return err
}

// writeFileAtomic writes v as indented JSON to path, durably
// (vfs.WriteFileAtomic: a temporary file, fsync, rename, directory fsync).
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	err = vfs.WriteFileAtomic(vfs.Default, path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}, true)
	if err != nil {
		return fmt.Errorf("jetstream: write state: %w", err)
	}
	return nil
}
