package filter

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// compareNone is the result of a comparison on an attribute with no
// values: only "eq null" and "ne" with a value hold.
func compareNone(c *attr.Comparison) bool {
	switch c.Op {
	case attr.Eq:
		return c.Value == nil
	case attr.Ne:
		return c.Value != nil
	}
	return false
}

// normalize reduces ne and null comparisons to a positive test and whether
// to negate its outcome.
func normalize(c *attr.Comparison) (attr.Operator, any, bool) {
	switch {
	case c.Op == attr.Eq && c.Value == nil:
		return attr.Pr, nil, true
	case c.Op == attr.Ne && c.Value == nil:
		return attr.Pr, nil, false
	case c.Op == attr.Ne:
		return attr.Eq, c.Value, true
	}
	return c.Op, c.Value, false
}

// compareAttr evaluates c over value v of top-level attribute a, keeping
// only the values that satisfy the value filter f (when set) and comparing
// their sub-attribute sub (when set).
func compareAttr(c *attr.Comparison, a *attr.Attribute, v any, f Expr, sub *attr.Attribute) bool {
	op, lit, negate := normalize(c)
	hit := false
	if a.MultiValued || f != nil {
		if list, ok := v.([]any); ok && a.MultiValued {
			for _, el := range list {
				if hit = matchElement(op, lit, a, el, f, sub); hit {
					break
				}
			}
		} else if v != nil {
			hit = matchElement(op, lit, a, v, f, sub)
		}
	} else {
		leaf, x := a, v
		if sub != nil {
			leaf = sub
			m, _ := v.(map[string]any)
			_, x, _ = attr.Field(m, sub.Name)
		}
		hit = test(op, lit, leaf, x)
	}
	return hit != negate
}

// compareLeaf evaluates c over the value v of a simple attribute.
func compareLeaf(c *attr.Comparison, a *attr.Attribute, v any) bool {
	return compareAttr(c, a, v, nil, nil)
}

// matchElement tests one value of attribute a.
func matchElement(op attr.Operator, lit any, a *attr.Attribute, el any, f Expr,
	sub *attr.Attribute) bool {
	if f != nil && !MatchValue(f, el, a) {
		return false
	}
	leaf, x := a, el
	switch {
	case sub != nil:
		leaf = sub
		m, _ := el.(map[string]any)
		_, x, _ = attr.Field(m, sub.Name)
	case a.Type == attr.Complex && op != attr.Pr:
		// A complex multi-valued attribute compares on its "value".
		if leaf = a.Sub("value"); leaf == nil {
			return false
		}
		m, _ := el.(map[string]any)
		_, x, _ = attr.Field(m, "value")
	}
	return test(op, lit, leaf, x)
}

// test applies op with literal lit to value x of simple attribute a.
func test(op attr.Operator, lit any, a *attr.Attribute, x any) bool {
	if list, ok := x.([]any); ok {
		for _, el := range list {
			if _, nested := el.([]any); !nested && test(op, lit, a, el) {
				return true
			}
		}
		return false
	}
	if op == attr.Pr {
		return present(x)
	}
	if x == nil {
		return false
	}
	switch a.Type {
	case attr.Complex:
		return false
	case attr.Boolean:
		xb, xok := asBool(x)
		lb, lok := asBool(lit)
		return op == attr.Eq && xok && lok && xb == lb
	case attr.Decimal, attr.Integer:
		xf, xok := asNumber(x)
		lf, lok := asNumber(lit)
		return xok && lok && order(op, compareFloat(xf, lf))
	case attr.DateTime:
		if xt, ok := attr.Instant(x); ok {
			if lt, ok := attr.Instant(lit); ok && op != attr.Co && op != attr.Sw && op != attr.Ew {
				return order(op, xt.Compare(lt))
			}
		}
	}
	xs, ok := x.(string)
	if !ok {
		return false
	}
	return testString(op, xs, literalText(lit), a.CaseExact)
}

// order turns a three-way comparison into the outcome of op.
func order(op attr.Operator, c int) bool {
	switch op {
	case attr.Eq:
		return c == 0
	case attr.Gt:
		return c > 0
	case attr.Ge:
		return c >= 0
	case attr.Lt:
		return c < 0
	case attr.Le:
		return c <= 0
	}
	return false
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func testString(op attr.Operator, x, lit string, caseExact bool) bool {
	switch op {
	case attr.Eq:
		if caseExact {
			return x == lit
		}
		return strings.EqualFold(x, lit)
	case attr.Co:
		if caseExact {
			return strings.Contains(x, lit)
		}
		return containsFold(x, lit)
	case attr.Sw:
		if caseExact {
			return strings.HasPrefix(x, lit)
		}
		return hasPrefixFold(x, lit)
	case attr.Ew:
		if caseExact {
			return strings.HasSuffix(x, lit)
		}
		return hasSuffixFold(x, lit)
	}
	if caseExact {
		return order(op, strings.Compare(x, lit))
	}
	return order(op, compareFold(x, lit))
}

// containsFold is a case-insensitive strings.Contains; it avoids
// allocating when the needle is ASCII.
func containsFold(s, sub string) bool {
	if !isASCII(sub) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	if !isASCII(prefix) {
		return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix))
	}
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	if !isASCII(suffix) {
		return strings.HasSuffix(strings.ToLower(s), strings.ToLower(suffix))
	}
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// compareFold orders strings case-insensitively by code point.
func compareFold(x, y string) int {
	if !isASCII(x) || !isASCII(y) {
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	}
	for i := 0; i < len(x) && i < len(y); i++ {
		a, b := lowerASCII(x[i]), lowerASCII(y[i])
		if a != b {
			return int(a) - int(b)
		}
	}
	return len(x) - len(y)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// present implements "pr": a non-empty string, array or object, or any
// other non-null value.
func present(x any) bool {
	switch x := x.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		for _, el := range x {
			if present(el) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, v := range x {
			if present(v) {
				return true
			}
		}
		return false
	}
	return true
}

// asBool accepts a boolean or the strings "true" and "false" in any case.
func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch {
		case strings.EqualFold(v, "true"):
			return true, true
		case strings.EqualFold(v, "false"):
			return false, true
		}
	}
	return false, false
}

// asNumber accepts a number or a numeric string.
func asNumber(v any) (float64, bool) {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return attr.Number(v)
}

// literalText is the text a literal compares as against a string.
func literalText(lit any) string {
	switch v := lit.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	}
	if f, ok := attr.Number(lit); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}
