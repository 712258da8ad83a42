package server

import (
	"bufio"
	"encoding/binary"
	"math/bits"
	"net"
	"net/http"
	"sync/atomic"
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
// keeps the connection Accept hijacks, so that the server can write to it,
// and gives coder/websocket that connection behind a guardedConn.
type hijackRecorder struct {
	http.ResponseWriter
	conn  net.Conn // the hijacked connection, for the server's writes
	guard *guardedConn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	h.conn, h.guard = c, &guardedConn{Conn: c}
	return h.guard, brw, nil
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// guardedConn is the connection as coder/websocket sees it. What it
// writes (the close frame: its answer to a client's close, or the server's
// own; under js/wasm, pongs too) goes through conn.wmu like the server's
// frames, after the rest of a frame a non-blocking write began; once a
// close frame is written, the server writes nothing more. Without it, a
// client's close answered from inside a read could land in the middle of
// a partly written frame, or data frames could follow the close frame.
type guardedConn struct {
	net.Conn
	c atomic.Pointer[conn] // set once the handler has the connection
}

// opClose is the opcode of a close frame.
const opClose = 0x8

func (g *guardedConn) Write(p []byte) (int, error) {
	c := g.c.Load()
	if c == nil {
		return g.Conn.Write(p) // a refusal: the server has written nothing
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.partial != nil {
		if _, err := c.nc.Write(c.partial); err != nil {
			return 0, err
		}
		c.partial = nil
	}
	// coder/websocket hands over one whole frame per write: a control
	// frame is flushed as soon as it is buffered.
	if len(p) > 0 && p[0]&0x0F == opClose {
		c.closing = true
	}
	return g.Conn.Write(p)
}

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
