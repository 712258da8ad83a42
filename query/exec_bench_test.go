package query

import (
	"context"
	"fmt"
	"testing"
)

// benchSource is a workspace of n blocks: pages of 50 paragraphs.
func benchSource(n int) *MemSource {
	blocks := make([]Block, n)
	for i := range blocks {
		b := Block{ID: fmt.Sprintf("b%07d", i), Type: "affine:paragraph", Creator: fmt.Sprintf("u%d", i%7),
			Created: base + int64(i)*60_000, Props: map[string]any{"n": float64(i % 100)}}
		b.Updated = b.Created
		if i%50 == 0 {
			b.Type = "affine:page"
		} else {
			b.Parent = fmt.Sprintf("b%07d", i-i%50)
		}
		blocks[i] = b
	}
	return NewMemSource(blocks)
}

func BenchmarkExec(b *testing.B) {
	src := benchSource(100_000)
	src.Index()
	for _, q := range []string{
		"SELECT COUNT(*) FROM blocks WHERE type = 'affine:page' AND creator = 'u3'",
		"SELECT id FROM blocks WHERE CHILD OF 'b0000500' AND prop.n > 10",
		"SELECT type, COUNT(*) FROM blocks GROUP BY type",
		"SELECT id FROM blocks WHERE prop.n = 7 ORDER BY created DESC LIMIT 10",
	} {
		stmt, err := Parse(q)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"index", "scan"} {
			b.Run(fmt.Sprintf("%s/%s", mode, q), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if mode == "index" {
						_, err = Exec(context.Background(), stmt, src)
					} else {
						_, err = execScan(context.Background(), stmt, src)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
