package mappings

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Severity says whether a problem blocks a mapping.
type Severity string

// The severities. Errors make Compile fail and a mapping unsavable;
// warnings point at something an administrator should know, such as a
// mandatory field that must then be supplied per assignment.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one finding about a mapping, naming the app and, when it
// concerns one field, the field.
type Problem struct {
	App      string   `json:"app"`
	Field    string   `json:"field,omitempty"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// String renders the problem on one line: "zoho-crm: role: message", or
// "zoho-crm: message" when it concerns no single field.
func (p Problem) String() string {
	if p.Field == "" {
		return p.App + ": " + p.Message
	}
	return p.App + ": " + p.Field + ": " + p.Message
}

// Validate checks a mapping against the application and the directory
// schema and returns every problem found, in the application's field order,
// fields the app does not have last. A nil directory means
// DefaultDirectory(). The checks:
//   - the mapping is for this app, and names only fields it has;
//   - each source sets exactly one of attribute, value, expression;
//   - read-only fields are not mapped;
//   - profile attributes parse and exist in the directory, and name a value
//     rather than a whole complex attribute;
//   - hardcoded values have the field's type, are allowed and fit its length;
//   - expressions compile, and the attributes and tables they name exist;
//   - dependent groups are mapped in full or not at all (an error);
//   - mandatory fields without a source (a warning: they must then be given
//     per assignment).
func (a *App) Validate(m Mapping, dir *Directory) []Problem {
	if dir == nil {
		dir = DefaultDirectory()
	}
	return a.validate(m, dir, false)
}

// validate implements Validate. lenient skips profile attributes of
// extension schemas the directory does not declare, for checking the default
// mapping of a custom app before the server's extensions are known.
func (a *App) validate(m Mapping, dir *Directory, lenient bool) []Problem {
	var out []Problem
	add := func(field string, sev Severity, format string, args ...any) {
		out = append(out, Problem{App: a.Name, Field: field, Severity: sev,
			Message: fmt.Sprintf(format, args...)})
	}
	if m.App != "" && m.App != a.Name {
		add("", SeverityError, "the mapping is for app %s", m.App)
	}

	for _, f := range a.Fields {
		src, mapped := m.Fields[f.Name]
		switch {
		case mapped && f.ReadOnly:
			add(f.Name, SeverityError, "read-only: %s", readOnlyReason(f))
		case mapped:
			if msg := checkSource(&f, src, dir, m.Tables, lenient); msg != "" {
				add(f.Name, SeverityError, "%s", msg)
			}
		case f.Mandatory:
			add(f.Name, SeverityWarning,
				"mandatory field has no source: it must be supplied per assignment")
		}
	}

	for _, name := range slices.Sorted(maps.Keys(m.Fields)) {
		if _, ok := a.index[name]; !ok {
			add(name, SeverityError, "%s has no field %s%s", a.Label, name,
				suggest(name, a.fieldNames()))
		}
	}

	for _, group := range a.Dependent {
		var mapped, unmapped []string
		for _, name := range group {
			if _, ok := m.Fields[name]; ok {
				mapped = append(mapped, name)
			} else {
				unmapped = append(unmapped, name)
			}
		}
		if len(mapped) == 0 || len(unmapped) == 0 {
			continue
		}
		verb, none := "is", "neither"
		if len(mapped) > 1 {
			verb = "are"
		}
		if len(group) > 2 {
			none = "none of them"
		}
		for _, name := range unmapped {
			add(name, SeverityError, "dependent field: %s %s mapped, so %s must be mapped "+
				"too (or %s)", strings.Join(mapped, " and "), verb, name, none)
		}
	}
	return out
}

// checkSource returns what is wrong with one field's source, or "".
func checkSource(f *Field, s Source, dir *Directory, tables map[string]map[string]any,
	lenient bool) string {
	if s.count() != 1 {
		return "set exactly one of attribute, value, expression (found " +
			describeSet(s) + ")"
	}
	switch s.Kind() {
	case SourceAttribute:
		return checkAttribute(f, s.Attribute, dir, lenient)
	case SourceValue:
		return checkValue(f, s.Value)
	case SourceExpression:
		d := dir
		if lenient {
			d = nil
		}
		if _, err := compileExpression(s.Expression, d, tables); err != nil {
			return "expression does not compile: " + err.Error()
		}
	}
	return ""
}

func describeSet(s Source) string {
	var set []string
	if s.Attribute != "" {
		set = append(set, "attribute")
	}
	if s.Value != nil {
		set = append(set, "value")
	}
	if s.Expression != "" {
		set = append(set, "expression")
	}
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(set, " and ")
}

func checkAttribute(f *Field, text string, dir *Directory, lenient bool) string {
	p, err := parsePath(text)
	if err != nil {
		hint := ""
		if !strings.ContainsAny(text, "[]") {
			hint = fmt.Sprintf("; to set a fixed value write %s: {value: %s}", f.Name, show(text))
		}
		return "profile attribute " + err.Error() + hint
	}
	if lenient && p.urn != "" && dir.schema(p.urn) == nil {
		return ""
	}
	def, err := p.check(dir)
	if err != nil {
		return "profile attribute " + text + ": " + err.Error()
	}
	if def.Type == AttrComplex && !def.MultiValued {
		return fmt.Sprintf("profile attribute %s is a complex attribute; name one of its "+
			"sub-attributes, such as %s.%s", text, text, def.SubAttributes[0].Name)
	}
	if def.Type == AttrBoolean {
		switch f.Type {
		case TypeEmail, TypePhone, TypeDate, TypeNumber, TypeReference:
			return fmt.Sprintf("profile attribute %s is a boolean and %s is a %s field",
				text, f.Name, f.Type)
		}
	}
	return ""
}

// checkValue checks a hardcoded value against the field.
func checkValue(f *Field, v any) string {
	if _, ok := v.([]any); ok && !f.MultiValued {
		return fmt.Sprintf("hardcoded value is a list and %s holds one value", f.Name)
	}
	_, note, err := f.coerce(v)
	if err != nil {
		return "hardcoded value " + err.Error()
	}
	if note != "" {
		return fmt.Sprintf("hardcoded value is longer than %d characters", f.MaxLength)
	}
	if f.Type == TypeString || f.Type == TypeReference {
		if _, isBool := v.(bool); isBool {
			return fmt.Sprintf("hardcoded value %v is a boolean and %s is a %s field; "+
				"quote it if you mean the text", v, f.Name, f.Type)
		}
	}
	return ""
}

func readOnlyReason(f Field) string {
	if f.Description != "" {
		return f.Description
	}
	return "the application does not let the bridge set " + f.Name
}

func (a *App) fieldNames() []string {
	out := make([]string, 0, len(a.Fields))
	for _, f := range a.Fields {
		out = append(out, f.Name)
	}
	return out
}

// ValidateGiven checks per-assignment values: each must be for a writable
// field of the app and have the field's type. Values for mapped fields are
// allowed; they fill the field when its source leaves it empty.
func (a *App) ValidateGiven(given map[string]any) []Problem {
	var out []Problem
	for _, name := range slices.Sorted(maps.Keys(given)) {
		f := a.field(name)
		var msg string
		switch {
		case f == nil:
			msg = fmt.Sprintf("%s has no field %s%s", a.Label, name, suggest(name, a.fieldNames()))
		case f.ReadOnly:
			msg = "read-only: " + readOnlyReason(*f)
		default:
			if _, _, err := f.coerce(given[name]); err != nil {
				msg = "given value " + err.Error()
			}
		}
		if msg != "" {
			out = append(out, Problem{App: a.Name, Field: name, Severity: SeverityError,
				Message: msg})
		}
	}
	return out
}

// Errors joins the error-severity problems into one error, or returns nil
// when there are none.
func Errors(problems []Problem) error {
	var errs []error
	for _, p := range problems {
		if p.Severity == SeverityError {
			errs = append(errs, errors.New(p.String()))
		}
	}
	return errors.Join(errs...)
}

// suggest returns " (did you mean X?)" for the candidate closest to name
// when it is close enough to be a likely typo, and "" otherwise.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := distance(strings.ToLower(name), strings.ToLower(c))
		if best == "" || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	limit := max(2, len(name)/4)
	if best == "" || bestDist > limit || bestDist == 0 && best == name {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// distance is the edit distance between two strings counting a swap of two
// neighbouring bytes as one edit (optimal string alignment), since swapped
// letters are the commonest typo.
func distance(a, b string) int {
	if len(a) > 200 || len(b) > 200 {
		return max(len(a), len(b))
	}
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}
