package engine

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest workspace name, in bytes.
const MaxNameLen = 200

// Workspace directory names.
//
// A workspace name is any valid UTF-8 string of 1 to MaxNameLen bytes
// without control characters. Its directory name keeps the bytes [a-z0-9_-]
// as they are and writes every other byte as %XX (upper-case hex), so:
//
//   - no name can produce "", ".", "..", a path separator, or a name that
//     differs only in letter case from another (case-insensitive
//     filesystems), and escaping is a bijection;
//   - the store's own files (LOCK) are upper case and so never collide;
//   - a name that is a Windows device name (con, nul, com1, ...) has its
//     first byte escaped too.
//
// Escaping can triple a name's length; names whose escaped form exceeds the
// usual 255-byte limit of a directory entry are refused.

const maxDirName = 255

// checkName validates a workspace name.
func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: workspace name %q", ErrInvalidName, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%w: workspace name %q holds a control character", ErrInvalidName, name)
		}
	}
	if len(escapeName(name)) > maxDirName {
		return fmt.Errorf("%w: workspace name %q is too long once escaped", ErrInvalidName, name)
	}
	return nil
}

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

var windowsDevices = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true,
	"com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true,
	"lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// escapeName returns the directory name of a workspace name.
func escapeName(name string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if plainByte(c) && !(i == 0 && windowsDevices[name]) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// unescapeName inverts escapeName; ok is false for directory names
// escapeName cannot produce.
func unescapeName(dir string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(dir); i++ {
		c := dir[i]
		if c != '%' {
			if !plainByte(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(dir) {
			return "", false
		}
		hi, lo := unhex(dir[i+1]), unhex(dir[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	name := b.String()
	if checkName(name) != nil || escapeName(name) != dir {
		return "", false
	}
	return name, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// checkSpace validates a space id: the root map of space id is
// "space:"+id. "meta" and "updated" name the workspace's metadata and
// update-time maps, not spaces.
func checkSpace(id string) error {
	if id == "" || id == "meta" || id == "updated" || !utf8.ValidString(id) || len(id) > 255 {
		return fmt.Errorf("%w: space %q", ErrInvalidName, id)
	}
	return nil
}

const blockIDAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"

// randomBlockID returns 10 random characters of blockIDAlphabet (60 bits).
func randomBlockID() BlockID {
	var b [10]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = blockIDAlphabet[b[i]&63]
	}
	return BlockID(b[:])
}

// randomClientID returns a random non-zero 32-bit client id, as yjs picks.
func randomClientID() (uint64, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("engine: random client id: %w", err)
		}
		if id := uint64(binary.LittleEndian.Uint32(b[:])); id != 0 {
			return id, nil
		}
	}
}
