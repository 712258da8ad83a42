package query

import (
	"strconv"
	"time"
)

// Node is any node of the AST. Pos is where the node's text starts.
type Node interface {
	Pos() Position
	// String returns the node as canonical OQL (see Format).
	String() string
}

// Stmt is a statement: *Select or *Tail.
type Stmt interface {
	Node
	stmtNode()
}

// Expr is a boolean expression: *And, *Or, *Not, *Compare, *In, *Like,
// *Has, *LinksTo, *LinkedFrom, *ChildOf, *DescendantOf or *Contains.
type Expr interface {
	Node
	exprNode()
}

// Value is a literal or a parameter: *Literal or *Param. A statement
// returned by Bind holds no *Param.
type Value interface {
	Node
	valueNode()
}

// Select is
//
//	[EXPLAIN] SELECT columns FROM blocks [IN ws] [WHERE expr] [GROUP BY field]
//	  [ORDER BY key {, key}] [LIMIT n [OFFSET m]] [AS OF lsn|time]
type Select struct {
	At      Position
	Explain bool
	// Star is SELECT *; then Columns is nil. Otherwise Columns lists the
	// fields and COUNT(*) in the order written.
	Star    bool
	Columns []*Column
	// Workspace is the string after IN; nil means the request's workspace.
	Workspace Value
	// Where is nil when every block matches.
	Where   Expr
	GroupBy *Field
	OrderBy []*OrderItem
	// Limit and Offset are non-negative integers; nil means none.
	Limit  Value
	Offset Value
	// AsOf is nil for the current state, a KindInt literal for a log
	// position (LSN) or a KindTime literal for a point in time.
	AsOf Value
}

// Tail is a change stream:
//
//	TAIL blocks [IN ws] [WHERE expr] [FROM lsn | FROM NOW]
type Tail struct {
	At        Position
	Workspace Value
	Where     Expr
	// From is the log position (a KindInt literal) to replay from; nil means
	// FROM NOW, the default: only changes after the subscription.
	From Value
}

// Column is one item of a select list: a field, or COUNT(*) when Field is nil.
type Column struct {
	At    Position
	Field *Field
}

// IsCount reports whether c is COUNT(*).
func (c *Column) IsCount() bool { return c.Field == nil }

// OrderItem is one ORDER BY key: a field, or COUNT(*) when Field is nil.
type OrderItem struct {
	At    Position
	Field *Field
	Desc  bool
}

// IsCount reports whether o orders by COUNT(*).
func (o *OrderItem) IsCount() bool { return o.Field == nil }

// FieldKind says which attribute of a block a Field names.
type FieldKind uint8

const (
	FieldID      FieldKind = iota + 1 // id: the block id (sys:id)
	FieldType                         // type, alias flavour (sys:flavour)
	FieldCreator                      // creator (sys:creator)
	FieldCreated                      // created: creation time (sys:created)
	FieldUpdated                      // updated: last update time (space:updated)
	FieldParent                       // parent: the parent's id (sys:parent), null for roots
	FieldProp                         // prop.<name>: a content property (prop:<name>)
)

var fieldNames = [...]string{
	FieldID:      "id",
	FieldType:    "type",
	FieldCreator: "creator",
	FieldCreated: "created",
	FieldUpdated: "updated",
	FieldParent:  "parent",
	FieldProp:    "prop",
}

