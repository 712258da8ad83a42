package ysync

import (
	"fmt"

	"octobase/engine/crdt"
)

// Store is the document a sync session reads and writes. *crdt.Doc satisfies
// it; the engine passes a workspace that applies updates through its op-log.
//
// Handle calls these methods without locking; the caller serializes access.
type Store interface {
	// StateVector returns the store's state vector. The caller of Handle
	// does not keep or modify the result.
	StateVector() crdt.StateVector
	// EncodeStateAsUpdate returns a v1 update with everything sv lacks (the
	// whole state for an empty sv), including pending structs, as yjs'
	// encodeStateAsUpdate. Handle sends the result without modifying it.
	EncodeStateAsUpdate(sv crdt.StateVector) []byte
	// ApplyUpdate integrates a v1 update received from a peer, with origin
	// passed through to observers (yjs' transaction origin). It must not
	// retain update past the call unless it copies it: Decode's slices alias
	// the caller's message buffer. A malformed update should return an error
	// wrapping crdt.ErrMalformed and change nothing.
	ApplyUpdate(update []byte, origin any) error
}

var _ Store = (*crdt.Doc)(nil)

// DefaultDenyReason is the reason sent to a read-only peer that tries to write
// when Options.DenyReason is empty.
const DefaultDenyReason = "read-only"

// Options adjust Handle. A nil *Options is the zero value: read-write.
type Options struct {
	// ReadOnly refuses SyncStep2 and Update messages (y-websocket's
	// PROTOCOL.md: read-only peers must not send [0,1,…] or [0,2,…]): the
	// update is not applied and Handle replies with an AuthDenied message.
	// An empty update (00 00, what a peer with nothing new sends as its
	// SyncStep2) is dropped without a reply. A SyncStep2 that repeats only
	// known content (yjs always includes the full delete set) is still
	// refused, so a read-only yjs client logs one warning per connection.
	// False (the zero value) applies updates.
	ReadOnly bool
	// DenyReason is the reason in the AuthDenied reply; "" means
	// DefaultDenyReason.
	DenyReason string
}

// Step1 returns the SyncStep1 message that opens a session: the store's state
// vector, to which the peer replies with a SyncStep2. The reference server
// sends it as soon as a client connects; y-websocket clients send theirs too.
func Step1(s Store) []byte { return AppendSyncStep1(nil, s.StateVector()) }

// Handle decodes msg and answers it as HandleMessage does. The replies are
// complete messages to send back to the peer that sent msg, in order.
//
// Errors: malformed msg wraps ErrMalformed; a message that is not a sync
// message returns ErrNotSync (decode it with Decode and dispatch awareness and
// the rest yourself); an update the store rejects returns the store's error,
// wrapped (crdt.ErrMalformed for a malformed update). y-protocols logs such
// errors and keeps the connection; so should the caller.
//
// The caller must serialize all access to s for the duration of the call.
func Handle(s Store, msg []byte, origin any, opts *Options) (replies [][]byte, err error) {
	m, err := Decode(msg)
	if err != nil {
		return nil, err
	}
	return HandleMessage(s, m, origin, opts)
}

// HandleMessage answers one decoded sync message, following y-protocols'
// readSyncMessage:
//
//   - SyncStep1: one reply, a SyncStep2 with s.EncodeStateAsUpdate(sv).
//   - SyncStep2 and Update: s.ApplyUpdate(update, origin) and no reply; with
//     opts.ReadOnly, no apply and one AuthDenied reply (see Options).
//   - anything else: ErrNotSync.
//
// The caller must serialize all access to s for the duration of the call.
func HandleMessage(s Store, m Message, origin any, opts *Options) (replies [][]byte, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var update []byte
	switch m := m.(type) {
	case SyncStep1:
		return [][]byte{AppendSyncStep2(nil, s.EncodeStateAsUpdate(m.SV))}, nil
	case SyncStep2:
		update = m.Update
	case Update:
		update = m.Update
	default:
		return nil, fmt.Errorf("%w: %v", ErrNotSync, m)
	}
	if o.ReadOnly {
		if isEmptyUpdate(update) {
			return nil, nil
		}
		reason := o.DenyReason
		if reason == "" {
			reason = DefaultDenyReason
		}
		return [][]byte{AppendAuthDenied(nil, reason)}, nil
	}
	if err := s.ApplyUpdate(update, origin); err != nil {
		return nil, fmt.Errorf("ysync: apply update: %w", err)
	}
	return nil, nil
}

// isEmptyUpdate reports whether u is the v1 update with no structs and no
// deletions (yrs Update::EMPTY_V1).
func isEmptyUpdate(u []byte) bool { return len(u) == 2 && u[0] == 0 && u[1] == 0 }
