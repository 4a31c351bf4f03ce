package attr

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Path names an attribute as RFC 7644 section 3.5.2 writes PATCH paths:
// [URI ":"] name ["." sub], or [URI ":"] name "[" filter "]" ["." sub].
// Names keep the spelling the client used; Schemas.Resolve canonicalises
// them.
type Path struct {
	// URI is the schema URN prefix without its final colon; "" if absent.
	URI string
	// Name is the attribute name.
	Name string
	// Filter is the value filter between brackets, or nil.
	Filter Expr
	// Sub is the sub-attribute name, or "".
	Sub string
}

// String renders p in the grammar ParsePath reads.
func (p Path) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p Path) write(b *strings.Builder) {
	b.WriteString(p.attrString())
	if p.Filter != nil {
		b.WriteByte('[')
		p.Filter.write(b)
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

// attrString renders the URI and name only.
func (p Path) attrString() string {
	if p.URI == "" {
		return p.Name
	}
	return p.URI + ":" + p.Name
}

// Operator is a comparison operator of a filter (RFC 7644 section
// 3.4.2.2), always in lower case.
type Operator string

// The comparison operators.
const (
	Eq Operator = "eq"
	Ne Operator = "ne"
	Co Operator = "co"
	Sw Operator = "sw"
	Ew Operator = "ew"
	Pr Operator = "pr"
	Gt Operator = "gt"
	Ge Operator = "ge"
	Lt Operator = "lt"
	Le Operator = "le"
)

func operator(word string) (Operator, bool) {
	switch strings.ToLower(word) {
	case "eq":
		return Eq, true
	case "ne":
		return Ne, true
	case "co":
		return Co, true
	case "sw":
		return Sw, true
	case "ew":
		return Ew, true
	case "pr":
		return Pr, true
	case "gt":
		return Gt, true
	case "ge":
		return Ge, true
	case "lt":
		return Lt, true
	case "le":
		return Le, true
	}
	return "", false
}

// Expr is a parsed filter expression: *Comparison, *And, *Or, *Not or
// *ValuePath. An Expr is immutable and safe to share between goroutines.
type Expr interface {
	// String renders the expression in the grammar ParseFilter reads.
	String() string
	write(b *strings.Builder)
}

// Comparison is an attribute expression: Path Op Value, or Path pr. Value is
// a string, bool, float64 or nil (the literal null), and nil for pr. Path
// may carry a value filter and a sub-attribute, as in the filter
// emails[type eq "work"].value eq "x" that Microsoft Entra ID sends.
type Comparison struct {
	Path  Path
	Op    Operator
	Value any
}

// And is true when both sides are.
type And struct{ Left, Right Expr }

// Or is true when either side is.
type Or struct{ Left, Right Expr }

// Not negates X.
type Not struct{ X Expr }

// ValuePath is a filter on the values of a complex attribute, such as
// emails[type eq "work" and primary eq true]; Path.Filter holds the inner
// filter, whose paths are relative to the attribute, and Path.Sub is "".
type ValuePath struct{ Path Path }

// String renders the expression in the grammar ParseFilter reads; so do
// the String methods of the other node types.
func (e *Comparison) String() string { return render(e) }
func (e *And) String() string        { return render(e) }
func (e *Or) String() string         { return render(e) }
func (e *Not) String() string        { return render(e) }
func (e *ValuePath) String() string  { return render(e) }

func render(e Expr) string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Comparison) write(b *strings.Builder) {
	e.Path.write(b)
	b.WriteByte(' ')
	b.WriteString(string(e.Op))
	if e.Op == Pr {
		return
	}
	b.WriteByte(' ')
	b.WriteString(literal(e.Value))
}

func (e *And) write(b *strings.Builder) {
	writeOperand(b, e.Left)
	b.WriteString(" and ")
	writeOperand(b, e.Right)
}

// writeOperand brackets an "or" inside an "and", which binds tighter.
func writeOperand(b *strings.Builder, e Expr) {
	if _, ok := e.(*Or); ok {
		b.WriteByte('(')
		e.write(b)
		b.WriteByte(')')
		return
	}
	e.write(b)
}

func (e *Or) write(b *strings.Builder) {
	e.Left.write(b)
	b.WriteString(" or ")
	e.Right.write(b)
}

func (e *Not) write(b *strings.Builder) {
	b.WriteString("not (")
	e.X.write(b)
	b.WriteByte(')')
}

func (e *ValuePath) write(b *strings.Builder) { e.Path.write(b) }

// literal renders a comparison value as JSON.
func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		out, _ := json.Marshal(v)
		return string(out)
	default:
		out, err := json.Marshal(v)
		if err != nil {
			return "null"
		}
		return string(out)
	}
}