// String returns the field kind's OQL name ("prop" for FieldProp).
func (k FieldKind) String() string {
	if int(k) < len(fieldNames) && fieldNames[k] != "" {
		return fieldNames[k]
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// IsTime reports whether the field holds a time (created, updated).
func (k FieldKind) IsTime() bool { return k == FieldCreated || k == FieldUpdated }

// IsText reports whether the field always holds a string (id, type,
// creator, parent).
func (k FieldKind) IsText() bool {
	return k == FieldID || k == FieldType || k == FieldCreator || k == FieldParent
}

// IsNullable reports whether the field can be absent: parent (for root
// blocks) and properties.
func (k FieldKind) IsNullable() bool { return k == FieldParent || k == FieldProp }

// Field names a block attribute. Prop is the property name for FieldProp
// and empty otherwise.
type Field struct {
	At   Position
	Kind FieldKind
	Prop string
}

// Op is a comparison operator.
type Op uint8

const (
	OpEq Op = iota + 1 // =
	OpNe               // != (also written <>)
	OpLt               // <
	OpLe               // <=
	OpGt               // >
	OpGe               // >=
)

var opNames = [...]string{OpEq: "=", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// IsOrdering reports whether o is <, <=, > or >=.
func (o Op) IsOrdering() bool { return o >= OpLt && o <= OpGe }

// Kind is the type of a Literal.
type Kind uint8

const (
	KindString Kind = iota + 1
	KindInt
	KindFloat
	KindBool
	KindNull
	KindTime
)

var kindNames = [...]string{
	KindString: "string", KindInt: "int", KindFloat: "float",
	KindBool: "bool", KindNull: "null", KindTime: "time",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Literal is a constant. Kind says which of the value fields is set.
// Times are in UTC; time literals only appear where a time is expected
// (created, updated, AS OF), converted from ISO-8601 strings or from
// milliseconds since the Unix epoch.
type Literal struct {
	At    Position
	Kind  Kind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Time  time.Time
}

// Param is a positional parameter $N (N ≥ 1), replaced by Bind.
type Param struct {
	At Position
	N  int
}

// And is true when every term is; it has at least two terms, none an *And.
type And struct {
	At    Position
	Terms []Expr
}

// Or is true when any term is; it has at least two terms, none an *Or.
type Or struct {
	At    Position
	Terms []Expr
}

// Not negates X.
type Not struct {
	At Position
	X  Expr
}

// Compare is Field Op Value.
type Compare struct {
	At    Position
	Field *Field
	Op    Op
	Value Value
}

// In is Field [NOT] IN (Values...); Values is never empty.
type In struct {
	At     Position
	Field  *Field
	Not    bool
	Values []Value
}

// Like is Field [NOT] LIKE Pattern: % matches any run of characters, _ one
// character, and a backslash makes the next character literal.
type Like struct {
	At      Position
	Field   *Field
	Not     bool
	Pattern Value
}

// Has is HAS Field: the field is present (parent: the block is not a root).
type Has struct {
	At    Position
	Field *Field
}

// LinksTo is LINKS TO ID: the block holds a reference to block ID.
type LinksTo struct {
	At Position
	ID Value
}

// LinkedFrom is LINKED FROM ID: block ID holds a reference to the block.
type LinkedFrom struct {
	At Position
	ID Value
}

// ChildOf is CHILD OF ID: the block's parent is ID.
type ChildOf struct {
	At Position
	ID Value
}

// DescendantOf is DESCENDANT OF ID: ID is the block's parent, grandparent, ...
type DescendantOf struct {
	At Position
	ID Value
}

// Contains is Field CONTAINS Text: the field's text contains Text.
type Contains struct {
	At    Position
	Field *Field
	Text  Value
}

func (n *Select) Pos() Position       { return n.At }
func (n *Tail) Pos() Position         { return n.At }
func (n *Column) Pos() Position       { return n.At }
func (n *OrderItem) Pos() Position    { return n.At }
func (n *Field) Pos() Position        { return n.At }
func (n *Literal) Pos() Position      { return n.At }
func (n *Param) Pos() Position        { return n.At }
func (n *And) Pos() Position          { return n.At }
func (n *Or) Pos() Position           { return n.At }
func (n *Not) Pos() Position          { return n.At }
func (n *Compare) Pos() Position      { return n.At }
func (n *In) Pos() Position           { return n.At }
func (n *Like) Pos() Position         { return n.At }
func (n *Has) Pos() Position          { return n.At }
func (n *LinksTo) Pos() Position      { return n.At }
func (n *LinkedFrom) Pos() Position   { return n.At }
func (n *ChildOf) Pos() Position      { return n.At }
func (n *DescendantOf) Pos() Position { return n.At }
func (n *Contains) Pos() Position     { return n.At }

func (*Select) stmtNode() {}
func (*Tail) stmtNode()   {}

func (*And) exprNode()          {}
func (*Or) exprNode()           {}
func (*Not) exprNode()          {}
func (*Compare) exprNode()      {}
func (*In) exprNode()           {}
func (*Like) exprNode()         {}
func (*Has) exprNode()          {}
func (*LinksTo) exprNode()      {}
func (*LinkedFrom) exprNode()   {}
func (*ChildOf) exprNode()      {}
func (*DescendantOf) exprNode() {}
func (*Contains) exprNode()     {}

func (*Literal) valueNode() {}
func (*Param) valueNode()   {}
