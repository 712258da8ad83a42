package query

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file holds the participle grammar. Its structs mirror the syntax and
// are converted into the typed AST (ast.go) by build.go; nothing outside
// this package sees them. Literals in tags are untyped: the lexer keeps
// quotes on String and QIdent values, so a string can never match a keyword
// or an operator.

type gStatement struct {
	Select *gSelect `parser:"(  @@"`
	Tail   *gTail   `parser:" | @@ )"`
	Semi   bool     `parser:"@';'?"`
}

type gExprOnly struct {
	Expr *gOr `parser:"@@"`
	Semi bool `parser:"@';'?"`
}

type gSelect struct {
	Pos     lexer.Position
	Explain bool       `parser:"@'EXPLAIN'? 'SELECT'"`
	Star    bool       `parser:"(  @'*'"`
	Columns []*gColumn `parser:" | @@ ( ',' @@ )* )"`
	Table   *gTable    `parser:"'FROM' @@"`
	Space   *gValue    `parser:"( 'IN' @@ )?"`
	Where   *gOr       `parser:"( 'WHERE' @@ )?"`
	GroupBy *gField    `parser:"( 'GROUP' 'BY' @@ )?"`
	OrderBy []*gOrder  `parser:"( 'ORDER' 'BY' @@ ( ',' @@ )* )?"`
	Limit   *gValue    `parser:"( 'LIMIT' @@"`
	Offset  *gValue    `parser:"  ( 'OFFSET' @@ )? )?"`
	AsOf    *gValue    `parser:"( 'AS' 'OF' @@ )?"`
}

type gTail struct {
	Pos   lexer.Position
	Table *gTable `parser:"'TAIL' @@"`
	Space *gValue `parser:"( 'IN' @@ )?"`
	Where *gOr    `parser:"( 'WHERE' @@ )?"`
	Now   bool    `parser:"( 'FROM' (  @'NOW'"`
	From  *gValue `parser:"          | @@ ) )?"`
}

type gTable struct {
	Pos  lexer.Position
	Name string `parser:"@Ident"`
}

type gColumn struct {
	Pos   lexer.Position
	Count bool    `parser:"  @'COUNT' '(' '*' ')'"`
	Field *gField `parser:"| @@"`
}

type gOrder struct {
	Pos   lexer.Position
	Count bool    `parser:"(  @'COUNT' '(' '*' ')'"`
	Field *gField `parser:" | @@ )"`
	Dir   string  `parser:"@( 'ASC' | 'DESC' )?"`
}

type gField struct {
	Pos  lexer.Position
	Name string     `parser:"@Ident"`
	Sub  *gPropName `parser:"( '.' @@ )?"`
}

// gPropName is the name after prop.: an identifier, a keyword, or quoted.
type gPropName struct {
	Tok lexer.Token `parser:"@( Ident | Keyword | QIdent | String )"`
}

type gValue struct {
	Tok lexer.Token `parser:"@( String | Number | Param | 'TRUE' | 'FALSE' | 'NULL' )"`
}

type gOr struct {
	Pos   lexer.Position
	Terms []*gAnd `parser:"@@ ( 'OR' @@ )*"`
}

type gAnd struct {
	Pos   lexer.Position
	Terms []*gNot `parser:"@@ ( 'AND' @@ )*"`
}

type gNot struct {
	Pos  lexer.Position
	Not  *gNot  `parser:"  'NOT' @@"`
	Term *gTerm `parser:"| @@"`
}

type gTerm struct {
	Pos        lexer.Position
	Group      *gOr    `parser:"  '(' @@ ')'"`
	Has        *gField `parser:"| 'HAS' @@"`
	LinksTo    *gValue `parser:"| 'LINKS' 'TO' @@"`
	LinkedFrom *gValue `parser:"| 'LINKED' 'FROM' @@"`
	ChildOf    *gValue `parser:"| 'CHILD' 'OF' @@"`
	Descendant *gValue `parser:"| 'DESCENDANT' 'OF' @@"`
	Pred       *gPred  `parser:"| @@"`
}

type gPred struct {
	Pos      lexer.Position
	Field    *gField   `parser:"@@"`
	Op       string    `parser:"(  @( '=' | '!=' | '<>' | '<=' | '>=' | '<' | '>' )"`
	Value    *gValue   `parser:"   @@"`
	NotIn    []*gValue `parser:" | 'NOT' (  'IN' '(' @@ ( ',' @@ )* ')'"`
	NotLike  *gValue   `parser:"          | 'LIKE' @@ )"`
	In       []*gValue `parser:" | 'IN' '(' @@ ( ',' @@ )* ')'"`
	Like     *gValue   `parser:" | 'LIKE' @@"`
	Contains *gValue   `parser:" | 'CONTAINS' @@ )"`
}

// The grammar is LL(1): every alternative and optional part is decided by
// its first token. UseLookahead(0) makes participle commit to a branch once
// it has consumed a token, so an error inside a list or an optional clause
// is reported where it happens ("IN ('a',)" fails at the ")"), not where the
// branch started.
//
// The parsers are built once, in init (after every package-level variable,
// including the lexer's tables, is ready). Participle parsers are safe for
// concurrent use: each parse has its own context.
var (
	stmtParser *participle.Parser[gStatement]
	exprParser *participle.Parser[gExprOnly]
)

func init() {
	stmtParser = participle.MustBuild[gStatement](
		participle.Lexer(lexDef{}),
		participle.CaseInsensitive("Keyword"),
		participle.UseLookahead(0),
	)
	exprParser = participle.MustBuild[gExprOnly](
		participle.Lexer(lexDef{}),
		participle.CaseInsensitive("Keyword"),
		participle.UseLookahead(0),
	)
}
