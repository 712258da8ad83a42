package query

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the corpus files and the table tests' inputs; go test runs
// them as the seed corpus, go test -fuzz starts from them.
func fuzzSeeds(t testing.TB) []string {
	var seeds []string
	for _, f := range []string{"select.oql", "tail.oql", "expr.oql", "errors.oql"} {
		seeds = append(seeds, readCorpus(t, f)...)
	}
	for _, tc := range validCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range invalidCases {
		seeds = append(seeds, tc.in)
	}
	return seeds
}

// FuzzParse checks that Parse never panics, that every error is an *Error
// positioned inside the input, and that accepted input survives the
// Format → Parse round trip.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) returned %T %v, want *Error", src, err, err)
			}
			checkErrorPos(t, src, e)
			_ = e.Pretty(src)
			return
		}
		checkRoundTrip(t, src, s)
		_ = Dump(s)
	})
}

// FuzzParseExpr is FuzzParse for bare expressions.
func FuzzParseExpr(f *testing.F) {
	for _, s := range readCorpus(f, "expr.oql") {
		f.Add(s)
	}
	f.Add("NOT (HAS parent OR prop.x IN (1, 'a', $1)) AND created < '2024-01-01'")
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseExpr(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("ParseExpr(%q) returned %T %v, want *Error", src, err, err)
			}
			checkErrorPos(t, src, pe)
			return
		}
		out := FormatExpr(e)
		e2, err := ParseExpr(out)
		if err != nil {
			t.Fatalf("ParseExpr(%q) accepted, but its Format %q fails: %v", src, out, err)
		}
		if a, b := dumpNoPos(e), dumpNoPos(e2); a != b {
			t.Fatalf("round trip of %q via %q changes the AST:\n%s\nvs\n%s", src, out, a, b)
		}
	})
}

// FuzzQuote checks that quoting any valid UTF-8 string lexes back to one
// token that decodes to the same string.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", "it's", `\`, `\%`, "\x00\n\t\r\x7f", "é日付", `"q"`, "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for _, q := range []byte{'\'', '"'} {
			quoted := quote(s, q)
			sc := scanner{src: quoted, pos: Position{Line: 1, Column: 1}}
			tok, err := sc.Next()
			if err != nil {
				t.Fatalf("quote(%q) = %s does not lex: %v", s, quoted, err)
			}
			if tok.Value != quoted {
				t.Fatalf("quote(%q) = %s lexes as %s", s, quoted, tok.Value)
			}
			if got := unquote(tok.Value); got != s {
				t.Fatalf("unquote(quote(%q)) = %q", s, got)
			}
		}
	})
}
