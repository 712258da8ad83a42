package query

import (
	"strings"
	"time"
)

// This file holds the type rules for values: which literals each place in a
// statement accepts, and the conversions (ISO-8601 strings and milliseconds
// to times). Parse applies them to literals, Bind to bound parameters.

// slotKind is what a place in a statement expects.
type slotKind uint8

const (
	slotText  slotKind = iota + 1 // a string
	slotTime                      // a time: ISO-8601 string, milliseconds, time.Time
	slotJSON                      // a property value: string, number, bool, null
	slotCount                     // a non-negative integer (LIMIT, OFFSET)
	slotLSN                       // a non-negative integer log position (TAIL ... FROM)
	slotAsOf                      // a log position or a time (AS OF)
)

// slot describes a place that takes a Value.
type slot struct {
	kind     slotKind
	what     string // subject of messages: a field or a clause
	field    bool   // what is a field name (not a clause)
	op       Op     // the comparison, if any
	inList   bool   // an element of an IN list
	nullOK   bool   // NULL is allowed
	nonEmpty bool   // the empty string is not allowed
	like     bool   // a LIKE pattern
}

// compareSlot is the slot of the value in "f op value".
func compareSlot(f *Field, op Op) slot {
	s := slot{what: f.String(), field: true, op: op}
	switch {
	case f.Kind.IsTime():
		s.kind = slotTime
	case f.Kind == FieldProp:
		s.kind = slotJSON
		s.nullOK = !op.IsOrdering()
	default:
		s.kind = slotText
		s.nullOK = f.Kind.IsNullable() && !op.IsOrdering()
	}
	return s
}

// inSlot is the slot of each value in "f IN (...)".
func inSlot(f *Field) slot {
	s := compareSlot(f, OpEq)
	s.op = 0
	s.inList = true
	s.nullOK = false
	return s
}

var (
	likeSlot       = slot{kind: slotText, what: "LIKE", like: true}
	containsSlot   = slot{kind: slotText, what: "CONTAINS"}
	workspaceSlot  = slot{kind: slotText, what: "IN (workspace)", nonEmpty: true}
	limitSlot      = slot{kind: slotCount, what: "LIMIT"}
	offsetSlot     = slot{kind: slotCount, what: "OFFSET"}
	asOfSlot       = slot{kind: slotAsOf, what: "AS OF"}
	tailFromSlot   = slot{kind: slotLSN, what: "FROM"}
	linksToSlot    = slot{kind: slotText, what: "LINKS TO", nonEmpty: true}
	linkedFromSlot = slot{kind: slotText, what: "LINKED FROM", nonEmpty: true}
	childOfSlot    = slot{kind: slotText, what: "CHILD OF", nonEmpty: true}
	descendantSlot = slot{kind: slotText, what: "DESCENDANT OF", nonEmpty: true}
)

// checkValue checks lit against s and returns it, converted where the slot
// converts (strings and integers to times). lit is not modified.
func checkValue(s slot, lit *Literal) (*Literal, error) {
	if lit.Kind == KindNull {
		switch {
		case s.nullOK:
			return lit, nil
		case s.inList && (s.kind == slotJSON || s.what == "parent"):
			return nil, errorf(lit.At, "NULL cannot appear in an IN list; use %s = NULL", s.what)
		case s.op.IsOrdering():
			return nil, errorf(lit.At, "cannot use %s with NULL", s.op)
		case s.field && s.kind != slotJSON:
			return nil, errorf(lit.At, "%s is never NULL", s.what)
		}
	}
	switch s.kind {
	case slotText:
		if lit.Kind != KindString {
			return nil, needs(s, "a string", lit)
		}
		if s.nonEmpty && lit.Str == "" {
			if s == workspaceSlot {
				return nil, errorf(lit.At, "workspace name must not be empty")
			}
			return nil, errorf(lit.At, "%s needs a block id, got ''", s.what)
		}
		if s.like {
			if err := checkLikePattern(lit); err != nil {
				return nil, err
			}
		}
		return lit, nil
	case slotTime:
		if t, ok := toTime(lit); ok {
			return t, nil
		}
		if lit.Kind == KindTime || lit.Kind == KindInt {
			return nil, errorf(lit.At, "%s: time %s is out of range (years 0000 to 9999)", s.what, lit)
		}
		if lit.Kind == KindString {
			return nil, errorf(lit.At, "%s needs a time, got %s (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')", s.what, lit)
		}
		return nil, needs(s, "a time", lit)
	case slotJSON:
		switch lit.Kind {
		case KindString, KindInt, KindFloat:
			return lit, nil
		case KindBool:
			if s.op.IsOrdering() {
				return nil, errorf(lit.At, "cannot use %s with %s", s.op, lit)
			}
			return lit, nil
		}
		return nil, needs(s, "a string, number or boolean", lit)
	case slotCount, slotLSN:
		if lit.Kind != KindInt || lit.Int < 0 {
			return nil, needs(s, "a non-negative integer", lit)
		}
		return lit, nil
	case slotAsOf:
		if lit.Kind == KindInt && lit.Int >= 0 {
			return lit, nil
		}
		if lit.Kind == KindString || lit.Kind == KindTime {
			if t, ok := toTime(lit); ok {
				return t, nil
			}
		}
		return nil, needs(s, "a log position (a non-negative integer) or an ISO-8601 time", lit)
	}
	return lit, nil
}

func needs(s slot, what string, lit *Literal) *Error {
	return errorf(lit.At, "%s needs %s, got %s", s.what, what, lit)
}

// toTime converts a string, integer (ms since the epoch) or time literal to
// a time literal in UTC within years 0000-9999.
func toTime(lit *Literal) (*Literal, bool) {
	var t time.Time
	switch lit.Kind {
	case KindTime:
		t = lit.Time
	case KindInt:
		t = time.UnixMilli(lit.Int)
	case KindString:
		var ok bool
		if t, ok = parseTime(lit.Str); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, false
	}
	return &Literal{At: lit.At, Kind: KindTime, Time: t}, true
}

// timeLayouts are the ISO-8601 forms OQL accepts. A missing zone means UTC;
// fractional seconds are optional in the last two.
var timeLayouts = []string{
	"2006-01-02",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
}

// parseTime parses an ISO-8601 date or date-time. A space may stand for
// the T.
func parseTime(s string) (time.Time, bool) {
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// checkLikePattern rejects a pattern that ends inside an escape.
func checkLikePattern(lit *Literal) error {
	p := lit.Str
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			if i == len(p)-1 {
				return errorf(lit.At, `LIKE pattern ends with an unfinished escape (a lone \)`)
			}
			i++
		}
	}
	return nil
}

// checkTextField rejects fields that never hold text, for LIKE and CONTAINS.
func checkTextField(op string, f *Field) error {
	if f.Kind.IsTime() {
		return errorf(f.At, "%s needs a text field; %s is a time", op, f)
	}
	return nil
}

// lookupField maps a field name (case-insensitive) to its kind.
func lookupField(name string) (FieldKind, bool) {
	switch strings.ToLower(name) {
	case "id":
		return FieldID, true
	case "type", "flavour":
		return FieldType, true
	case "creator":
		return FieldCreator, true
	case "created":
		return FieldCreated, true
	case "updated":
		return FieldUpdated, true
	case "parent":
		return FieldParent, true
	case "prop":
		return FieldProp, true
	}
	return 0, false
}

func sameField(a, b *Field) bool { return a.Kind == b.Kind && a.Prop == b.Prop }
