package mappings

import (
	"fmt"
	"slices"
	"sync"
)

// Record is a directory user projected into one application.
type Record struct {
	// Fields holds an entry for every field that has a source or a value
	// given per assignment: the value, or nil when the source is empty for
	// this user (the application's value should then be cleared). Fields
	// without either are absent and left alone. Values are JSON-like:
	// string, bool, float64, or []any of those for multi-valued fields.
	Fields map[string]any `json:"fields"`
	// Missing lists the mandatory fields still empty, in the app's order;
	// the account cannot be created until they are supplied per assignment.
	Missing []string `json:"missing,omitempty"`
	// Hash is the hex SHA-256 of the canonical JSON of Fields: the same
	// fields always give the same hash.
	Hash string `json:"hash"`
	// Problems lists values the user's data produced that a field cannot
	// take (an address that is not an email address, a value outside an
	// enum). Such a field is left out of Fields, so the application keeps
	// what it has; a mandatory one is also Missing.
	Problems []Problem `json:"problems,omitempty"`
}

// Projector projects directory users through one compiled mapping. It is
// immutable and safe for concurrent use by many goroutines.
type Projector struct {
	app      *App
	dir      *Directory
	plans    []plan // writable fields, in the app's order
	byName   []int  // indexes into plans, sorted by field name, for hashing
	unmapped []string
	mapped   int // plans with a source, to size records
	usesUser bool
}

// plan is how one field gets its value.
type plan struct {
	field *Field
	key   []byte     // the field name as a JSON object key with its colon, for hashing
	kind  SourceKind // SourceNone when unmapped
	from  string     // the source as written, for previews
	path  *attrPath
	value any
	expr  *expression
}

// Compile prepares a mapping for projection: it validates the mapping and
// compiles its attribute paths and expressions once. It fails when
// validation finds an error-severity problem; warnings do not stop it. A nil
// directory means DefaultDirectory().
func Compile(app *App, m Mapping, dir *Directory) (*Projector, error) {
	if dir == nil {
		dir = DefaultDirectory()
	}
	if err := Errors(app.Validate(m, dir)); err != nil {
		return nil, fmt.Errorf("compile mapping: %w", err)
	}
	p := &Projector{app: app, dir: dir, unmapped: app.Unmapped(m)}
	for i := range app.Fields {
		f := &app.Fields[i]
		if f.ReadOnly {
			continue
		}
		pl, err := compilePlan(f, m, dir)
		if err != nil {
			return nil, fmt.Errorf("compile mapping: %s: %s: %w", app.Name, f.Name, err)
		}
		if pl.expr != nil && pl.expr.usesUser {
			p.usesUser = true
		}
		if pl.kind != SourceNone {
			p.mapped++
		}
		p.plans = append(p.plans, pl)
	}
	p.byName = make([]int, len(p.plans))
	for i := range p.byName {
		p.byName[i] = i
	}
	slices.SortFunc(p.byName, func(a, b int) int {
		return cmpString(p.plans[a].field.Name, p.plans[b].field.Name)
	})
	return p, nil
}

