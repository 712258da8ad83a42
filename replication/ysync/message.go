package ysync

import (
	"errors"
	"strconv"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// Outer message types (y-websocket.js; yrs sync/protocol.rs MSG_*). Part of
// the wire format: do not change.
const (
	MsgSync           = 0
	MsgAwareness      = 1
	MsgAuth           = 2
	MsgQueryAwareness = 3
)

// Sync sub-types (y-protocols sync.js messageYjs*). Part of the wire format.
const (
	MsgSyncStep1  = 0
	MsgSyncStep2  = 1
	MsgSyncUpdate = 2
)

// MsgAuthPermissionDenied is the only auth sub-type y-protocols defines
// (auth.js messagePermissionDenied).
const MsgAuthPermissionDenied = 0

// ErrMalformed is returned (wrapped) for a message or awareness update that
// cannot be decoded: truncated input, a length beyond the input, an integer
// above 2^53-1, invalid UTF-8 in a string, invalid JSON in an awareness state,
// a malformed state vector in SyncStep1, or an unknown sync sub-type.
var ErrMalformed = errors.New("ysync: malformed message")

// ErrNotSync is returned by Handle and HandleMessage for a well-formed message
// that is not a sync message (awareness, auth, queryAwareness, unknown types):
// those are the caller's to dispatch.
var ErrNotSync = errors.New("ysync: not a sync message")

// decodeError says what was being decoded; it wraps ErrMalformed and the cause.
type decodeError struct {
	what string
	err  error
}

func (e *decodeError) Error() string {
	return "ysync: malformed " + e.what + ": " + e.err.Error()
}

func (e *decodeError) Unwrap() []error { return []error{ErrMalformed, e.err} }

func malformed(what string, err error) error { return &decodeError{what: what, err: err} }

// Message is one decoded y-protocols message. The concrete types are
// SyncStep1, SyncStep2, Update, AwarenessUpdate, QueryAwareness, AuthDenied
// and Unknown (values, not pointers).
type Message interface {
	// Append appends the message's wire encoding to dst and returns the
	// extended slice.
	Append(dst []byte) []byte
	isMessage()
}

// SyncStep1 carries the sender's state vector; the receiver replies with a
// SyncStep2 holding what the sender lacks. Wire: 00 00 varUint8Array(sv).
type SyncStep1 struct {
	SV crdt.StateVector
}

// SyncStep2 carries a v1 update with everything the receiver of the matching
// SyncStep1 lacked. Wire: 00 01 varUint8Array(update).
type SyncStep2 struct {
	Update []byte
}

// Update carries the v1 update of a transaction made after the initial sync.
// Wire: 00 02 varUint8Array(update).
type Update struct {
	Update []byte
}

// AwarenessUpdate carries an encoded awareness update (see
// DecodeAwarenessUpdate and Awareness.Apply). Decode has validated it.
// Wire: 01 varUint8Array(update).
type AwarenessUpdate struct {
	Update []byte
}

// QueryAwareness asks the receiver for every awareness state it knows.
// Wire: 03. y-websocket clients answer it; the reference server ignores it.
type QueryAwareness struct{}

// AuthDenied tells the receiver that it may not do what it tried (for
// example write to a read-only document). Wire: 02 00 varString(reason).
type AuthDenied struct {
	Reason string
}

// Unknown is a message this package does not interpret: an outer type other
// than 0–3, or an auth message (type 2) whose sub-type is not permission
// denied. Payload is everything after the outer type varUint; Append writes
// the message back unchanged (in its canonical varUint form).
type Unknown struct {
	Type    uint64
	Payload []byte
}

func (SyncStep1) isMessage()       {}
func (SyncStep2) isMessage()       {}
func (Update) isMessage()          {}
func (AwarenessUpdate) isMessage() {}
func (QueryAwareness) isMessage()  {}
func (AuthDenied) isMessage()      {}
func (Unknown) isMessage()         {}

// Append implements Message.
func (m SyncStep1) Append(dst []byte) []byte { return AppendSyncStep1(dst, m.SV) }

// Append implements Message.
func (m SyncStep2) Append(dst []byte) []byte { return AppendSyncStep2(dst, m.Update) }

// Append implements Message.
func (m Update) Append(dst []byte) []byte { return AppendUpdate(dst, m.Update) }

// Append implements Message.
func (m AwarenessUpdate) Append(dst []byte) []byte { return AppendAwareness(dst, m.Update) }

// Append implements Message.
func (QueryAwareness) Append(dst []byte) []byte { return AppendQueryAwareness(dst) }

// Append implements Message.
func (m AuthDenied) Append(dst []byte) []byte { return AppendAuthDenied(dst, m.Reason) }

// Append implements Message.
func (m Unknown) Append(dst []byte) []byte {
	dst = lib0.AppendVarUint(dst, m.Type)
	return append(dst, m.Payload...)
}

// String returns a short description for logs, e.g. "sync step2 (812 bytes)".
func (m SyncStep1) String() string {
	return "sync step1 (" + strconv.Itoa(len(m.SV)) + " clients)"
}

func (m SyncStep2) String() string { return "sync step2 (" + strconv.Itoa(len(m.Update)) + " bytes)" }
func (m Update) String() string    { return "sync update (" + strconv.Itoa(len(m.Update)) + " bytes)" }
func (m AwarenessUpdate) String() string {
	return "awareness (" + strconv.Itoa(len(m.Update)) + " bytes)"
}
func (QueryAwareness) String() string { return "query awareness" }
func (m AuthDenied) String() string   { return "auth permission denied: " + strconv.Quote(m.Reason) }
func (m Unknown) String() string {
	return "unknown message type " + strconv.FormatUint(m.Type, 10) + " (" + strconv.Itoa(len(m.Payload)) + " bytes)"
}

// Encode returns the wire encoding of m.
func Encode(m Message) []byte { return m.Append(nil) }

// AppendSyncStep1 appends a SyncStep1 message carrying sv, as y-protocols'
// writeSyncStep1 does for a document whose state vector is sv.
func AppendSyncStep1(dst []byte, sv crdt.StateVector) []byte {
	dst = append(dst, MsgSync, MsgSyncStep1)
	return lib0.AppendVarBytes(dst, crdt.EncodeStateVector(sv))
}

// AppendSyncStep2 appends a SyncStep2 message carrying the v1 update
// (y-protocols writeSyncStep2).
func AppendSyncStep2(dst, update []byte) []byte {
	dst = append(dst, MsgSync, MsgSyncStep2)
	return lib0.AppendVarBytes(dst, update)
}

// AppendUpdate appends an Update message carrying the v1 update
// (y-protocols writeUpdate). Use it to forward local transactions, e.g. from
// crdt.Doc.OnUpdate.
func AppendUpdate(dst, update []byte) []byte {
	dst = append(dst, MsgSync, MsgSyncUpdate)
	return lib0.AppendVarBytes(dst, update)
}

// AppendAwareness appends an awareness message carrying the encoded awareness
// update (see EncodeAwarenessUpdate and Awareness.Encode).
func AppendAwareness(dst, awarenessUpdate []byte) []byte {
	dst = append(dst, MsgAwareness)
	return lib0.AppendVarBytes(dst, awarenessUpdate)
}

// AppendQueryAwareness appends a queryAwareness message.
func AppendQueryAwareness(dst []byte) []byte { return append(dst, MsgQueryAwareness) }

// AppendAuthDenied appends a permission-denied auth message (the bytes
// y-websocket builds with writeVarUint(2) and y-protocols writePermissionDenied).
func AppendAuthDenied(dst []byte, reason string) []byte {
	dst = append(dst, MsgAuth, MsgAuthPermissionDenied)
	return lib0.AppendVarString(dst, reason)
}

// Decode parses one message. It never panics; malformed input returns an error
// wrapping ErrMalformed. Byte slices in the result alias b.
func Decode(b []byte) (Message, error) {
	var d lib0.Decoder
	d.Reset(b)
	typ, err := d.ReadVarUint()
	if err != nil {
		return nil, malformed("message type", err)
	}
	switch typ {
	case MsgSync:
		return decodeSync(&d)
	case MsgAwareness:
		p, err := d.ReadVarBytes()
		if err != nil {
			return nil, malformed("awareness message", err)
		}
		if err := validateAwarenessUpdate(p); err != nil {
			return nil, err
		}
		return AwarenessUpdate{Update: p}, nil
	case MsgAuth:
		payload := b[d.Pos():]
		sub, err := d.ReadVarUint()
		if err != nil {
			return nil, malformed("auth message", err)
		}
		if sub != MsgAuthPermissionDenied {
			// auth.js ignores other sub-types; so do we, by not interpreting them.
			return Unknown{Type: typ, Payload: payload}, nil
		}
		reason, err := d.ReadVarStringStrict()
		if err != nil {
			return nil, malformed("permission-denied reason", err)
		}
		return AuthDenied{Reason: reason}, nil
	case MsgQueryAwareness:
		return QueryAwareness{}, nil
	default:
		return Unknown{Type: typ, Payload: b[d.Pos():]}, nil
	}
}

func decodeSync(d *lib0.Decoder) (Message, error) {
	sub, err := d.ReadVarUint()
	if err != nil {
		return nil, malformed("sync message type", err)
	}
	if sub > MsgSyncUpdate {
		return nil, malformed("sync message", errors.New("unknown sync message type "+strconv.FormatUint(sub, 10)))
	}
	p, err := d.ReadVarBytes()
	if err != nil {
		return nil, malformed("sync message payload", err)
	}
	switch sub {
	case MsgSyncStep1:
		sv, err := crdt.DecodeStateVector(p)
		if err != nil {
			return nil, malformed("sync step1 state vector", err)
		}
		return SyncStep1{SV: sv}, nil
	case MsgSyncStep2:
		return SyncStep2{Update: p}, nil
	default:
		return Update{Update: p}, nil
	}
}
