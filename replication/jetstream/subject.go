package jetstream

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"octobase/oplog"
)

// Wire names. They are part of the replication protocol between nodes:
// every node of a cluster must agree on them, so do not change them.
const (
	// DefaultStream is the stream that holds every workspace update.
	DefaultStream = "OCTO_UPDATES"
	// DefaultSubjectPrefix prefixes the per-workspace subjects:
	// octo.ws.<escaped workspace name>.
	DefaultSubjectPrefix = "octo.ws."

	// hdrNode carries the publishing node's name (for the origin of the
	// applied record: "jetstream:<name>").
	hdrNode = "Octo-Node"
	// OriginPrefix starts the origin of every record the consumer applies.
	// The publisher never publishes a change whose origin has it.
	OriginPrefix = "jetstream:"
)

// escapeToken turns a workspace name into one subject token: the bytes
// [A-Za-z0-9_-] stay, every other byte becomes %XX (upper-case hex). The
// result never holds '.', '*', '>' or white space, and unescapeToken
// inverts it exactly.
func escapeToken(name string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if tokenByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// unescapeToken inverts escapeToken; it rejects tokens escapeToken cannot
// produce (so every name has exactly one subject).
func unescapeToken(tok string) (string, error) {
	var b strings.Builder
	b.Grow(len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '%' {
			if !tokenByte(c) {
				return "", fmt.Errorf("jetstream: bad subject token %q", tok)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(tok) {
			return "", fmt.Errorf("jetstream: bad subject token %q", tok)
		}
		v, err := strconv.ParseUint(tok[i+1:i+3], 16, 8)
		if err != nil || tokenByte(byte(v)) || strings.ToUpper(tok[i+1:i+3]) != tok[i+1:i+3] {
			return "", fmt.Errorf("jetstream: bad subject token %q", tok)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("jetstream: empty subject token")
	}
	return b.String(), nil
}

// msgID is the Nats-Msg-Id of the records first..last of a workspace
// logged on the node incarnation node: <node>.<hash>.<first> for one
// record, <node>.<hash>.<first>-<last> for a batch (LSNs base 36). Short,
// and unique as long as a workspace's LSNs are (a wiped data directory
// gets a new incarnation id, a workspace log found behind its position a
// new epoch, appended as "~<epoch>").
func msgID(node, workspace string, epoch uint32, first, last oplog.LSN) string {
	h := sha256.Sum256([]byte(workspace))
	id := node + "." + hex.EncodeToString(h[:8]) + "." + strconv.FormatUint(uint64(first), 36)
	if last != first {
		id += "-" + strconv.FormatUint(uint64(last), 36)
	}
	if epoch > 0 {
		id += "~" + strconv.FormatUint(uint64(epoch), 36)
	}
	return id
}

// msgNode returns the node incarnation id a msgID starts with.
func msgNode(id string) string {
	node, _, _ := strings.Cut(id, ".")
	return node
}
