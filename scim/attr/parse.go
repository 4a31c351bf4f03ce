package attr

import (
	"fmt"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
)

// The grammar is RFC 7644 sections 3.4.2.2 and 3.5.2 with errata 4690,
// widened where identity providers and the RFC's own examples need it:
//   - value filters take any filter over sub-attributes, with any number of
//     terms, grouping and not (the ABNF allows only two terms);
//   - a value path may be followed by a sub-attribute and a comparison, as
//     in emails[type eq "work"].value eq "x";
//   - keywords, operators and literals are case-insensitive, whitespace is
//     any run of spaces, tabs or newlines;
//   - strings are JSON strings, escapes included.
//
// This is written by hand rather than with github.com/scim2/filter-parser
// because that parser rejects value filters of more than two terms or with
// grouping, lower-case \u escapes and tabs, and keeps escapes undecoded.

// maxDepth bounds nesting so hostile input cannot exhaust the stack, and
// maxTerms bounds the comparisons of one filter, since evaluation recurses
// along chains of "and" and "or" and costs time per resource listed.
const (
	maxDepth = 50
	maxTerms = 500
)

// ParsePath parses a PATCH path. Errors are SCIM invalidPath errors whose
// detail says what is wrong and where.
func ParsePath(s string) (Path, error) {
	p := &parser{src: s}
	p.skipSpace()
	path, err := p.path()
	if err == nil {
		p.skipSpace()
		if !p.eof() {
			err = p.errorf("unexpected %q after the path", p.rest())
		}
	}
	if err != nil {
		return Path{}, invalidPath("invalid path %q: %v", s, err)
	}
	return path, nil
}

// ParseFilter parses a filter expression. Errors are SCIM invalidFilter
// errors whose detail says what is wrong and where; a filter nested deeper
// than 50 levels or holding more than 500 comparisons is refused. Most
// callers use filter.Parse, which is the same function.
func ParseFilter(s string) (Expr, error) {
	p := &parser{src: s}
	e, err := p.filter()
	if err == nil {
		p.skipSpace()
		if !p.eof() {
			err = p.errorf("unexpected %q", p.rest())
		}
	}
	if err != nil {
		return nil, scimError(scimerrors.ScimTypeInvalidFilter, "invalid filter: %v", err)
	}
	return e, nil
}

type parser struct {
	src      string
	pos      int
	depth    int
	terms    int
	brackets bool // inside a value filter
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) rest() string {
	const show = 20
	if len(p.src)-p.pos > show {
		return p.src[p.pos:p.pos+show] + "..."
	}
	return p.src[p.pos:]
}

func (p *parser) skipSpace() {
	for !p.eof() {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '$' || c == ':' || c == '.'
}

// word reads a run of name characters (which include the URN punctuation
// ":" and "."), possibly empty.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// peekWord returns the next word after any space without consuming it.
func (p *parser) peekWord() string {
	save := p.pos
	p.skipSpace()
	w := p.word()
	p.pos = save
	return w
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("nested deeper than %d levels", maxDepth)
	}
	return nil
}

// filter = and *("or" and)
func (p *parser) filter() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()

	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peekWord(), "or") {
		p.skipSpace()
		p.word()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
	return left, nil
}

// and = unary *("and" unary)
func (p *parser) and() (Expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peekWord(), "and") {
		p.skipSpace()
		p.word()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

// unary = "(" filter ")" / "not" "(" filter ")" / attrExp
func (p *parser) unary() (Expr, error) {
	p.skipSpace()
	if p.peek() == '(' {
		p.pos++
		return p.group()
	}
	save := p.pos
	if strings.EqualFold(p.word(), "not") {
		p.skipSpace()
		if p.peek() == '(' {
			p.pos++
			inner, err := p.group()
			if err != nil {
				return nil, err
			}
			return &Not{X: inner}, nil
		}
	}
	p.pos = save
	return p.attrExp()
}

// group reads the rest of a parenthesised filter after "(".
func (p *parser) group() (Expr, error) {
	e, err := p.filter()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		if p.eof() {
			return nil, p.errorf("missing \")\"")
		}
		return nil, p.errorf("expected \")\", found %q", p.rest())
	}
	p.pos++
	return e, nil
}

