package mappings

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func compileTest(t testing.TB, fields map[string]Source,
	tables map[string]map[string]any) *Projector {
	t.Helper()
	m := Mapping{App: "test-app", Fields: fields, Tables: tables}
	p, err := Compile(mustApp(t, testApp), m, acmeDirectory(t))
	require.NoError(t, err)
	return p
}

func TestProjectRecord(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: `emails[type eq "work"].value`},
		"first_name": {Attribute: "name.givenName"},
		"last_name":  {Attribute: "name.familyName"},
		"phone":      {Attribute: `phoneNumbers[type eq "fax"].value`},
		"level":      {Value: "senior"},
		"vip":        {Attribute: "active"},
		"rate":       {Value: json.Number("12.50")},
		"role":       {Value: json.Number("4150868000000026005123")},
		"profile":    {Expression: `attr("` + acmeURN + `:costCode")`},
		"teams":      {Attribute: "emails.type"},
	}, nil)
	user := decodeUser(t, pathUser)
	rec, err := p.Project(user, map[string]any{"start": "2024-01-02T09:00:00Z", "phone": "+1 555"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"email":      "lovelace@work.example",
		"first_name": "Ada",
		"last_name":  "Lovelace",               // no length limit
		"phone":      "+1 555",                 // mapped, empty, given per assignment
		"level":      "Senior",                 // the enum's own spelling
		"vip":        true,                     // "True" from the identity provider
		"rate":       12.5,                     // numbers become float64
		"role":       "4150868000000026005123", // ids keep every digit
		"profile":    "4711",                   // a number into a reference becomes text
		"teams":      []any{"home", "Work", "work", "other"},
		"start":      "2024-01-02", // unmapped, given per assignment; a dateTime gives its date
	}, rec.Fields)
	require.Empty(t, rec.Missing)
	require.Empty(t, rec.Problems)
}

func TestProjectEmptyAndMissing(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: "emails.value"},
		"first_name": {Attribute: "name.givenName"},
		"phone":      {Attribute: "phoneNumbers.value"},
	}, nil)
	rec, err := p.Project(nil, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"email": nil, "first_name": nil, "phone": nil}, rec.Fields,
		"mapped fields are present and nil; unmapped ones are absent")
	require.Equal(t, []string{"email", "last_name"}, rec.Missing)

	rec, err = p.Project(map[string]any{"name": map[string]any{"givenName": "  "}},
		map[string]any{"last_name": "Lovelace", "email": "ada@example.com"})
	require.NoError(t, err)
	require.Nil(t, rec.Fields["first_name"], "white space counts as empty")
	require.Equal(t, "Lovelace", rec.Fields["last_name"])
	require.Equal(t, "ada@example.com", rec.Fields["email"])
	require.Empty(t, rec.Missing)
}

func TestProjectRefusedValues(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: "userName"},
		"last_name":  {Attribute: "name.familyName"},
		"first_name": {Attribute: "name.givenName"},
		"phone":      {Attribute: "title"},
		"level":      {Attribute: "userType"},
	}, nil)
	user := decodeUser(t, `{"userName": "not an address", "title": "CEO", "userType": "Lead",
		"name": {"givenName": "Augusta", "familyName": "King"}}`)
	rec, err := p.Project(user, map[string]any{"email": "ada@example.com", "phone": "x"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"email":      "ada@example.com", // refused from the directory, given instead
		"last_name":  "King",
		"first_name": "Augus", // free text is truncated to the limit
	}, rec.Fields, "refused values leave the field out, so the application keeps its value")
	require.Empty(t, rec.Missing)
	var msgs []string
	for _, pr := range rec.Problems {
		msgs = append(msgs, pr.String())
	}
	require.Equal(t, []string{
		`test-app: email: value refused: "not an address" is not an email address`,
		`test-app: phone: value refused: "CEO" is not a phone number`,
		`test-app: phone: given value refused: "x" is not a phone number`,
		`test-app: level: value refused: "Lead" is not one of Junior, Senior`,
	}, msgs)
}

