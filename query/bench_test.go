package query

import "testing"

const benchQuery = `SELECT id, prop.title FROM blocks IN 'team-notes'
WHERE type = 'affine:page' AND NOT HAS prop.archived
  AND (creator = 'u:alice' OR LINKS TO 'page-42')
  AND updated > '2024-05-01T00:00:00Z'
ORDER BY updated DESC LIMIT 50`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		if _, err := Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseError(b *testing.B) {
	const q = "SELECT id FROM blocks WHERE type = 'affine:page' AND created > 'soon'"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(q); err == nil {
			b.Fatal("no error")
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	s, err := Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Format(s)
	}
}

func BenchmarkBind(b *testing.B) {
	s, err := Parse("SELECT id FROM blocks WHERE type = $1 AND creator IN ($2) LIMIT $3")
	if err != nil {
		b.Fatal(err)
	}
	params := []any{"affine:page", []string{"u1", "u2"}, 10}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Bind(s, params); err != nil {
			b.Fatal(err)
		}
	}
}