// attrExp = path "pr" / path op value / valuePath
func (p *parser) attrExp() (Expr, error) {
	if p.terms++; p.terms > maxTerms {
		return nil, p.errorf("more than %d comparisons", maxTerms)
	}
	start := p.pos
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	save := p.pos
	p.skipSpace()
	word := p.word()
	op, ok := operator(word)
	if !ok {
		if path.Filter != nil && path.Sub == "" {
			p.pos = save
			return &ValuePath{Path: path}, nil
		}
		p.pos = save
		p.skipSpace()
		if word == "" && p.eof() {
			return nil, p.errorf("expected an operator after %q", p.src[start:save])
		}
		return nil, p.errorf("expected an operator after %q, found %q",
			p.src[start:save], p.rest())
	}
	if op == Pr {
		return &Comparison{Path: path, Op: Pr}, nil
	}
	p.skipSpace()
	value, err := p.value()
	if err != nil {
		return nil, err
	}
	return &Comparison{Path: path, Op: op, Value: value}, nil
}

// path = [URI ":"] name ["." sub] / [URI ":"] name "[" filter "]" ["." sub]
func (p *parser) path() (Path, error) {
	start := p.pos
	word := p.word()
	if word == "" {
		if p.eof() {
			return Path{}, p.errorf("expected an attribute name, found the end")
		}
		return Path{}, p.errorf("expected an attribute name, found %q", p.rest())
	}
	path, err := splitName(word)
	if err != nil {
		p.pos = start
		return Path{}, p.errorf("%v", err)
	}

	save := p.pos
	p.skipSpace()
	if p.peek() != '[' {
		p.pos = save
		return path, nil
	}
	if path.Sub != "" {
		return Path{}, p.errorf("a value filter cannot follow the sub-attribute %q", path.Sub)
	}
	if p.brackets {
		return Path{}, p.errorf("value filters cannot be nested")
	}
	p.pos++
	p.brackets = true
	inner, err := p.filter()
	p.brackets = false
	if err != nil {
		return Path{}, err
	}
	p.skipSpace()
	if p.peek() != ']' {
		return Path{}, p.errorf("expected \"]\", found %q", p.rest())
	}
	p.pos++
	path.Filter = inner

	if p.peek() == '.' {
		p.pos++
		sub := p.word()
		if !validName(sub) {
			return Path{}, p.errorf("%q is not a valid sub-attribute name", sub)
		}
		path.Sub = sub
	}
	return path, nil
}

// splitName splits "urn:...:name.sub" into its parts.
func splitName(word string) (Path, error) {
	var path Path
	rest := word
	if i := strings.LastIndexByte(word, ':'); i >= 0 {
		path.URI, rest = word[:i], word[i+1:]
		if path.URI == "" {
			return Path{}, fmt.Errorf("%q has an empty schema URI", word)
		}
	}
	name, sub, dotted := strings.Cut(rest, ".")
	if !validName(name) {
		return Path{}, fmt.Errorf("%q is not a valid attribute name", word)
	}
	if dotted && !validName(sub) {
		return Path{}, fmt.Errorf("%q is not a valid attribute path", word)
	}
	path.Name, path.Sub = name, sub
	return path, nil
}

// validName checks ATTRNAME = ALPHA *(nameChar), allowing the leading "$"
// of "$ref".
func validName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// invalidPath builds a SCIM invalidPath error.
func invalidPath(format string, args ...any) error {
	return scimError(scimerrors.ScimTypeInvalidPath, format, args...)
}

func scimError(t scimerrors.ScimType, format string, args ...any) error {
	return scimerrors.ScimError{
		ScimType: t,
		Detail:   fmt.Sprintf(format, args...),
		Status:   400,
	}
}
