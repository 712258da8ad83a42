package query

import (
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types of the OQL lexer. Values of String and QIdent tokens keep
// their quotes and escapes (so that a string can never be mistaken for a
// keyword or an operator by the grammar); unquote decodes them.
const (
	tokKeyword lexer.TokenType = -(iota + 2)
	tokIdent
	tokQIdent // "quoted identifier"
	tokString // 'string literal'
	tokNumber
	tokParam // $1
	tokPunct
)

var tokenSymbols = map[string]lexer.TokenType{
	"EOF":     lexer.EOF,
	"Keyword": tokKeyword,
	"Ident":   tokIdent,
	"QIdent":  tokQIdent,
	"String":  tokString,
	"Number":  tokNumber,
	"Param":   tokParam,
	"Punct":   tokPunct,
}

// keywords are reserved words, matched case-insensitively. Field names
// (id, type, ...) and the table name blocks are not keywords.
var keywords = map[string]bool{
	"AND": true, "AS": true, "ASC": true, "BY": true, "CHILD": true,
	"CONTAINS": true, "COUNT": true, "DESC": true, "DESCENDANT": true,
	"EXPLAIN": true, "FALSE": true, "FROM": true, "GROUP": true, "HAS": true,
	"IN": true, "LIKE": true, "LIMIT": true, "LINKED": true, "LINKS": true,
	"NOT": true, "NOW": true, "NULL": true, "OF": true, "OFFSET": true,
	"OR": true, "ORDER": true, "SELECT": true, "TAIL": true, "TO": true,
	"TRUE": true, "WHERE": true,
}

// maxKeywordLen is the length of the longest keyword.
const maxKeywordLen = len("DESCENDANT")

// maxNesting bounds how deeply parentheses and NOTs may nest, so that hostile
// input cannot exhaust the stack of the (recursive) parser.
const maxNesting = 100

// lexDef is the participle lexer definition for OQL. It is stateless.
type lexDef struct{}

var _ lexer.StringDefinition = lexDef{}

func (lexDef) Symbols() map[string]lexer.TokenType { return tokenSymbols }

func (d lexDef) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return d.LexString(filename, string(b))
}

func (lexDef) LexString(_ string, src string) (lexer.Lexer, error) {
	return &scanner{src: src, pos: Position{Line: 1, Column: 1}}, nil
}

// scanner produces OQL tokens. Whitespace and -- comments are skipped.
type scanner struct {
	src string
	pos Position // of the next unread byte

	// Nesting accounting (see maxNesting): base is the depth contributed by
	// the enclosing open parentheses, notRun the NOTs just before here.
	base    int
	notRun  int
	nesting []int
}

func (s *scanner) lpos() lexer.Position {
	return lexer.Position{Offset: s.pos.Offset, Line: s.pos.Line, Column: s.pos.Column}
}

// peek returns the rune at the read position (utf8.RuneError, 0 at the end).
func (s *scanner) peek() (rune, int) {
	if s.pos.Offset >= len(s.src) {
		return utf8.RuneError, 0
	}
	if c := s.src[s.pos.Offset]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s.src[s.pos.Offset:])
}

// advance moves over one rune of size n.
func (s *scanner) advance(r rune, n int) {
	s.pos.Offset += n
	if r == '\n' {
		s.pos.Line++
		s.pos.Column = 1
	} else {
		s.pos.Column++
	}
}

// next reads one rune, reporting invalid UTF-8 as an error.
func (s *scanner) next() (rune, error) {
	r, n := s.peek()
	if r == utf8.RuneError && n == 1 {
		return r, errorf(s.pos, "invalid UTF-8 encoding")
	}
	s.advance(r, n)
	return r, nil
}

