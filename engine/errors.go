package engine

import "errors"

// Sentinel errors. Each says when it is returned; test with errors.Is.
var (
	// ErrClosed is returned by every method of a Store, and of its
	// Workspaces and Subscriptions, after Store.Close.
	ErrClosed = errors.New("engine: store is closed")
	// ErrInvalidName is returned by Store.Workspace for a workspace name
	// that is empty, too long, not valid UTF-8 or holds control characters,
	// and by Blocks.Space for an invalid space id.
	ErrInvalidName = errors.New("engine: invalid name")
	// ErrNotFound is returned by Blocks methods that name a block that does
	// not exist in the space.
	ErrNotFound = errors.New("engine: block not found")
	// ErrExists is returned by Blocks.Create for an id already in use in
	// the space.
	ErrExists = errors.New("engine: block already exists")
	// ErrCycle is returned by Blocks.Move and Blocks.InsertChildren when the
	// move would make a block its own ancestor.
	ErrCycle = errors.New("engine: block would become its own ancestor")
	// ErrNotText is returned by Blocks.Text when the property is not rich
	// text.
	ErrNotText = errors.New("engine: property is not rich text")
	// ErrOutOfRange is returned for a child index outside [0, len].
	ErrOutOfRange = errors.New("engine: index out of range")
	// ErrFuture is returned by Workspace.ReadAt for a position after the
	// last acknowledged record.
	ErrFuture = errors.New("engine: log position is in the future")
	// ErrBadState is returned when a workspace's stored state cannot be
	// recovered: a logged record or a snapshot that the CRDT rejects, or a
	// damaged client id file. The underlying error is wrapped.
	ErrBadState = errors.New("engine: stored workspace state is damaged")
	// ErrMissingDeps is returned by Workspace.ApplyComplete for an update
	// that refers to, or deletes, changes the workspace does not have (and
	// the update does not bring): Apply would keep it pending.
	ErrMissingDeps = errors.New("engine: update depends on changes the workspace does not have")
)