func TestProjectHash(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: "emails.value"},
		"last_name":  {Expression: `"<Lovelace> & \u2028 \"quoted\" é"`},
		"first_name": {Value: "Ada"},
		"rate":       {Value: 1e-7},
		"teams":      {Value: []any{"b", "a"}},
	}, nil)
	user := decodeUser(t, pathUser)
	rec, err := p.Project(user, nil)
	require.NoError(t, err)

	// The hash is the SHA-256 of the fields as encoding/json writes them with
	// HTML escaping off (it sorts keys and omits spaces).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(rec.Fields))
	canonical := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	require.Equal(t, string(canonical), string(CanonicalJSON(rec.Fields)))
	sum := sha256.Sum256(canonical)
	require.Equal(t, hex.EncodeToString(sum[:]), rec.Hash)

	again, err := p.Project(decodeUser(t, pathUser), nil)
	require.NoError(t, err)
	require.Equal(t, rec.Hash, again.Hash)

	user["emails"] = []any{map[string]any{"value": "other@example.com"}}
	changed, err := p.Project(user, nil)
	require.NoError(t, err)
	require.NotEqual(t, rec.Hash, changed.Hash)
}

func TestCanonicalJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{nil, true, false, 0.0, -0.5, 1e21, 1e-7, 123456789.0, 1.5e300, "",
		"plain", "\x00\x1f\t\n\r\"\\/", "<>&", "\u2028\u2029", "\xff\xfeinvalid", "日本語",
		[]any{}, []any{1.0, "a", nil}, map[string]any{}, map[string]any{"b": 1.0, "a": []any{"x"}}}
	for _, v := range values {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(v))
		require.Equal(t, string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))),
			string(CanonicalJSON(v)), "%#v", v)
	}
}

func TestExpressionFunctions(t *testing.T) {
	user := decodeUser(t, pathUser)
	tables := map[string]map[string]any{
		"depts": {"Engineering": "E-1", "sales": "S-1", "SALES": "S-2"},
	}
	cases := []struct {
		expr string
		want any
	}{
		{`lower(user.userName)`, "ada@example.com"},
		{`upper(user.name.givenName)`, "ADA"},
		{`upper(user.Name.GIVENNAME)`, nil}, // user.* keys are canonical; attr() ignores case
		{`upper(attr("NAME.GIVENNAME"))`, "ADA"},
		{`trim("  x  ")`, "x"},
		{`lower(attrs('emails[type eq "work"].value'))`,
			[]any{"ada@work.example", "lovelace@work.example"}},
		{`join([user.name.givenName, user.name.middleName, user.name.familyName])`, "Ada Lovelace"},
		{`join(attrs("phoneNumbers.value"), ", ")`, "+1 555 0100, +1 555 0199"},
		{`join([])`, nil},
		{`split("Sales, Support,,", ",")`, []any{"Sales", "Support"}},
		{`coalesce(user.nickName, user.title, user.displayName, "fallback")`, "fallback"},
		{`default(user.nickName, "nick")`, "nick"},
		{`default("set", "nick")`, "set"},
		{`substring(user.name.familyName, 0, 4)`, "Love"},
		{`substring("日本語テキスト", 2)`, "語テキスト"},
		{`substring("abc", 5, 2)`, ""},
		{`substring("abc", -1, 2)`, "ab"},
		{`replace(user.userName, "@example.com", "@example.org")`, "ada@example.org"},
		{`lookup("depts", enterprise.department)`, "E-1"},
		{`lookup("depts", "Sales")`, "S-2"}, // ignoring case, the smallest key wins
		{`lookup("depts", "Marketing", "none")`, "none"},
		{`lookup("depts", user.nickName, "none")`, "none"},
		{`lookup({"Engineering": "inline"}, enterprise.department)`, "inline"},
		{`user.name.middleName`, nil},
		{`user.photos`, nil},
		{`enterprise.manager.displayName`, "Charles"},
		{`user["` + EnterpriseUserURN + `"].department`, "Engineering"},
		{`len(user.emails)`, 4.0},
		{`user.emails[0].value`, "ada@home.example"},
		{`attr("` + acmeURN + `:costCode") + 1`, 4712.0},
		{`user.active == "True" ? "yes" : "no"`, "yes"},
		{`upper(nil)`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := compileExpression(tc.expr, acmeDirectory(t), tables)
			require.NoError(t, err)
			p := &Projector{dir: acmeDirectory(t), usesUser: e.usesUser}
			pl := plan{field: &Field{Name: "x", Type: TypeString}, kind: SourceExpression, expr: e}
			r := run{user: user}
			defer r.release()
			got, err := p.evaluate(&pl, &r)
			require.NoError(t, err)
			if f, ok := got.(int); ok {
				got = float64(f)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestExpressionNilSafe(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: "userName"},
		"last_name":  {Expression: `user.name.familyName`},
		"first_name": {Expression: `upper(enterprise.manager.displayName)`},
	}, nil)
	rec, err := p.Project(map[string]any{"userName": "a@b.c"}, nil)
	require.NoError(t, err, "reading through missing objects gives nil, not an error")
	require.Equal(t, map[string]any{"email": "a@b.c", "last_name": nil, "first_name": nil},
		rec.Fields)
}

func TestExpressionRuntimeError(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":     {Attribute: "userName"},
		"last_name": {Expression: `upper(user.name)`},
	}, nil)
	user := decodeUser(t, pathUser)
	_, err := p.Project(user, nil)
	require.EqualError(t, err, "project test-app: last_name: expression: upper: "+
		"expected text, got map[string]interface {} (column 1)")

	pv := p.Preview(user, nil)
	require.Equal(t, "the expression failed: upper: expected text, got map[string]interface {} "+
		"(column 1)", pv.Fields[2].Why)
	require.NotContains(t, pv.Record.Fields, "last_name")
	require.Equal(t, []string{"last_name"}, pv.Record.Missing)
}

