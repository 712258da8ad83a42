package server

import (
	"bytes"
	"encoding/hex"
	"testing"

	"octobase/replication/ysync"
)

// TestAppendFrame checks the frame headers against RFC 6455 §5.7's
// examples (unmasked, final frames) and the length boundaries.
func TestAppendFrame(t *testing.T) {
	for _, tc := range []struct {
		opcode byte
		n      int
		head   string
	}{
		{0x1, 5, "8105"},    // "Hello", a text frame (§5.7)
		{opPing, 0, "8900"}, // an empty ping
		{opPong, 5, "8a05"}, // §5.7's unmasked pong
		{opBinary, 125, "827d"},
		{opBinary, 126, "827e007e"},
		{opBinary, 256, "827e0100"}, // §5.7: 256 bytes
		{opBinary, 65535, "827effff"},
		{opBinary, 65536, "827f0000000000010000"}, // §5.7: 64 KiB
	} {
		payload := bytes.Repeat([]byte{'x'}, tc.n)
		got := appendFrame([]byte("prefix"), tc.opcode, payload)
		head, _ := hex.DecodeString(tc.head)
		want := append(append([]byte("prefix"), head...), payload...)
		if !bytes.Equal(got, want) {
			t.Errorf("opcode %x, %d bytes: header %x, want %s", tc.opcode, tc.n, got[6:min(len(got), 6+len(head))], tc.head)
		}
	}
	if f := binaryFrame([]byte{0, 2}); !bytes.Equal(f, []byte{0x82, 2, 0, 2}) {
		t.Errorf("binaryFrame = %x", f)
	}
	// updateFrame sizes its header from the message it builds, across the
	// varint and the frame-length boundaries.
	for _, n := range []int{0, 1, 121, 122, 123, 127, 128, 65530, 65531, 1 << 16, 1 << 21} {
		u := bytes.Repeat([]byte{7}, n)
		if got, want := updateFrame(u), binaryFrame(ysync.AppendUpdate(nil, u)); !bytes.Equal(got, want) {
			t.Errorf("updateFrame of %d bytes differs from the frame of AppendUpdate", n)
		}
	}
}