func isIdentStart(r rune) bool {
	return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || '0' <= r && r <= '9' || r >= utf8.RuneSelf && unicode.IsDigit(r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

func (s *scanner) Next() (lexer.Token, error) {
	if err := s.skipSpace(); err != nil {
		return lexer.Token{}, err
	}
	start := s.pos
	tok := lexer.Token{Pos: s.lpos()}
	if start.Offset >= len(s.src) {
		tok.Type = lexer.EOF
		return tok, nil
	}
	r, n := s.peek()
	if r == utf8.RuneError && n == 1 {
		return tok, errorf(start, "invalid UTF-8 encoding")
	}
	c := s.src[start.Offset]
	var err error
	switch {
	case isIdentStart(r):
		s.scanIdent()
		tok.Type = tokIdent
		if isKeyword(s.src[start.Offset:s.pos.Offset]) {
			tok.Type = tokKeyword
		}
	case isDigit(c) || c == '-' && start.Offset+1 < len(s.src) && isDigit(s.src[start.Offset+1]):
		tok.Type = tokNumber
		err = s.scanNumber()
	case c == '$':
		tok.Type = tokParam
		s.advance('$', 1)
		if s.pos.Offset >= len(s.src) || !isDigit(s.src[s.pos.Offset]) {
			return tok, errorf(start, "expected a parameter number after $ (like $1)")
		}
		for s.pos.Offset < len(s.src) && isDigit(s.src[s.pos.Offset]) {
			s.advance('0', 1)
		}
		if r, _ := s.peek(); s.pos.Offset < len(s.src) && isIdentPart(r) {
			return tok, errorf(start, "malformed parameter %s", s.src[start.Offset:s.pos.Offset])
		}
	case c == '\'':
		tok.Type = tokString
		err = s.scanQuoted('\'')
	case c == '"':
		tok.Type = tokQIdent
		err = s.scanQuoted('"')
	default:
		tok.Type = tokPunct
		err = s.scanPunct()
	}
	if err != nil {
		return tok, err
	}
	tok.Value = s.src[start.Offset:s.pos.Offset]
	if err := s.account(tok); err != nil {
		return tok, err
	}
	return tok, nil
}

// account tracks nesting depth and rejects input nested beyond maxNesting.
func (s *scanner) account(tok lexer.Token) error {
	switch {
	case tok.Type == tokPunct && tok.Value == "(":
		s.nesting = append(s.nesting, s.base)
		s.base += s.notRun + 1
		s.notRun = 0
	case tok.Type == tokPunct && tok.Value == ")":
		if k := len(s.nesting); k > 0 {
			s.base = s.nesting[k-1]
			s.nesting = s.nesting[:k-1]
		}
		s.notRun = 0
		return nil
	case tok.Type == tokKeyword && len(tok.Value) == 3 && isKeywordFold(tok.Value, "NOT"):
		s.notRun++
	default:
		s.notRun = 0
		return nil
	}
	if s.base+s.notRun > maxNesting {
		return errorf(Position{Offset: tok.Pos.Offset, Line: tok.Pos.Line, Column: tok.Pos.Column},
			"expression nested too deeply (more than %d levels)", maxNesting)
	}
	return nil
}

func isKeywordFold(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

func isKeyword(word string) bool {
	if len(word) > maxKeywordLen {
		return false
	}
	var buf [maxKeywordLen]byte
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return keywords[string(buf[:len(word)])]
}

func (s *scanner) skipSpace() error {
	for s.pos.Offset < len(s.src) {
		c := s.src[s.pos.Offset]
		switch {
		case isSpace(rune(c)):
			s.advance(rune(c), 1)
		case c == '-' && s.pos.Offset+1 < len(s.src) && s.src[s.pos.Offset+1] == '-':
			for s.pos.Offset < len(s.src) && s.src[s.pos.Offset] != '\n' {
				if _, err := s.next(); err != nil {
					return err
				}
			}
		default:
			return nil
		}
	}
	return nil
}

func (s *scanner) scanIdent() {
	for {
		r, n := s.peek()
		if n == 0 || !isIdentPart(r) {
			return
		}
		s.advance(r, n)
	}
}

// scanNumber scans -?digits[.digits][(e|E)[+-]digits].
func (s *scanner) scanNumber() error {
	start := s.pos
	digits := func() int {
		k := 0
		for s.pos.Offset < len(s.src) && isDigit(s.src[s.pos.Offset]) {
			s.advance('0', 1)
			k++
		}
		return k
	}
	if s.src[s.pos.Offset] == '-' {
		s.advance('-', 1)
	}
	digits()
	if s.pos.Offset+1 < len(s.src) && s.src[s.pos.Offset] == '.' && isDigit(s.src[s.pos.Offset+1]) {
		s.advance('.', 1)
		digits()
	}
	if s.pos.Offset < len(s.src) && (s.src[s.pos.Offset] == 'e' || s.src[s.pos.Offset] == 'E') {
		s.advance('e', 1)
		if s.pos.Offset < len(s.src) && (s.src[s.pos.Offset] == '+' || s.src[s.pos.Offset] == '-') {
			s.advance('+', 1)
		}
		if digits() == 0 {
			return errorf(start, "malformed number %s", s.src[start.Offset:s.pos.Offset])
		}
	}
	if r, n := s.peek(); n > 0 && (isIdentPart(r) || r == '.') {
		s.advance(r, n)
		return errorf(start, "malformed number %s", s.src[start.Offset:s.pos.Offset])
	}
	return nil
}

// scanQuoted scans a literal delimited by q. Inside, qq stands for q and a
// backslash starts an escape (see unquote); raw newlines are allowed.
func (s *scanner) scanQuoted(q byte) error {
	start := s.pos
	s.advance(rune(q), 1)
	for {
		if s.pos.Offset >= len(s.src) {
			if q == '\'' {
				return errorf(start, "unterminated string literal")
			}
			return errorf(start, "unterminated quoted identifier")
		}
		c := s.src[s.pos.Offset]
		switch c {
		case q:
			s.advance(rune(q), 1)
			if s.pos.Offset < len(s.src) && s.src[s.pos.Offset] == q {
				s.advance(rune(q), 1)
				continue
			}
			return nil
		case '\\':
			esc := s.pos
			s.advance('\\', 1)
			_, n, err := unescape(s.src[s.pos.Offset:], esc)
			if err != nil {
				return err
			}
			for ; n > 0; n-- { // escapes are ASCII
				s.advance(' ', 1)
			}
			continue
		}
		if _, err := s.next(); err != nil {
			return err
		}
	}
}

// unescape decodes the escape sequence at the start of rest (just after a
// backslash at pos). It returns the decoded text and the number of bytes of
// rest consumed.
//
// Escapes: \\ \' \" \n \r \t \uXXXX. \% and \_ stand for themselves with
// the backslash kept (so LIKE patterns can write '100\%'). Anything else is
// an error.
func unescape(rest string, pos Position) (string, int, error) {
	if rest == "" {
		return "", 0, errorf(pos, "unterminated escape sequence")
	}
	switch rest[0] {
	case '\\':
		return `\`, 1, nil
	case '\'':
		return `'`, 1, nil
	case '"':
		return `"`, 1, nil
	case 'n':
		return "\n", 1, nil
	case 'r':
		return "\r", 1, nil
	case 't':
		return "\t", 1, nil
	case '%':
		return `\%`, 1, nil
	case '_':
		return `\_`, 1, nil
	case 'u':
		if len(rest) < 5 {
			return "", 0, errorf(pos, `\u needs four hex digits`)
		}
		var r rune
		for i := 1; i < 5; i++ {
			c := rest[i]
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return "", 0, errorf(pos, `\u needs four hex digits`)
			}
			r = r<<4 | rune(d)
		}
		if 0xD800 <= r && r <= 0xDFFF {
			return "", 0, errorf(pos, `\u%04X is a surrogate half, not a character`, r)
		}
		return string(r), 5, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if r == utf8.RuneError {
		return "", 0, errorf(pos, "unknown escape sequence")
	}
	return "", 0, errorf(pos, `unknown escape sequence \%c`, r)
}

// unquote decodes a String or QIdent token value that the scanner accepted.
func unquote(raw string) string {
	q := raw[0]
	body := raw[1 : len(raw)-1]
	// Fast path: nothing to decode.
	simple := true
	for i := 0; i < len(body); i++ {
		if body[i] == q || body[i] == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return body
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		switch c {
		case q: // doubled quote
			out = append(out, q)
			i += 2
		case '\\':
			dec, n, err := unescape(body[i+1:], Position{})
			if err != nil {
				panic("query: unquote of an unchecked literal: " + raw)
			}
			out = append(out, dec...)
			i += 1 + n
		default:
			out = append(out, c)
			i++
		}
	}
	return string(out)
}

func (s *scanner) scanPunct() error {
	start := s.pos
	c := s.src[s.pos.Offset]
	two := ""
	if s.pos.Offset+1 < len(s.src) {
		two = s.src[s.pos.Offset : s.pos.Offset+2]
	}
	switch {
	case two == "!=" || two == "<>" || two == "<=" || two == ">=":
		s.advance(' ', 1)
		s.advance(' ', 1)
		return nil
	}
	switch c {
	case '=', '<', '>', '(', ')', ',', '.', '*', ';':
		s.advance(rune(c), 1)
		return nil
	}
	r, _ := s.peek()
	if r < ' ' || r == 0x7f {
		return errorf(start, "unexpected character U+%04X", r)
	}
	return errorf(start, "unexpected character %q", r)
}
