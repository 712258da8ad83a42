package peer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"octobase/engine/lib0"
)

// Wire constants. Part of the wire format (see the package doc): do not
// change them; a change of layout needs a new Version.
const (
	// Version is the protocol version this package speaks. A peer that
	// names another version in its hello is refused with ErrVersion.
	Version = 1
	// Magic opens every hello, so a stream that is not an OctoBase peer
	// (a raw y-protocols peer, an HTTP client, garbage) is told apart from
	// one speaking another version.
	Magic = "octobase-peer"

	frameHello  = 0 // hello: magic, version, name, flags, workspaces
	frameMsg    = 1 // one y-protocols message for one workspace
	frameDone   = 2 // the sender has applied the SyncStep2 of every workspace
	frameError  = 3 // the sender ends the session; a reason follows
	frameDigest = 4 // the digest of the sender's delete set of one workspace (digest.go)

	flagFollow = 1 << 0 // the sender keeps streaming live updates after the initial sync
	flagOnly   = 1 << 1 // the sender syncs only the workspaces it names
)

// DefaultMaxFrameSize is the largest frame accepted when
// Options.MaxFrameSize is zero: 64 MiB, twice the op-log's record limit
// (oplog.MaxRecordSizeLimit), so any update a store can log fits.
const DefaultMaxFrameSize = 64 << 20

// maxHelloWorkspaces bounds the workspace list of a hello.
const maxHelloWorkspaces = 1 << 16

var (
	// ErrProtocol is returned (wrapped) when the peer breaks the protocol:
	// a malformed or oversized frame, a frame of an unknown kind, a message
	// for a workspace outside the session, a second hello. The session
	// ends; nothing in the offending frame was stored.
	ErrProtocol = errors.New("peer: protocol error")
	// ErrFrameTooLarge is returned (wrapping ErrProtocol) for a length
	// prefix above the frame size limit; nothing is allocated for it.
	ErrFrameTooLarge = fmt.Errorf("%w: frame too large", ErrProtocol)
	// ErrVersion is returned (wrapped) when the peer speaks another
	// protocol version, or is not an OctoBase peer at all.
	ErrVersion = errors.New("peer: protocol version mismatch")
)

// RemoteError is returned when the peer ended the session with an error
// frame: Reason is its explanation (for example its own ErrVersion text).
type RemoteError struct{ Reason string }

func (e *RemoteError) Error() string { return "peer: the peer ended the session: " + e.Reason }

// hello is the first frame each side sends.
type hello struct {
	Version    uint64
	Name       string
	Follow     bool
	Only       bool
	Workspaces []string
}

func appendHello(dst []byte, h hello) []byte {
	dst = append(dst, frameHello)
	dst = lib0.AppendVarString(dst, Magic)
	dst = lib0.AppendVarUint(dst, h.Version)
	dst = lib0.AppendVarString(dst, h.Name)
	var flags uint64
	if h.Follow {
		flags |= flagFollow
	}
	if h.Only {
		flags |= flagOnly
	}
	dst = lib0.AppendVarUint(dst, flags)
	dst = lib0.AppendVarUint(dst, uint64(len(h.Workspaces)))
	for _, w := range h.Workspaces {
		dst = lib0.AppendVarString(dst, w)
	}
	return dst
}

// frame is one decoded frame body.
type frame struct {
	Kind      byte
	Hello     hello  // frameHello
	Workspace string // frameMsg, frameDigest
	Msg       []byte // frameMsg: the y-protocols message; frameDigest: the digest; aliases the input
	Reason    string // frameError
}

func appendMsg(dst []byte, workspace string, msg []byte) []byte {
	dst = append(dst, frameMsg)
	dst = lib0.AppendVarString(dst, workspace)
	return append(dst, msg...)
}

func appendDigestFrame(dst []byte, workspace string, d digest) []byte {
	dst = append(dst, frameDigest)
	dst = lib0.AppendVarString(dst, workspace)
	return appendDigest(dst, d)
}

func appendDone(dst []byte) []byte { return append(dst, frameDone) }

