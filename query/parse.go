package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses and checks one OQL statement (an optional trailing semicolon
// is allowed). Literals are converted to the types their place expects (for
// example ISO-8601 strings compared with created become KindTime
// literals); parameters stay *Param until Bind. Every error is an *Error.
func Parse(src string) (Stmt, error) {
	g, err := stmtParser.ParseString("", src)
	if err != nil {
		return nil, convertError(err, src, "SELECT, EXPLAIN or TAIL")
	}
	var b builder
	return b.stmt(g)
}

// ParseExpr parses and checks a bare expression, the WHERE part of a
// statement, as used to filter change streams. Every error is an *Error.
func ParseExpr(src string) (Expr, error) {
	g, err := exprParser.ParseString("", src)
	if err != nil {
		return nil, convertError(err, src, "an expression")
	}
	var b builder
	return b.exprOnly(g)
}

// convertError turns whatever participle returned into an *Error with a
// position inside src. first describes what a statement may start with.
func convertError(err error, src, first string) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	var ue *participle.UnexpectedTokenError
	if errors.As(err, &ue) {
		tok := ue.Unexpected
		at := clampPos(pos(tok.Pos), src)
		expected := ""
		if at.Offset == firstTokenOffset(src) {
			expected = first
		} else if rest, ok := strings.CutPrefix(ue.Message(), fmt.Sprintf("unexpected token %q (expected ", tok)); ok {
			expected = describeExpected(strings.TrimSuffix(rest, ")"))
		}
		if expected != "" {
			return &Error{Pos: at, Msg: "expected " + expected + ", found " + describeToken(tok)}
		}
		return &Error{Pos: at, Msg: "unexpected " + describeToken(tok)}
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		return &Error{Pos: clampPos(pos(pe.Position()), src), Msg: pe.Message()}
	}
	return &Error{Pos: Position{Line: 1, Column: 1}, Msg: err.Error()}
}

// clampPos makes sure an error position lies within src.
func clampPos(p Position, src string) Position {
	if p.Line < 1 || p.Offset < 0 || p.Offset > len(src) {
		return Position{Line: 1, Column: 1}
	}
	return p
}

// firstTokenOffset is the offset of the first token of src (after
// whitespace and comments).
func firstTokenOffset(src string) int {
	s := scanner{src: src, pos: Position{Line: 1, Column: 1}}
	_ = s.skipSpace()
	return s.pos.Offset
}

// describeToken names a token for an error message.
func describeToken(t lexer.Token) string {
	v := t.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch t.Type {
	case lexer.EOF:
		return "end of input"
	case tokKeyword:
		return strings.ToUpper(v)
	case tokIdent:
		return "identifier " + v
	case tokQIdent:
		return "quoted identifier " + v
	case tokString:
		return "string " + v
	case tokNumber:
		return "number " + v
	case tokParam:
		return "parameter " + v
	}
	return strconv.Quote(v)
}

// grammarNames describes the grammar's productions in error messages.
var grammarNames = map[string]string{
	"GStatement": "SELECT, EXPLAIN or TAIL",
	"GSelect":    "SELECT",
	"GTail":      "TAIL",
	"GTable":     "blocks",
	"GColumn":    "COUNT(*)|a field",
	"GOrder":     "COUNT(*)|a field",
	"GPropName":  "a property name",
	"GField":     "a field",
	"GValue":     "a value",
	"GOr":        "an expression",
	"GAnd":       "an expression",
	"GNot":       "an expression",
	"GTerm":      "an expression",
	"GPred":      "a field",
}

var tokenNames = map[string]string{
	"<ident>":   "an identifier",
	"<keyword>": "a keyword",
	"<qident>":  "a quoted identifier",
	"<string>":  "a string",
	"<number>":  "a number",
	"<param>":   "a parameter",
}

var comparisonOps = map[string]bool{`"="`: true, `"!="`: true, `"<>"`: true, `"<"`: true, `"<="`: true, `">"`: true, `">="`: true}

// describeExpected turns participle's expectation (the EBNF of what was
// left to match) into the list of things that could have come next.
func describeExpected(ebnf string) string {
	p := ebnfParser{src: ebnf}
	first, _, ok := p.alt()
	if !ok || len(first) == 0 {
		return ""
	}
	var items []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			items = append(items, s)
		}
	}
	for _, f := range first {
		switch {
		case comparisonOps[f]:
			add("a comparison operator")
		case strings.HasPrefix(f, `"`):
			lit, err := strconv.Unquote(f)
			if err != nil {
				return ""
			}
			if isIdentifier(lit) {
				add(lit)
			} else {
				add(f)
			}
		case tokenNames[f] != "":
			add(tokenNames[f])
		case grammarNames[f] != "":
			for _, d := range strings.Split(grammarNames[f], "|") {
				add(d)
			}
		default:
			return ""
		}
	}
	switch len(items) {
	case 1:
		return items[0]
	default:
		return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
	}
}

// ebnfParser computes FIRST sets of participle's EBNF rendering:
//
//	alt  = seq { "|" seq }
//	seq  = { item }
//	item = atom [ "*" | "?" | "+" ]
//	atom = "literal" | <token> | Name | "(" alt ")"
type ebnfParser struct {
	src string
	i   int
}

func (p *ebnfParser) skip() {
	for p.i < len(p.src) && p.src[p.i] == ' ' {
		p.i++
	}
}

func (p *ebnfParser) alt() (first []string, nullable, ok bool) {
	for {
		f, n, ok := p.seq()
		if !ok {
			return nil, false, false
		}
		first = append(first, f...)
		nullable = nullable || n
		p.skip()
		if p.i < len(p.src) && p.src[p.i] == '|' {
			p.i++
			continue
		}
		return first, nullable, true
	}
}

func (p *ebnfParser) seq() (first []string, nullable, ok bool) {
	nullable = true
	for {
		p.skip()
		if p.i >= len(p.src) || p.src[p.i] == '|' || p.src[p.i] == ')' {
			return first, nullable, true
		}
		f, n, ok := p.item()
		if !ok {
			return nil, false, false
		}
		if nullable {
			first = append(first, f...)
			nullable = n
		}
	}
}

func (p *ebnfParser) item() (first []string, nullable, ok bool) {
	first, nullable, ok = p.atom()
	if !ok {
		return nil, false, false
	}
	if p.i < len(p.src) {
		switch p.src[p.i] {
		case '*', '?':
			p.i++
			nullable = true
		case '+':
			p.i++
		}
	}
	return first, nullable, true
}

func (p *ebnfParser) atom() (first []string, nullable, ok bool) {
	p.skip()
	if p.i >= len(p.src) {
		return nil, false, false
	}
	start := p.i
	switch c := p.src[p.i]; {
	case c == '(':
		p.i++
		first, nullable, ok = p.alt()
		p.skip()
		if !ok || p.i >= len(p.src) || p.src[p.i] != ')' {
			return nil, false, false
		}
		p.i++
		return first, nullable, true
	case c == '"':
		p.i++
		for p.i < len(p.src) && p.src[p.i] != '"' {
			if p.src[p.i] == '\\' {
				p.i++
			}
			p.i++
		}
		if p.i >= len(p.src) {
			return nil, false, false
		}
		p.i++
	case c == '<':
		end := strings.IndexByte(p.src[p.i:], '>')
		if end < 0 {
			return nil, false, false
		}
		p.i += end + 1
	case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		for p.i < len(p.src) && isIdentPart(rune(p.src[p.i])) {
			p.i++
		}
	default:
		return nil, false, false
	}
	return []string{p.src[start:p.i]}, false, true
}
