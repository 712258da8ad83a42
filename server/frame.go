package server

import (
	"bufio"
	"encoding/binary"
	"math/bits"
	"net"
	"net/http"
	"syscall"

	"octobase/replication/ysync"
)

// The server writes its own WebSocket frames (RFC 6455 §5.2) straight to
// the hijacked connection; github.com/coder/websocket does the handshake,
// reads, and sends the close frame. Owning the writes lets a connection
// whose socket has room take a message without a goroutine of its own
// waking up (conn.sendNow).

// WebSocket opcodes the server writes.
const (
	opBinary = 0x2
	opPing   = 0x9
	opPong   = 0xA
)

// appendFrame appends one final, unmasked frame (server frames are never
// masked) of opcode carrying payload.
func appendFrame(dst []byte, opcode byte, payload []byte) []byte {
	return append(appendFrameHeader(dst, opcode, len(payload)), payload...)
}

// appendFrameHeader appends the header of appendFrame's frame for a
// payload of n bytes.
func appendFrameHeader(dst []byte, opcode byte, n int) []byte {
	b0 := 0x80 | opcode
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0, 127), uint64(n))
	}
}

// binaryFrame is msg as one binary frame.
func binaryFrame(msg []byte) []byte {
	return appendFrame(make([]byte, 0, len(msg)+10), opBinary, msg)
}

// updateFrame is the binary frame of the y-protocols message [0,2,u],
// built in one buffer (the broadcaster makes one per change).
func updateFrame(u []byte) []byte {
	n := 2 + (bits.Len64(uint64(len(u))|1)+6)/7 + len(u) // ysync.AppendUpdate's length
	return ysync.AppendUpdate(appendFrameHeader(make([]byte, 0, n+10), opBinary, n), u)
}

// hijackRecorder is the http.ResponseWriter handed to websocket.Accept: it
// keeps the connection Accept hijacks, so that the server can write to it.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, brw, err
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// rawConn returns the connection's file descriptor access for
// non-blocking writes (writeNonblock), or nil if it has none (a TLS
// connection, a platform without them).
func rawConn(c net.Conn) syscall.RawConn {
	if !nonblockWrites {
		return nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
