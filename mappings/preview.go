package mappings

// Preview is a mapping rendered for one sample user, with nothing sent: the
// record the application would receive and, per field, where the value came
// from or why it is empty.
type Preview struct {
	App    string         `json:"app"`
	Record Record         `json:"record"`
	Fields []FieldPreview `json:"fields"`
	// Unmapped lists the writable fields the mapping gives no source.
	Unmapped []string `json:"unmapped"`
}

// FieldPreview explains one field of a preview.
type FieldPreview struct {
	Field     string     `json:"field"`
	Label     string     `json:"label"`
	Mandatory bool       `json:"mandatory,omitempty"`
	ReadOnly  bool       `json:"readOnly,omitempty"`
	Value     any        `json:"value"`
	Source    SourceKind `json:"source"`
	// From is the attribute path or expression as written, "hardcoded" or
	// "per assignment".
	From string `json:"from,omitempty"`
	// Why says why the value is empty, or how it was changed (truncated).
	Why string `json:"why,omitempty"`
}

// Preview projects a sample user like Project and explains every field,
// read-only ones included, in the application's order. Unlike Project it
// does not stop at an expression that fails: the failure is that field's
// Why, and the field is left out of the record.
func (p *Projector) Preview(user map[string]any, given map[string]any) Preview {
	var fields []FieldPreview
	rec, _ := p.project(user, given, &fields)

	out := Preview{App: p.app.Name, Record: rec, Unmapped: p.unmapped}
	next := 0
	for _, f := range p.app.Fields {
		if f.ReadOnly {
			out.Fields = append(out.Fields, FieldPreview{Field: f.Name, Label: f.Label,
				ReadOnly: true, Source: SourceNone, Why: "read-only: " + readOnlyReason(f)})
			continue
		}
		out.Fields = append(out.Fields, fields[next])
		next++
	}
	return out
}
