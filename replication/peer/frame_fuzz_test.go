package peer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"octobase/engine/lib0"
	"octobase/replication/ysync"
)

// FuzzFrame feeds arbitrary bytes to the frame reader and decoder: no input
// may panic, allocate beyond the input, or decode to something that does
// not encode back to the same frame.
func FuzzFrame(f *testing.F) {
	for _, body := range [][]byte{
		appendHello(nil, hello{Version: Version, Name: "a", Follow: true, Workspaces: []string{"alpha", "beta"}}),
		appendHello(nil, hello{Version: Version, Only: true}),
		appendMsg(nil, "alpha", ysync.AppendUpdate(nil, []byte{0, 0})),
		appendMsg(nil, "ws", []byte{0, 0, 1, 0}),
		appendDone(nil),
		appendDigestFrame(nil, "alpha", digest{7: {width: 100, buckets: map[uint64]uint64{0: 1, 5: 2}}, 9: {width: 1, buckets: map[uint64]uint64{}}}),
		appendError(nil, "version mismatch"),
	} {
		f.Add(appendFrame(nil, body))
	}
	f.Add(lib0.AppendVarUint(nil, 1<<40))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{3, 9, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 20
		br := bufio.NewReader(bytes.NewReader(in))
		for {
			body, err := readFrame(br, max)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("readFrame: unexpected error kind %v", err)
				}
				return
			}
			if len(body) > len(in) || len(body) > max {
				t.Fatalf("frame of %d bytes from %d bytes of input", len(body), len(in))
			}
			fr, err := decodeFrame(body)
			if err != nil {
				if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrVersion) {
					t.Fatalf("decodeFrame: unexpected error kind %v", err)
				}
				continue
			}
			// Round trip: encode the decoded frame and decode it again.
			var again []byte
			switch fr.Kind {
			case frameHello:
				again = appendHello(nil, fr.Hello)
			case frameMsg:
				again = appendMsg(nil, fr.Workspace, fr.Msg)
			case frameDigest:
				d, err := decodeDigest(fr.Msg)
				if err != nil {
					t.Fatalf("decodeFrame accepted a digest decodeDigest rejects: %v", err)
				}
				again = appendDigestFrame(nil, fr.Workspace, d)
			case frameDone:
				again = appendDone(nil)
			case frameError:
				again = appendError(nil, fr.Reason)
			}
			fr2, err := decodeFrame(again)
			if err != nil {
				t.Fatalf("re-encoded frame does not decode: %v", err)
			}
			if fr.Kind == frameHello && fr.Hello.Workspaces == nil {
				fr.Hello.Workspaces = []string{}
			}
			if fr.Kind == frameDigest {
				// The encoding is canonical (sorted clients); compare
				// what the digests say.
				d1, _ := decodeDigest(fr.Msg)
				d2, _ := decodeDigest(fr2.Msg)
				if !reflect.DeepEqual(d1, d2) || fr.Workspace != fr2.Workspace {
					t.Fatalf("digest round trip: %v != %v", d1, d2)
				}
				continue
			}
			if !reflect.DeepEqual(fr, fr2) {
				t.Fatalf("round trip: %+v != %+v", fr, fr2)
			}
		}
	})
}
