package query

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

func lexAll(t *testing.T, src string) []string {
	t.Helper()
	sc := scanner{src: src, pos: Position{Line: 1, Column: 1}}
	var out []string
	for {
		tok, err := sc.Next()
		if err != nil {
			t.Fatalf("lex %q: %v", src, err)
		}
		if tok.EOF() {
			return append(out, fmt.Sprintf("EOF@%d:%d", tok.Pos.Line, tok.Pos.Column))
		}
		out = append(out, fmt.Sprintf("%s:%s@%d:%d", symbolName(tok.Type), tok.Value, tok.Pos.Line, tok.Pos.Column))
	}
}

func symbolName(tt lexer.TokenType) string {
	for name, t := range tokenSymbols {
		if t == tt {
			return name
		}
	}
	return "?"
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"select Selected _x x1 é日", "Keyword:select@1:1 Ident:Selected@1:8 Ident:_x@1:17 Ident:x1@1:20 Ident:é日@1:23 EOF@1:25"},
		{"a<=b>=c<>d!=e<f>g=h", "Ident:a@1:1 Punct:<=@1:2 Ident:b@1:4 Punct:>=@1:5 Ident:c@1:7 Punct:<>@1:8 Ident:d@1:10 Punct:!=@1:11 Ident:e@1:13 Punct:<@1:14 Ident:f@1:15 Punct:>@1:16 Ident:g@1:17 Punct:=@1:18 Ident:h@1:19 EOF@1:20"},
		{"1 -2 3.25 4e5 6E-7 8.5e+1", "Number:1@1:1 Number:-2@1:3 Number:3.25@1:6 Number:4e5@1:11 Number:6E-7@1:15 Number:8.5e+1@1:20 EOF@1:26"},
		{"x-- comment\n--\n$12,*;.()", "Ident:x@1:1 Param:$12@3:1 Punct:,@3:4 Punct:*@3:5 Punct:;@3:6 Punct:.@3:7 Punct:(@3:8 Punct:)@3:9 EOF@3:10"},
		{"'a''b' 'é\n' \"c\"\"d\" ''", `String:'a''b'@1:1 String:'é` + "\n" + `'@1:8 QIdent:"c""d"@2:3 String:''@2:10 EOF@2:12`},
		{"\t\r\f\v", "EOF@1:5"},
	} {
		if got := strings.Join(lexAll(t, tc.in), " "); got != tc.want {
			t.Errorf("lex %q\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`''`, ""},
		{`'abc'`, "abc"},
		{`'it''s'`, "it's"},
		{`'it\'s'`, "it's"},
		{`'a\\b'`, `a\b`},
		{`'\n\r\t'`, "\n\r\t"},
		{`'\"'`, `"`},
		{`'\u00e9\u65E5'`, "é日"},
		{`'50\% \_'`, `50\% \_`},
		{`"a""b"`, `a"b`},
		{`"it's"`, `it's`},
	} {
		if got := unquote(tc.in); got != tc.want {
			t.Errorf("unquote(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 2.5, 1e21, 1e-7, 123456789012345678, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1)} {
		s := formatFloat(f)
		lit, err := parseNumber(Position{}, s)
		if err != nil {
			t.Errorf("formatFloat(%v) = %s: %v", f, s, err)
			continue
		}
		if lit.Kind != KindFloat || lit.Float != f {
			t.Errorf("formatFloat(%v) = %s parses as %s %v", f, s, lit.Kind, lit.Float)
		}
	}
}

func TestFieldString(t *testing.T) {
	for _, tc := range []struct {
		f    Field
		want string
	}{
		{Field{Kind: FieldType}, "type"},
		{Field{Kind: FieldProp, Prop: "title"}, "prop.title"},
		{Field{Kind: FieldProp, Prop: "select"}, "prop.select"},
		{Field{Kind: FieldProp, Prop: "a b"}, `prop."a b"`},
		{Field{Kind: FieldProp, Prop: "9"}, `prop."9"`},
		{Field{Kind: FieldProp, Prop: `q"`}, `prop."q"""`},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%+v.String() = %s, want %s", tc.f, got, tc.want)
		}
	}
	if got := FieldKind(99).String(); got != "FieldKind(99)" {
		t.Errorf("FieldKind(99) = %s", got)
	}
}
