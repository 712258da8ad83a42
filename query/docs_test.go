package query

import (
	"os"
	"strings"
	"testing"
)

// TestDocExamples parses every statement in the ```oql blocks of
// docs/oql.md (statements are separated by blank lines), so the reference
// cannot drift from the parser.
func TestDocExamples(t *testing.T) {
	b, err := os.ReadFile("../docs/oql.md")
	if err != nil {
		t.Skipf("docs/oql.md not found: %v", err)
	}
	n := 0
	rest := string(b)
	for {
		i := strings.Index(rest, "```oql\n")
		if i < 0 {
			break
		}
		rest = rest[i+len("```oql\n"):]
		j := strings.Index(rest, "```")
		if j < 0 {
			t.Fatal("unterminated ```oql block")
		}
		for _, q := range strings.Split(rest[:j], "\n\n") {
			if q = strings.TrimSpace(q); q == "" {
				continue
			}
			n++
			s, err := Parse(q)
			if err != nil {
				t.Errorf("docs/oql.md example %q: %v", q, err)
				continue
			}
			checkRoundTrip(t, q, s)
		}
		rest = rest[j+3:]
	}
	if n < 5 {
		t.Errorf("found only %d examples in docs/oql.md", n)
	}
}
