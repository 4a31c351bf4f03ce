package scim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/state"
)

// resourceType is what the server knows about Users or Groups: schemas,
// the attributes with rules the store must enforce, and how to validate a
// document. It is immutable after New.
type resourceType struct {
	kind       state.Kind
	name       string // "User", as in meta.resourceType
	endpoint   string // "/Users"
	core       schema.Schema
	validation schema.Schema // core plus externalId, as bodies are checked
	extensions []schema.Schema
	schemas    *attr.Schemas

	required  []string     // required top-level core attributes
	uniques   []uniqueAttr // attributes the store keeps unique
	immutable []*attr.Attribute
	writeOnly []*attr.Attribute // accepted, never stored (password)
	// fastRender is true when every stored attribute is returned by
	// default, so a GET without attributes/excludedAttributes can send
	// the stored bytes without projecting them.
	fastRender bool
}

type uniqueAttr struct {
	attr *attr.Attribute
	key  string // IndexKey.Name: the attribute's full name
}

func (s *Server) buildTypes(userExtensions []schema.Schema) error {
	for _, e := range userExtensions {
		if e.ID == "" || !strings.HasPrefix(e.ID, "urn:") {
			return fmt.Errorf("scim: extension schema id %q is not a urn", e.ID)
		}
	}
	userExt := append([]schema.Schema{schema.ExtensionEnterpriseUser()}, userExtensions...)
	group := schema.CoreGroupSchema()
	schemas, err := attr.New(
		attr.ResourceType{Name: attr.User, Schema: schema.CoreUserSchema(), Extensions: userExt},
		attr.ResourceType{Name: attr.Group, Schema: group},
	)
	if err != nil {
		return fmt.Errorf("scim: %w", err)
	}
	s.schemas = schemas
	s.users = newResourceType(state.KindUser, attr.User, "/Users",
		schema.CoreUserSchema(), userExt, schemas)
	s.groups = newResourceType(state.KindGroup, attr.Group, "/Groups", group, nil, schemas)
	return nil
}

func newResourceType(kind state.Kind, name, endpoint string, core schema.Schema,
	extensions []schema.Schema, schemas *attr.Schemas) *resourceType {
	t := &resourceType{
		kind: kind, name: name, endpoint: endpoint,
		core: core, extensions: extensions, schemas: schemas,
		fastRender: true,
	}
	t.validation = core
	t.validation.Attributes = append(append([]schema.CoreAttribute(nil), core.Attributes...),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			CaseExact: true,
			Name:      "externalId",
		})))
	for _, a := range core.Attributes {
		if a.Required() && a.Mutability() != "readOnly" {
			t.required = append(t.required, a.Name())
		}
	}
	for _, a := range schemas.Attributes(name) {
		common := a.Schema == ""
		switch {
		case a.Mutability == attr.WriteOnly:
			t.writeOnly = append(t.writeOnly, a)
			continue
		case a.Returned == attr.Never || a.Returned == attr.OnRequest:
			t.fastRender = false
		}
		if !common && a.Mutability == attr.Immutable {
			t.immutable = append(t.immutable, a)
		}
		if !common && (a.Uniqueness == attr.Server || a.Uniqueness == attr.Global) &&
			a.Type == attr.String && !a.MultiValued {
			t.uniques = append(t.uniques, uniqueAttr{attr: a, key: a.FullName()})
		}
		for _, sub := range a.SubAttributes {
			if sub.Returned == attr.Never || sub.Returned == attr.OnRequest {
				t.fastRender = false
			}
		}
	}
	return t
}

