package engine

import (
	"fmt"
	"time"

	"octobase/oplog"
)

// ChangeOp says what a change did to a block.
type ChangeOp uint8

const (
	// Created: the space's key was set to a new block (also when it
	// replaced another block under the same id).
	Created ChangeOp = iota + 1
	// Updated: keys of an existing block changed (BlockChange.Fields).
	Updated
	// Deleted: the block was removed from its space.
	Deleted
)

func (op ChangeOp) String() string {
	switch op {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("ChangeOp(%d)", op)
}

// BlockChange is what one change did to one block.
type BlockChange struct {
	Space string
	ID    BlockID
	Op    ChangeOp
	// Fields are the block keys an update changed, sorted: "sys:flavour",
	// "sys:children", "prop:title", ... (a change anywhere inside a key's
	// value, such as typing in a rich text, names the key). Nil for
	// Created and Deleted.
	Fields []string
}

// Change is what one op-log record changed. Every record produces exactly
// one Change, even one that touched no block (a document that does not
// follow the block model, a space:meta edit, a duplicate), so a
// subscriber's position is always the last LSN it saw.
type Change struct {
	LSN    oplog.LSN
	Time   time.Time // the record's timestamp
	Origin string    // the origin passed to Apply or Transact
	// Blocks lists the touched blocks, sorted by space then id.
	Blocks []BlockChange
	// Update is the record's payload: the yjs update (v1) exactly as it
	// was logged. Replication forwards it; subscribers must not modify it
	// (it is shared by every subscriber of the change).
	Update []byte
}