func appendError(dst []byte, reason string) []byte {
	dst = append(dst, frameError)
	return lib0.AppendVarString(dst, reason)
}

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// decodeFrame parses a frame body. It never panics; malformed input returns
// an error wrapping ErrProtocol, and a hello of another version (or without
// the magic) one wrapping ErrVersion. Byte slices in the result alias b.
func decodeFrame(b []byte) (frame, error) {
	if len(b) == 0 {
		return frame{}, protoErr("empty frame")
	}
	f := frame{Kind: b[0]}
	d := lib0.NewDecoder(b[1:])
	switch f.Kind {
	case frameHello:
		magic, err := d.ReadVarStringStrict()
		if err != nil || magic != Magic {
			return f, fmt.Errorf("%w: the peer's first frame is not an OctoBase peer hello (is it a raw y-protocols peer? see SyncRaw)", ErrVersion)
		}
		if f.Hello.Version, err = d.ReadVarUint(); err != nil {
			return f, protoErr("hello: version: %v", err)
		}
		if f.Hello.Version != Version {
			return f, fmt.Errorf("%w: this side speaks version %d, the peer version %d", ErrVersion, Version, f.Hello.Version)
		}
		if f.Hello.Name, err = d.ReadVarStringStrict(); err != nil {
			return f, protoErr("hello: name: %v", err)
		}
		flags, err := d.ReadVarUint()
		if err != nil {
			return f, protoErr("hello: flags: %v", err)
		}
		f.Hello.Follow, f.Hello.Only = flags&flagFollow != 0, flags&flagOnly != 0
		n, err := d.ReadVarUint()
		if err != nil {
			return f, protoErr("hello: workspace count: %v", err)
		}
		// Each name takes at least one byte: a count beyond the bytes left
		// is a lie, caught before allocating anything for it.
		if n > uint64(d.Remaining()) || n > maxHelloWorkspaces {
			return f, protoErr("hello: %d workspaces in %d bytes", n, d.Remaining())
		}
		f.Hello.Workspaces = make([]string, 0, n)
		for range n {
			w, err := d.ReadVarStringStrict()
			if err != nil {
				return f, protoErr("hello: workspace name: %v", err)
			}
			f.Hello.Workspaces = append(f.Hello.Workspaces, w)
		}
		if d.Remaining() != 0 {
			return f, protoErr("hello: %d trailing bytes", d.Remaining())
		}
	case frameMsg:
		w, err := d.ReadVarStringStrict()
		if err != nil {
			return f, protoErr("message: workspace name: %v", err)
		}
		f.Workspace = w
		f.Msg = d.ReadRest()
		if len(f.Msg) == 0 {
			return f, protoErr("message for %q: empty", w)
		}
	case frameDigest:
		w, err := d.ReadVarStringStrict()
		if err != nil {
			return f, protoErr("digest: workspace name: %v", err)
		}
		f.Workspace = w
		f.Msg = d.ReadRest()
		if _, err := decodeDigest(f.Msg); err != nil {
			return f, err
		}
	case frameDone:
		if d.Remaining() != 0 {
			return f, protoErr("done: %d trailing bytes", d.Remaining())
		}
	case frameError:
		r, err := d.ReadVarString()
		if err != nil {
			return f, protoErr("error frame: %v", err)
		}
		f.Reason = r
	default:
		return f, protoErr("unknown frame kind %d", f.Kind)
	}
	return f, nil
}

// appendFrame appends body with its length prefix (a lib0 varUint, the
// same bytes as binary.AppendUvarint).
func appendFrame(dst, body []byte) []byte {
	dst = lib0.AppendVarUint(dst, uint64(len(body)))
	return append(dst, body...)
}

// smallFrame is the largest body readFrame allocates in one piece; larger
// bodies grow as their bytes arrive, so a length prefix alone never costs
// memory.
const smallFrame = 64 << 10

// readFrame reads one length-prefixed frame body of at most max bytes. It
// returns io.EOF only for a stream that ends cleanly between frames, and
// io.ErrUnexpectedEOF for one that ends inside a frame.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if i == 9 && c > 1 || i > 9 {
			return nil, protoErr("frame length prefix overflows")
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: length prefix %d exceeds the limit %d", ErrFrameTooLarge, n, max)
	}
	if n == 0 {
		return nil, protoErr("empty frame")
	}
	if n <= smallFrame {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, unexpected(err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(smallFrame)
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return nil, unexpected(err)
	}
	return buf.Bytes(), nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
