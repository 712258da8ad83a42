// Package oplogtest holds helpers for testing and benchmarking the op-log and
// its users: a generator of realistic yjs-like update streams.
package oplogtest

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
)

// UpdateGen generates a deterministic stream of byte strings shaped like
// yjs v1 updates from a block editor (AFFiNE-style blocks in a workspace):
// mostly typing (one-to-few-character inserts into a Y.Text), deletions,
// property changes on block maps, formatting, and occasional block
// creations. Sizes are mostly 20–200 bytes. The bytes follow the v1 update
// layout (struct groups per client, info bytes, origin IDs, var strings,
// delete set) closely enough that compressors see the same repetitive
// structure as on real streams; they are not guaranteed to decode.
type UpdateGen struct {
	r       *rand.Rand
	clients []genClient
	blocks  []string
}

type genClient struct {
	id    uint64 // yjs client ids are random uint32s
	clock uint64
	last  uint64 // clock of this client's last text item, for origins
}

// NewUpdateGen returns a generator seeded with seed, simulating a few
// concurrent editors.
func NewUpdateGen(seed uint64) *UpdateGen {
	g := &UpdateGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for range 4 {
		g.clients = append(g.clients, genClient{id: uint64(g.r.Uint32())})
	}
	for range 8 {
		g.blocks = append(g.blocks, g.blockID())
	}
	return g
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

func (g *UpdateGen) blockID() string {
	b := make([]byte, 10)
	for i := range b {
		b[i] = idAlphabet[g.r.IntN(len(idAlphabet))]
	}
	return string(b)
}

var words = []string{"the", "block", "editor", "sync", "a", "of", "and", "page", "note", "todo",
	"meeting", "design", "review", "draft", "idea", "link", "table", "image", "list", "done"}

var props = []string{"prop:xywh", "prop:index", "prop:text", "prop:type", "prop:checked",
	"prop:collapsed", "sys:children", "prop:title", "prop:width"}

var flavours = []string{"affine:paragraph", "affine:list", "affine:note", "affine:image",
	"affine:code", "affine:divider", "affine:bookmark"}

// Next returns the next update. The returned slice is newly allocated.
func (g *UpdateGen) Next() []byte {
	c := &g.clients[g.weightedClient()]
	b := make([]byte, 0, 96)
	switch p := g.r.IntN(100); {
	case p < 45:
		b = g.typing(b, c)
	case p < 55:
		b = g.deletion(b, c)
	case p < 80:
		b = g.setProp(b, c)
	case p < 88:
		b = g.format(b, c)
	default:
		b = g.newBlock(b, c)
	}
	return b
}

// weightedClient makes one editor the most active, as in real sessions.
func (g *UpdateGen) weightedClient() int {
	if g.r.IntN(3) != 0 {
		return 0
	}
	return g.r.IntN(len(g.clients))
}

func uv(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func vs(b []byte, s string) []byte { return append(uv(b, uint64(len(s))), s...) }

// header writes "one client, n structs, client id, starting clock".
func header(b []byte, c *genClient, n int) []byte {
	b = uv(b, 1)
	b = uv(b, uint64(n))
	b = uv(b, c.id)
	return uv(b, c.clock)
}

// emptyDeleteSet ends an update that deletes nothing.
func emptyDeleteSet(b []byte) []byte { return uv(b, 0) }

func (g *UpdateGen) text() string {
	if g.r.IntN(4) == 0 {
		return words[g.r.IntN(len(words))] + " "
	}
	return string(rune('a' + g.r.IntN(26)))
}

// typing: an ItemString whose origin is the previous character.
func (g *UpdateGen) typing(b []byte, c *genClient) []byte {
	s := g.text()
	b = header(b, c, 1)
	b = append(b, 0x84) // origin present | ContentString
	b = uv(b, c.id)
	b = uv(b, c.last)
	b = vs(b, s)
	c.last = c.clock + uint64(len(s)) - 1
	c.clock += uint64(len(s))
	return emptyDeleteSet(b)
}

// deletion: no structs, a delete set with one or two ranges.
func (g *UpdateGen) deletion(b []byte, c *genClient) []byte {
	b = uv(b, 0)
	b = uv(b, 1)
	b = uv(b, c.id)
	n := 1 + g.r.IntN(2)
	b = uv(b, uint64(n))
	for range n {
		b = uv(b, c.last-uint64(g.r.IntN(int(min(c.last, 40))+1)))
		b = uv(b, uint64(1+g.r.IntN(3)))
	}
	return b
}

// setProp: a map item under a block (parent ID) with a parentSub key and a
// ContentAny JSON-ish value.
func (g *UpdateGen) setProp(b []byte, c *genClient) []byte {
	key := props[g.r.IntN(len(props))]
	b = header(b, c, 1)
	b = append(b, 0x28) // parentSub | ContentAny
	b = uv(b, 0)        // parent is an ID, not a root key
	b = uv(b, g.clients[g.r.IntN(len(g.clients))].id)
	b = uv(b, uint64(g.r.IntN(5000)))
	b = vs(b, key)
	b = uv(b, 1) // one Any value
	switch key {
	case "prop:xywh":
		b = append(b, 119) // string
		b = vs(b, "["+itoa(g.r.IntN(2000))+","+itoa(g.r.IntN(2000))+",720,"+itoa(20+g.r.IntN(400))+"]")
	case "prop:checked", "prop:collapsed":
		b = append(b, 120+byte(g.r.IntN(2))) // true/false
	case "prop:index":
		b = append(b, 119)
		b = vs(b, "a"+string(rune('0'+g.r.IntN(10)))+string(rune('A'+g.r.IntN(26))))
	case "prop:type":
		b = append(b, 119)
		b = vs(b, []string{"text", "h1", "h2", "quote", "bulleted", "numbered", "todo"}[g.r.IntN(7)])
	default:
		b = append(b, 119)
		b = vs(b, words[g.r.IntN(len(words))]+" "+words[g.r.IntN(len(words))])
	}
	c.clock++
	b = emptyDeleteSet(b)
	return b
}

// format: ContentFormat items bracketing a range (bold on, bold off).
func (g *UpdateGen) format(b []byte, c *genClient) []byte {
	attr := []string{"bold", "italic", "underline", "code", "link"}[g.r.IntN(5)]
	b = header(b, c, 2)
	for i := range 2 {
		b = append(b, 0xC6) // origin | rightOrigin | ContentFormat
		b = uv(b, c.id)
		b = uv(b, c.last-uint64(g.r.IntN(int(min(c.last, 30))+1)))
		b = uv(b, c.id)
		b = uv(b, c.last)
		b = vs(b, attr)
		if i == 0 {
			b = vs(b, "true")
		} else {
			b = vs(b, "null")
		}
	}
	c.clock += 2
	return emptyDeleteSet(b)
}

// newBlock: a Y.Map under the root "blocks" keyed by a new block id, its
// sys:* fields, a Y.Text for its content, and the id pushed into the parent's
// sys:children array.
func (g *UpdateGen) newBlock(b []byte, c *genClient) []byte {
	id := g.blockID()
	g.blocks = append(g.blocks[1:], id)
	flavour := flavours[g.r.IntN(len(flavours))]
	b = header(b, c, 7)
	start := c.clock
	// The block map itself, in root map "space:blocks".
	b = append(b, 0x27) // parentSub | ContentType
	b = uv(b, 1)
	b = vs(b, "space:blocks")
	b = vs(b, id)
	b = uv(b, 1) // YMap
	fields := []struct{ k, v string }{{"sys:id", id}, {"sys:flavour", flavour}, {"sys:version", "1"}}
	for _, f := range fields {
		b = append(b, 0x28)
		b = uv(b, 0)
		b = uv(b, c.id)
		b = uv(b, start)
		b = vs(b, f.k)
		b = uv(b, 1)
		b = append(b, 119)
		b = vs(b, f.v)
	}
	for _, t := range []struct {
		k   string
		ref uint64
	}{{"sys:children", 0}, {"prop:text", 2}} {
		b = append(b, 0x27)
		b = uv(b, 0)
		b = uv(b, c.id)
		b = uv(b, start)
		b = vs(b, t.k)
		b = uv(b, t.ref)
	}
	// Append the id to the parent's sys:children (origin: its last item).
	b = append(b, 0x88) // origin | ContentAny
	b = uv(b, g.clients[g.r.IntN(len(g.clients))].id)
	b = uv(b, uint64(g.r.IntN(5000)))
	b = uv(b, 1)
	b = append(b, 119)
	b = vs(b, id)
	c.clock += 7
	return emptyDeleteSet(b)
}

func itoa(v int) string {
	return strconv.Itoa(v)
}

// Fill returns exactly n bytes made of consecutive updates (the last one cut
// short), as a merged update of that size would look to a compressor.
func (g *UpdateGen) Fill(n int) []byte {
	b := make([]byte, 0, n+256)
	for len(b) < n {
		b = append(b, g.Next()...)
	}
	return b[:n:n]
}

// Origins used by Origin, weighted towards local edits.
var origins = []string{"local", "local", "local", "peer:7f3a", "peer:c01d", "js:node-2"}

// Origin returns a plausible record origin.
func (g *UpdateGen) Origin() string { return origins[g.r.IntN(len(origins))] }

// Tick returns a plausible gap between two updates, in nanoseconds: typing
// bursts of tens of milliseconds, sometimes a pause.
func (g *UpdateGen) Tick() int64 {
	if g.r.IntN(20) == 0 {
		return int64(g.r.IntN(5000)) * 1e6
	}
	return int64(g.r.IntN(120)) * 1e6
}
