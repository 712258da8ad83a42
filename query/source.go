package query

import (
	"context"
	"sort"
	"sync"
	"time"

	"octobase/engine"
	"octobase/index"
	"octobase/oplog"
)

// Block is what the executor reads of one block: the fields OQL names,
// plus the ids the block links to (for LINKS TO and LINKED FROM).
type Block struct {
	ID      string
	Type    string // sys:flavour
	Creator string
	Parent  string // "" for a root block
	Created int64  // ms since the Unix epoch
	Updated int64  // ms since the Unix epoch
	// Props are the prop:<name> values as engine.BlockView holds them: JSON
	// values (nil, bool, float64, string, []any, map[string]any) or
	// engine.RichText. The executor never modifies them.
	Props map[string]any
	// Links are the ids the block references, in any order.
	Links []string
}

// Source is the read view a statement runs over: one consistent state of
// one workspace's blocks. It is defined here, by its consumer, so the
// executor does not depend on engine internals (FromView adapts an
// engine.ReadView; NewMemSource serves tests and tools).
type Source interface {
	// Blocks returns every live block, in any order. The slice is the
	// caller's; the Props maps are shared and read-only.
	Blocks() []Block
	// Block returns the live block id.
	Block(id string) (Block, bool)
	// Index returns roaring-bitmap postings over exactly the blocks of
	// Blocks, or nil when there are none; then every predicate is a filter
	// over a scan.
	Index() *index.Snapshot
}

// HistorySource is a Source that can also read an earlier state, for
// SELECT ... AS OF lsn.
type HistorySource interface {
	Source
	AsOf(ctx context.Context, lsn uint64) (Source, error)
}

// TimeHistorySource is a HistorySource that can also find the state as of
// a point in time, for SELECT ... AS OF 'time'.
type TimeHistorySource interface {
	HistorySource
	// AsOfTime returns the last state at or before t (the empty state if
	// nothing was logged by then).
	AsOfTime(ctx context.Context, t time.Time) (Source, error)
}

// MemSource is a Source over blocks held in memory. Its index is built on
// first use from the blocks (index.BlockChange per block). It is safe for
// concurrent use.
type MemSource struct {
	blocks []Block
	byID   map[string]int
	noIdx  bool

	once   sync.Once
	snap   *index.Snapshot
	preset bool // snap was given (FromView): never build one
	err    error
}

var _ Source = (*MemSource)(nil)

// NewMemSource returns a Source over blocks (sorted by id; a later block
// with the same id replaces an earlier one). blocks is retained.
func NewMemSource(blocks []Block) *MemSource {
	s := &MemSource{byID: make(map[string]int, len(blocks))}
	for _, b := range blocks {
		if i, ok := s.byID[b.ID]; ok {
			s.blocks[i] = b
			continue
		}
		s.byID[b.ID] = len(s.blocks)
		s.blocks = append(s.blocks, b)
	}
	sort.Slice(s.blocks, func(i, j int) bool { return s.blocks[i].ID < s.blocks[j].ID })
	for i, b := range s.blocks {
		s.byID[b.ID] = i
	}
	return s
}

// WithoutIndex returns a Source over the same blocks whose Index is nil:
// every statement is evaluated by scanning (the reference evaluation).
func (s *MemSource) WithoutIndex() *MemSource {
	return &MemSource{blocks: s.blocks, byID: s.byID, noIdx: true}
}

// Blocks implements Source.
func (s *MemSource) Blocks() []Block { return append([]Block(nil), s.blocks...) }

// Block implements Source.
func (s *MemSource) Block(id string) (Block, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Block{}, false
	}
	return s.blocks[i], true
}

// Index implements Source: it builds the index on first use. A block with
// an empty id (which the index refuses) makes Index return nil, so the
// statement is answered by a scan.
func (s *MemSource) Index() *index.Snapshot {
	if s.noIdx {
		return nil
	}
	if s.preset {
		return s.snap
	}
	s.once.Do(func() {
		ix := index.New()
		changes := make([]index.BlockChange, 0, len(s.blocks))
		for _, b := range s.blocks {
			changes = append(changes, index.BlockChange{
				ID: b.ID, Flavour: b.Type, Creator: b.Creator, Parent: b.Parent,
				Links: b.Links, Created: b.Created, Updated: b.Updated,
			})
		}
		if s.err = ix.Apply(changes); s.err == nil {
			s.snap = ix.Snapshot()
		}
	})
	return s.snap
}

// FromView copies the blocks of an engine read view into a MemSource (the
// view of Workspace.View is valid only inside its callback; the copy is
// not). Prop values are shared with the view, which never modifies them.
// Its index is the one the engine maintains for the view (ReadView.Index,
// an immutable snapshot at the view's LSN): nothing is rebuilt.
func FromView(v *engine.ReadView) *MemSource {
	ids := v.IDs()
	blocks := make([]Block, 0, len(ids))
	for _, id := range ids {
		if b, ok := blockOf(v, id); ok {
			blocks = append(blocks, b)
		}
	}
	m := NewMemSource(blocks)
	m.snap, m.preset = v.Index(), true
	return m
}

// ViewSource is a Source that reads an engine read view in place, without
// copying it: blocks are converted when the executor reads them, and the
// index is the engine's (ReadView.Index). It is valid as long as the view
// is: forever for a view from Workspace.ReadAt, only inside the callback
// for the live view of Workspace.View (run the statement there).
type ViewSource struct {
	v *engine.ReadView
}

var _ Source = ViewSource{}

// NewViewSource returns a Source over v.
func NewViewSource(v *engine.ReadView) ViewSource { return ViewSource{v: v} }

// Blocks implements Source.
func (s ViewSource) Blocks() []Block {
	ids := s.v.IDs()
	out := make([]Block, 0, len(ids))
	for _, id := range ids {
		if b, ok := blockOf(s.v, id); ok {
			out = append(out, b)
		}
	}
	return out
}

// Block implements Source.
func (s ViewSource) Block(id string) (Block, bool) { return blockOf(s.v, engine.BlockID(id)) }

// Index implements Source.
func (s ViewSource) Index() *index.Snapshot { return s.v.Index() }

// WorkspaceSource is a HistorySource over an engine workspace: the current
// state copied from Workspace.View, and earlier ones from Workspace.ReadAt.
type WorkspaceSource struct {
	*MemSource
	ws *engine.Workspace
}

var _ TimeHistorySource = (*WorkspaceSource)(nil)

// NewWorkspaceSource reads the current state of ws's default space.
func NewWorkspaceSource(ctx context.Context, ws *engine.Workspace) (*WorkspaceSource, error) {
	var m *MemSource
	err := ws.View(ctx, func(v *engine.ReadView) error {
		m = FromView(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &WorkspaceSource{MemSource: m, ws: ws}, nil
}

// AsOf implements HistorySource with Workspace.ReadAt, whose view (and its
// index) the returned ViewSource reads in place.
func (s *WorkspaceSource) AsOf(ctx context.Context, lsn uint64) (Source, error) {
	v, err := s.ws.ReadAt(ctx, oplog.LSN(lsn))
	if err != nil {
		return nil, err
	}
	return NewViewSource(v), nil
}

// AsOfTime implements TimeHistorySource: the state after the last record
// logged at or before t (Workspace.LSNAt, a binary search over the log's
// record times), read with AsOf.
func (s *WorkspaceSource) AsOfTime(ctx context.Context, t time.Time) (Source, error) {
	at, err := s.ws.LSNAt(ctx, t)
	if err != nil {
		return nil, err
	}
	return s.AsOf(ctx, uint64(at))
}