func TestPreview(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Attribute: `emails[type eq "work"].value`},
		"last_name":  {Attribute: "name.middleName"},
		"first_name": {Expression: `upper(user.name.givenName)`},
		"phone":      {Attribute: "nickName"},
		"level":      {Value: "Junior"},
	}, nil)
	pv := p.Preview(decodeUser(t, pathUser), map[string]any{"last_name": "King", "role": "7"})
	require.Equal(t, "test-app", pv.App)
	require.Equal(t, []string{"vip", "rate", "start", "role", "profile", "teams"}, pv.Unmapped)

	byField := map[string]FieldPreview{}
	for _, f := range pv.Fields {
		byField[f.Field] = f
	}
	require.Len(t, pv.Fields, 12, "every field, read-only ones included")
	require.Equal(t, FieldPreview{Field: "email", Label: "email", Mandatory: true,
		Value: "lovelace@work.example", Source: SourceAttribute,
		From: `emails[type eq "work"].value`}, byField["email"])
	require.Equal(t, FieldPreview{Field: "last_name", Label: "last_name", Mandatory: true,
		Value: "King", Source: SourceGiven, From: "per assignment",
		Why: "the mapping gave no value (the user has no name.middleName); the value given " +
			"per assignment was used"}, byField["last_name"])
	require.Equal(t, FieldPreview{Field: "first_name", Label: "first_name", Value: "ADA",
		Source: SourceExpression, From: "upper(user.name.givenName)"}, byField["first_name"])
	require.Equal(t, "the user has no nickName", byField["phone"].Why)
	require.Equal(t, SourceValue, byField["level"].Source)
	require.Equal(t, "hardcoded", byField["level"].From)
	require.Equal(t, SourceGiven, byField["role"].Source)
	require.Equal(t, "not mapped", byField["rate"].Why)
	require.Equal(t, FieldPreview{Field: "tz", Label: "tz", ReadOnly: true, Source: SourceNone,
		Why: "read-only: only the user sets it"}, byField["tz"])

	rec, err := p.Project(decodeUser(t, pathUser), map[string]any{"last_name": "King", "role": "7"})
	require.NoError(t, err)
	require.Equal(t, rec, pv.Record, "a preview holds the record Project gives")
}

func TestProjectorConcurrentUse(t *testing.T) {
	p := compileTest(t, map[string]Source{
		"email":      {Expression: `lower(attr("emails.value"))`},
		"last_name":  {Expression: `join([user.name.familyName, enterprise.department], "-")`},
		"first_name": {Attribute: "name.givenName"},
	}, nil)
	users := make([]map[string]any, 16)
	want := make([]string, len(users))
	for i := range users {
		users[i] = decodeUser(t, fmt.Sprintf(`{"name": {"givenName": "U%d", "familyName": "F%d"},
			"emails": [{"value": "U%d@Example.com"}],
			%q: {"department": "D%d"}}`, i, i, i, EnterpriseUserURN, i))
		rec, err := p.Project(users[i], nil)
		require.NoError(t, err)
		want[i] = rec.Hash
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 500 {
				i := (g + n) % len(users)
				rec, err := p.Project(users[i], nil)
				if err == nil && rec.Hash != want[i] {
					err = fmt.Errorf("user %d: hash %s, want %s", i, rec.Hash, want[i])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