// normalize validates a resource body (POST, PUT, or the result of a PATCH)
// and returns its attributes under their canonical names: unknown and
// readOnly attributes dropped, write-only ones (password) removed, each
// extension's attributes in an object under its URN.
func (t *resourceType) normalize(body map[string]any) (map[string]any, error) {
	if err := t.checkSchemas(body); err != nil {
		return nil, err
	}
	for _, name := range t.required {
		_, v, ok := attr.Field(body, name)
		if str, isStr := v.(string); !ok || v == nil || isStr && strings.TrimSpace(str) == "" {
			return nil, invalidValue("attribute %q is required", name)
		}
	}
	attrs, se := t.validation.Validate(body)
	if se != nil {
		return nil, fromScimError(*se)
	}
	for _, ext := range t.extensions {
		_, raw, ok := attr.Field(body, ext.ID)
		if !ok || raw == nil {
			continue
		}
		if _, isMap := raw.(map[string]any); !isMap {
			return nil, invalidValue("%s must be an object", ext.ID)
		}
		ea, se := ext.ValidateExtension(raw)
		if se != nil {
			return nil, fromScimError(*se)
		}
		if len(ea) > 0 {
			attrs[ext.ID] = ea
		}
	}
	for _, a := range t.writeOnly {
		if !a.Extension {
			delete(attrs, a.Name)
		} else if m, ok := attrs[a.Schema].(map[string]any); ok {
			delete(m, a.Name)
		}
	}
	if err := t.checkIndexed(attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

// checkIndexed refuses a value of an indexed attribute (a unique one,
// externalId, a group's displayName) longer than state.MaxIndexValue
// bytes, which no store backend accepts in an index; the limit applies to
// the value as indexed, after lower-casing.
func (t *resourceType) checkIndexed(attrs map[string]any) error {
	tooLong := func(name string) error {
		return invalidValue("%s is longer than %d bytes", name, state.MaxIndexValue)
	}
	for _, k := range t.uniqueKeys(attrs) {
		if len(k.Value) > state.MaxIndexValue {
			return tooLong(k.Name)
		}
	}
	names := []string{"externalId"}
	if t.kind == state.KindGroup {
		names = append(names, "displayName")
	}
	for _, name := range names {
		if v, _ := attrs[name].(string); len(v) > state.MaxIndexValue {
			return tooLong(name)
		}
	}
	return nil
}

func (t *resourceType) checkSchemas(body map[string]any) error {
	key, raw, _ := attr.Field(body, "schemas")
	list, ok := raw.([]any)
	if !ok {
		return invalidSyntax("schemas must be a list holding %s", t.core.ID)
	}
	for _, v := range list {
		if s, ok := v.(string); ok && strings.EqualFold(s, t.core.ID) {
			// The schema library wants the exact URN under "schemas".
			delete(body, key)
			body["schemas"] = []any{t.core.ID}
			return nil
		}
	}
	return invalidSyntax("schemas must hold %s", t.core.ID)
}

// schemaList is the "schemas" of a stored document: the core schema and
// each extension the document has attributes of.
func (t *resourceType) schemaList(attrs map[string]any) []string {
	list := []string{t.core.ID}
	for _, ext := range t.extensions {
		if m, ok := attrs[ext.ID].(map[string]any); ok && len(m) > 0 {
			list = append(list, ext.ID)
		}
	}
	return list
}

// checkImmutable enforces RFC 7644 section 3.5.1: an immutable attribute
// that has a value may only be "replaced" by the same value.
func (t *resourceType) checkImmutable(old, next map[string]any) error {
	for _, a := range t.immutable {
		was, had := a.ValueIn(old)
		if !had {
			continue
		}
		now, has := a.ValueIn(next)
		if !has || !a.Equal(was, now) {
			return mutability("attribute %q is immutable", a.FullName())
		}
	}
	return nil
}

// uniqueKeys are the store index entries of a document's unique attributes.
func (t *resourceType) uniqueKeys(attrs map[string]any) []state.IndexKey {
	var keys []state.IndexKey
	for _, u := range t.uniques {
		v, ok := u.attr.ValueIn(attrs)
		str, isStr := v.(string)
		if !ok || !isStr || str == "" {
			continue
		}
		keys = append(keys, state.IndexKey{Name: u.key, Value: indexValue(u.attr, str)})
	}
	return keys
}

// indexValue is how a unique attribute's value is stored in the index:
// lower-cased when the attribute is not case-exact.
func indexValue(a *attr.Attribute, v string) string {
	if a.CaseExact {
		return v
	}
	return strings.ToLower(v)
}

// externalIDPrefix starts the reference under which a user's externalId is
// indexed (see the package documentation).
const externalIDPrefix = "externalId:"

func externalIDRef(v string) string {
	sum := sha256.Sum256([]byte(v))
	return externalIDPrefix + hex.EncodeToString(sum[:])
}

// displayNamePrefix starts the reference under which a group's displayName
// is indexed, lower-cased since displayName is not case-exact (see the
// package documentation).
const displayNamePrefix = "displayName:"

func displayNameRef(v string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(v)))
	return displayNamePrefix + hex.EncodeToString(sum[:])
}

// timeFormat is how meta.created and meta.lastModified are written:
// RFC 3339 in UTC to the second. Fractions are left out because the
// xsd:dateTime parser that filters and sorting use misreads fractions with
// leading zeros (".040" as ".4"); meta.version, not the time, tells
// writes within one second apart.
const timeFormat = time.RFC3339

// encodeDocument serialises a stored document: the attributes with
// "schemas" and "id" added, then "meta" as the last member, as the package
// documentation describes.
func (t *resourceType) encodeDocument(id string, attrs map[string]any,
	created, modified time.Time) ([]byte, error) {
	attrs["schemas"] = t.schemaList(attrs)
	attrs["id"] = id
	delete(attrs, "meta")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(attrs); err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", t.name, id, err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	b = b[:len(b)-1] // the closing brace
	b = append(b, `,"meta":{"created":"`...)
	b = created.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","lastModified":"`...)
	b = modified.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","resourceType":"`...)
	b = append(b, t.name...)
	b = append(b, `"}}`...)
	return b, nil
}

// decodeDocument parses stored or request JSON, keeping numbers as
// json.Number so that the schema library can tell integers from decimals.
func decodeDocument(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("data after the JSON object")
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// parseBody decodes a request body as one JSON object.
func parseBody(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalidSyntax("the request body is empty")
	}
	m, err := decodeDocument(data)
	if err != nil {
		return nil, invalidSyntax("the request body is not a JSON object: %s", jsonReason(err))
	}
	return m, nil
}

// jsonReason is a short client-safe description of a JSON syntax error.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("unexpected %s at byte %d", te.Value, te.Offset)
	}
	return err.Error()
}

// metaTimes reads meta.created and meta.lastModified of a stored document.
func metaTimes(doc map[string]any) (created, modified time.Time) {
	m, _ := doc["meta"].(map[string]any)
	return metaTime(m["created"]), metaTime(m["lastModified"])
}

// metaTime parses a time this package wrote. RFC 3339 is tried first: the
// xsd:dateTime parser loses leading zeros of fractional seconds (".040"
// reads as ".4").
func metaTime(v any) time.Time {
	s, _ := v.(string)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	t, _ := attr.Instant(v)
	return t
}
