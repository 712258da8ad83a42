package query

import (
	"fmt"
	"strings"
)

// Position is a place in OQL source text.
//
// Line and Column are 1-based; Column counts Unicode code points (a tab is
// one column), so it matches what most editors show. Offset is the 0-based
// byte offset. The zero Position means "unknown".
type Position struct {
	Offset int
	Line   int
	Column int
}

// IsValid reports whether p refers to a place in some source.
func (p Position) IsValid() bool { return p.Line > 0 }

// String returns "line:column".
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

// Error is the only error type returned by Parse, ParseExpr, Bind and
// BindExpr. Pos is where the problem is (for an unexpected end of input, the
// end of the input); Msg is a one-line message without position or prefix.
type Error struct {
	Pos Position
	Msg string
}

// Error returns "oql: line:column: message".
func (e *Error) Error() string { return "oql: " + e.Pos.String() + ": " + e.Msg }

// Pretty renders the error as three lines: the message, the offending line
// of src and a caret under the column. src must be the text the error came
// from; if the position does not fit src, Pretty returns just Error().
func (e *Error) Pretty(src string) string {
	off := e.Pos.Offset
	if off < 0 || off > len(src) {
		return e.Error()
	}
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += off
	}
	line := strings.TrimSuffix(src[start:end], "\r")
	var caret strings.Builder
	for _, r := range src[start:off] {
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	caret.WriteByte('^')
	return e.Error() + "\n" + line + "\n" + caret.String()
}

func errorf(pos Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
