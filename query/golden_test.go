package query

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// readCorpus splits a testdata/*.oql file into queries: paragraphs
// separated by blank lines.
func readCorpus(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, para := range strings.Split(string(b), "\n\n") {
		if q := strings.Trim(para, "\n"); q != "" {
			out = append(out, q)
		}
	}
	return out
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update and review the diff):\n%s", path, got)
	}
}

// TestGolden parses each query of testdata/{select,tail}.oql (statements)
// and expr.oql (expressions) and records its canonical form and AST dump.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		expr bool
	}{{"select.oql", false}, {"tail.oql", false}, {"expr.oql", true}} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			for _, q := range readCorpus(t, tc.file) {
				var n Node
				var err error
				if tc.expr {
					n, err = ParseExpr(q)
				} else {
					n, err = Parse(q)
				}
				if err != nil {
					t.Errorf("%q: %v", q, err)
					continue
				}
				buf.WriteString("== " + strings.ReplaceAll(q, "\n", "\n   ") + "\n")
				buf.WriteString("=> " + n.String() + "\n")
				buf.WriteString(Dump(n))
				buf.WriteString("\n")
			}
			checkGolden(t, strings.TrimSuffix(tc.file, ".oql")+".golden", buf.Bytes())
		})
	}
}

// TestGoldenErrors records the pretty-printed error of each query of
// testdata/errors.oql.
func TestGoldenErrors(t *testing.T) {
	var buf bytes.Buffer
	for _, q := range readCorpus(t, "errors.oql") {
		_, err := Parse(q)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want an *Error", q, err)
			continue
		}
		buf.WriteString("== " + strings.ReplaceAll(q, "\n", "\n   ") + "\n")
		buf.WriteString(e.Pretty(q) + "\n\n")
	}
	checkGolden(t, "errors.golden", buf.Bytes())
}