func compilePlan(f *Field, m Mapping, dir *Directory) (plan, error) {
	pl := plan{field: f, kind: SourceNone, key: append(appendString(nil, f.Name), ':')}
	src, ok := m.Fields[f.Name]
	if !ok {
		return pl, nil
	}
	pl.kind = src.Kind()
	var err error
	switch pl.kind {
	case SourceAttribute:
		pl.from = src.Attribute
		pl.path, err = parsePath(src.Attribute)
	case SourceValue:
		pl.from = "hardcoded"
		pl.value, _, err = f.coerce(src.Value)
	case SourceExpression:
		pl.from = src.Expression
		pl.expr, err = compileExpression(src.Expression, dir, m.Tables)
	}
	return pl, err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// App returns the application the projector was compiled for.
func (p *Projector) App() *App { return p.app }

// Project turns a directory user into the application's record. user is the
// user's SCIM JSON decoded with encoding/json (attribute names are matched
// ignoring case; extension attributes sit under their schema URN); a nil
// user is an empty one. given holds per-assignment values, which fill fields
// the mapping leaves unmapped or empty for this user. The same user and
// given values always give the same record and hash.
//
// Project returns an error only when an expression fails to run for this
// user (a mapping bug the administrator must fix); data the fields cannot
// take is reported in Record.Problems instead.
func (p *Projector) Project(user map[string]any, given map[string]any) (Record, error) {
	return p.project(user, given, nil)
}

// run carries the per-call state of one projection.
type run struct {
	user map[string]any
	env  *exprEnv
	out  *outputs
}

// outputs holds a projection's values by plan index, so that hashing reads
// them in name order without looking each up in the record's map again.
type outputs struct {
	vals []any
	has  []bool
}

var outPool = sync.Pool{New: func() any { return new(outputs) }}

var envPool = sync.Pool{New: func() any { return &exprEnv{Slots: make([]any, 0, 8)} }}

// project implements Project and Preview: with explain set it also records,
// per field, where the value came from or why it is empty, and does not stop
// at a failing expression.
func (p *Projector) project(user, given map[string]any, explain *[]FieldPreview) (Record, error) {
	r := run{user: user, out: outPool.Get().(*outputs)}
	defer r.release()
	r.out.vals = append(r.out.vals[:0], make([]any, len(p.plans))...)
	r.out.has = append(r.out.has[:0], make([]bool, len(p.plans))...)
	rec := Record{Fields: make(map[string]any, p.mapped+len(given))}

	for i := range p.plans {
		pl := &p.plans[i]
		f := pl.field
		raw, err := p.evaluate(pl, &r)
		if err != nil && explain == nil {
			return Record{}, fmt.Errorf("project %s: %s: expression: %w", p.app.Name, f.Name, err)
		}
		val, note, cerr := f.coerce(raw)
		why := note
		switch {
		case err != nil:
			why = "the expression failed: " + err.Error()
		case cerr != nil:
			rec.Problems = append(rec.Problems, Problem{App: p.app.Name, Field: f.Name,
				Severity: SeverityWarning, Message: "value refused: " + cerr.Error()})
			why = "value refused: " + cerr.Error()
		case val == nil && explain != nil:
			why = p.whyEmpty(pl, &r)
		}
		kind := pl.kind

		if val == nil {
			if g, ok := given[f.Name]; ok {
				gv, _, gerr := f.coerce(g)
				switch {
				case gerr != nil:
					rec.Problems = append(rec.Problems, Problem{App: p.app.Name, Field: f.Name,
						Severity: SeverityWarning, Message: "given value refused: " + gerr.Error()})
				case gv != nil:
					if kind != SourceNone && explain != nil {
						why = "the mapping gave no value (" + why + "); the value given per " +
							"assignment was used"
					} else {
						why = ""
					}
					val, kind, err, cerr = gv, SourceGiven, nil, nil
				}
			}
		}

		if err == nil && cerr == nil && kind != SourceNone {
			rec.Fields[f.Name] = val
			r.out.vals[i], r.out.has[i] = val, true
		}
		if val == nil && f.Mandatory {
			rec.Missing = append(rec.Missing, f.Name)
		}
		if explain != nil {
			*explain = append(*explain, FieldPreview{Field: f.Name, Label: f.Label,
				Mandatory: f.Mandatory, Value: val, Source: kind, From: fromOf(pl, kind),
				Why: why})
		}
	}
	rec.Hash = p.hash(r.out)
	return rec, nil
}

// evaluate returns the raw value of a field's source for the user.
func (p *Projector) evaluate(pl *plan, r *run) (any, error) {
	switch pl.kind {
	case SourceAttribute:
		if pl.field.MultiValued {
			return pl.path.all(r.user, nil), nil
		}
		return pl.path.one(r.user), nil
	case SourceValue:
		return pl.value, nil
	case SourceExpression:
		if r.env == nil {
			r.env = envPool.Get().(*exprEnv)
			if p.usesUser {
				r.env.User = p.dir.canonicalUser(r.user)
				ext, _ := lookupKey(r.env.User, EnterpriseUserURN)
				r.env.Enterprise, _ = ext.(map[string]any)
			}
		}
		pl.expr.fill(r.env, r.user)
		return pl.expr.run(r.env)
	}
	return nil, nil
}

func (r *run) release() {
	if r.out != nil {
		clear(r.out.vals)
		outPool.Put(r.out)
		r.out = nil
	}
	if r.env == nil {
		return
	}
	clear(r.env.Slots)
	r.env.Slots = r.env.Slots[:0]
	r.env.User, r.env.Enterprise = nil, nil
	envPool.Put(r.env)
	r.env = nil
}

func (p *Projector) whyEmpty(pl *plan, r *run) string {
	f := pl.field
	switch pl.kind {
	case SourceAttribute:
		return pl.path.explain(r.user)
	case SourceExpression:
		return "the expression gave no value"
	case SourceNone:
		if f.Mandatory {
			return "not mapped; mandatory: supply it per assignment"
		}
		return "not mapped"
	}
	return ""
}

func fromOf(pl *plan, kind SourceKind) string {
	if kind == SourceGiven {
		return "per assignment"
	}
	return pl.from
}
