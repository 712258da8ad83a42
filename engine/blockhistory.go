package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
)

// HistoryEntry is what one op-log record did to one block: who changed it
// (the record's origin and the yjs clients whose insertions it carries),
// when (the record's timestamp), and what (created, deleted, or which
// fields were updated).
type HistoryEntry struct {
	LSN    oplog.LSN
	Time   time.Time
	Origin string
	Op     ChangeOp
	// Fields are the block keys the record changed (Updated only), as in
	// BlockChange.Fields.
	Fields []string
	// Clients are the yjs client ids that inserted content in the record,
	// sorted (from the update's state vector; a record that only deletes
	// names none). They say whose edits these were even when the origin is
	// a relay (a server connection, a replication peer).
	Clients []uint64
}

// HistoryOptions select a range of a block's history.
type HistoryOptions struct {
	// Space is the block's space; "" is DefaultSpace.
	Space string
	// From is the first LSN to consider (0 and 1: the first record).
	From oplog.LSN
	// To is the last LSN to consider; 0 means the current last LSN.
	To oplog.LSN
	// Limit caps the number of entries returned (0: no cap); the oldest
	// come first, so the next page starts at the last entry's LSN + 1.
	Limit int
}

// History returns the changes of block id recorded in the op-log between
// opts.From and opts.To, oldest first: the block's creation, each record
// that changed its fields, its deletion (and a re-creation under the same
// id, if any).
//
// History is derived from the log, not kept beside it: the records of the
// range are replayed into a scratch document from the nearest snapshot
// at or before From (the same machinery as Subscribe's history), so the
// cost is proportional to the length of the range, not to the size of the
// block's history. oplog.ErrCompacted if history retention dropped what
// the range needs; ErrFuture if From is beyond the next LSN.
func (w *Workspace) History(ctx context.Context, id BlockID, opts HistoryOptions) ([]HistoryEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Limit < 0 {
		return nil, fmt.Errorf("engine: history limit %d is negative", opts.Limit)
	}
	space := opts.Space
	if space == "" {
		space = DefaultSpace
	}
	last, err := w.LastLSN(ctx)
	if err != nil {
		return nil, err
	}
	from, to := max(opts.From, 1), opts.To
	if to == 0 || to > last {
		to = last
	}
	if opts.From > last+1 {
		return nil, fmt.Errorf("engine: history from %d, last is %d: %w", opts.From, last, ErrFuture)
	}
	var out []HistoryEntry
	if from > to {
		return out, nil
	}
	w.touchUsed()
	w.acquire()
	defer w.release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errFull := fmt.Errorf("history limit reached")
	_, err = w.history(ctx, from, to, func(ch Change) bool {
		i, ok := slices.BinarySearchFunc(ch.Blocks, BlockChange{Space: space, ID: id}, func(a, b BlockChange) int {
			if c := strings.Compare(a.Space, b.Space); c != 0 {
				return c
			}
			return strings.Compare(string(a.ID), string(b.ID))
		})
		if !ok {
			return true
		}
		bc := ch.Blocks[i]
		out = append(out, HistoryEntry{LSN: ch.LSN, Time: ch.Time, Origin: ch.Origin, Op: bc.Op,
			Fields: bc.Fields, Clients: updateClients(ch.Update)})
		if opts.Limit > 0 && len(out) >= opts.Limit {
			cancel(errFull)
			return false
		}
		return true
	})
	if err != nil && context.Cause(ctx) != errFull {
		return nil, err
	}
	return out, nil
}

// updateClients returns the sorted client ids that inserted structs in a
// v1 update (nil if it cannot tell: the update was checked when logged).
func updateClients(update []byte) []uint64 {
	ids, err := crdt.UpdateClients(update)
	if err != nil {
		return nil
	}
	return ids
}
