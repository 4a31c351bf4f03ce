package attr

import (
	"errors"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/stretchr/testify/require"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func TestParsePath(t *testing.T) {
	tests := []struct {
		in         string
		uri, name  string
		sub        string
		filter     string // rendered value filter, "" when none
		canonical  string // String(), when it differs from in
		wantErrSub string // part of the error detail; "" means success
	}{
		{in: "userName", name: "userName"},
		{in: "name.givenName", name: "name", sub: "givenName"},
		{in: "name.FamilyName", name: "name", sub: "FamilyName"},
		{in: `emails[type eq "work"].value`, name: "emails", sub: "value", filter: `type eq "work"`},
		{in: `emails[type eq "work" and primary eq true]`, name: "emails",
			filter: `type eq "work" and primary eq true`},
		{in: `addresses[type eq "work"].locality`, name: "addresses", sub: "locality",
			filter: `type eq "work"`},
		{in: `members[value eq "2819c223-7f76-453a-919d-413861904646"]`, name: "members",
			filter: `value eq "2819c223-7f76-453a-919d-413861904646"`},
		{in: enterprise + ":manager.value", uri: enterprise, name: "manager", sub: "value"},
		{in: enterprise + ":department", uri: enterprise, name: "department"},
		{in: "urn:ietf:params:scim:schemas:core:2.0:User:userName",
			uri: "urn:ietf:params:scim:schemas:core:2.0:User", name: "userName"},
		{in: "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
			uri: "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User", name: "tag"},
		{in: enterprise, uri: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", name: "User"},
		{in: "members.$ref", name: "members", sub: "$ref"},
		{in: `  emails [ type eq "work" ] `, name: "emails", filter: `type eq "work"`,
			canonical: `emails[type eq "work"]`},
		{in: `emails[type eq "work" or (type eq "home" and not (primary eq false))]`,
			name: "emails", filter: `type eq "work" or type eq "home" and not (primary eq false)`,
			canonical: `emails[type eq "work" or type eq "home" and not (primary eq false)]`},

		{in: "", wantErrSub: "expected an attribute name"},
		{in: "a.b.c", wantErrSub: "not a valid attribute path"},
		{in: "9lives", wantErrSub: "not a valid attribute name"},
		{in: "urn:x:", wantErrSub: "not a valid attribute name"},
		{in: ":name", wantErrSub: "empty schema URI"},
		{in: `emails[type eq "work"]x`, wantErrSub: `unexpected "x"`},
		{in: `emails[type eq "work"`, wantErrSub: `expected "]"`},
		{in: `emails[type eq]`, wantErrSub: "expected a value"},
		{in: `name.givenName[type eq "x"]`, wantErrSub: "cannot follow the sub-attribute"},
		{in: `emails[x[y eq 1]]`, wantErrSub: "cannot be nested"},
		{in: `emails[type eq "work"].`, wantErrSub: "not a valid sub-attribute name"},
		{in: "userName eq", wantErrSub: "after the path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if tt.wantErrSub != "" {
				requireScimError(t, err, scimerrors.ScimTypeInvalidPath, tt.wantErrSub)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.uri, p.URI, "URI")
			require.Equal(t, tt.name, p.Name, "Name")
			require.Equal(t, tt.sub, p.Sub, "Sub")
			if tt.filter == "" {
				require.Nil(t, p.Filter)
			} else {
				require.NotNil(t, p.Filter)
				require.Equal(t, tt.filter, p.Filter.String())
			}
			want := tt.in
			if tt.canonical != "" {
				want = tt.canonical
			}
			require.Equal(t, want, p.String())
		})
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical rendering; "" means the same as in
	}{
		// RFC 7644 section 3.4.2.2 examples.
		{in: `userName eq "bjensen"`},
		{in: `name.familyName co "O'Malley"`},
		{in: `userName sw "J"`},
		{in: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
		{in: `title pr`},
		{in: `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{in: `meta.lastModified ge "2011-05-13T04:42:34Z"`},
		{in: `meta.lastModified lt "2011-05-13T04:42:34Z"`},
		{in: `meta.lastModified le "2011-05-13T04:42:34Z"`},
		{in: `title pr and userType eq "Employee"`},
		{in: `title pr or userType eq "Intern"`},
		{in: `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
		{in: `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`},
		{in: `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`},
		{in: `userType eq "Employee" and (emails.type eq "work")`,
			want: `userType eq "Employee" and emails.type eq "work"`},
		{in: `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`},
		{in: `emails[type eq "work" and value co "@example.com"] or ` +
			`ims[type eq "xmpp" and value co "@foo.com"]`},

		// What identity providers send.
		{in: `emails[type eq "work"].value eq "user@contoso.com"`},
		{in: `displayName eq "Group One"`},
		{in: `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`},
		{in: `DisplayName EQ "x"`, want: `DisplayName eq "x"`},
		{in: `name.FamilyName eq "x"`},
		{in: `userName eq "a" and ` + enterprise + `:department eq "x"`},
		{in: `meta.created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{in: `emails[type eq "work" and primary eq true and value co "x"]`},
		{in: "userName\teq\t\"x\"", want: `userName eq "x"`},
		{in: `userName eq "a\"b\\c\u00e9\uD83D\uDE00"`, want: `userName eq "a\"b\\cé😀"`},

		// Literals, precedence and grouping.
		{in: `active eq True`, want: `active eq true`},
		{in: `active eq false`},
		{in: `title eq null`},
		{in: `x eq 1.5e3`, want: `x eq 1500`},
		{in: `x gt -0.25`},
		{in: `a pr or b pr and c pr`},
		{in: `(a pr or b pr) and c pr`},
		{in: `not(a pr)`, want: `not (a pr)`},
		{in: `((a pr))`, want: `a pr`},
		{in: `emails[not (type eq "work")]`},
		{in: `emails[(type eq "work" or type eq "home") and primary eq true]`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseFilter(tt.in)
			require.NoError(t, err)
			want := tt.want
			if want == "" {
				want = tt.in
			}
			require.Equal(t, want, e.String())

			again, err := ParseFilter(e.String())
			require.NoError(t, err, "the rendering parses")
			require.Equal(t, e.String(), again.String(), "the rendering is stable")
		})
	}
}

func TestParseFilterPrecedence(t *testing.T) {
	e, err := ParseFilter(`a pr or b pr and c pr`)
	require.NoError(t, err)
	or, ok := e.(*Or)
	require.True(t, ok, "or binds loosest, got %T", e)
	_, ok = or.Right.(*And)
	require.True(t, ok, "and binds tighter, got %T", or.Right)

	e, err = ParseFilter(`not (a pr) and b pr`)
	require.NoError(t, err)
	and, ok := e.(*And)
	require.True(t, ok, "got %T", e)
	_, ok = and.Left.(*Not)
	require.True(t, ok, "not applies to its group only, got %T", and.Left)

	e, err = ParseFilter(`emails[type eq "work"].value eq "x"`)
	require.NoError(t, err)
	c, ok := e.(*Comparison)
	require.True(t, ok, "got %T", e)
	require.Equal(t, "value", c.Path.Sub)
	require.NotNil(t, c.Path.Filter)
	require.Equal(t, "x", c.Value)

	e, err = ParseFilter(`x eq 42`)
	require.NoError(t, err)
	require.Equal(t, 42.0, e.(*Comparison).Value, "numbers are float64")
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ in, wantErrSub string }{
		{"", "expected an attribute name"},
		{"userName", "expected an operator"},
		{`userName xx "a"`, "expected an operator"},
		{`userName eq`, "expected a value"},
		{`userName eq 'a'`, "expected a value"},
		{`userName eq bjensen`, "expected a value"},
		{`userName eq "a`, "unterminated string"},
		{`userName eq "a\q"`, "unknown escape"},
		{`userName eq "\u12"`, "malformed \\u escape"},
		{`userName eq "a" and`, "expected an attribute name"},
		{`userName eq "a" or`, "expected an attribute name"},
		{`(userName eq "a"`, `missing ")"`},
		{`userName eq "a")`, `unexpected ")"`},
		{`x eq 1e999`, "out of range"},
		{`x eq 01x`, "malformed number"},
		{`x eq -`, "malformed number"},
		{`x eq 1.`, "malformed number"},
		{`emails[type eq "work"`, `expected "]"`},
		{`emails[x[y eq 1]]`, "cannot be nested"},
		{`not userName eq "a"`, "expected an operator"},
		{`userName eq "a" userName eq "b"`, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseFilter(tt.in)
			requireScimError(t, err, scimerrors.ScimTypeInvalidFilter, tt.wantErrSub)
		})
	}
}

func TestParseFilterDepthLimit(t *testing.T) {
	deep := ""
	for range maxDepth + 5 {
		deep += "("
	}
	_, err := ParseFilter(deep + "a pr")
	requireScimError(t, err, scimerrors.ScimTypeInvalidFilter, "nested deeper")

	long := strings.Repeat("a pr or ", maxTerms) + "a pr"
	_, err = ParseFilter(long)
	requireScimError(t, err, scimerrors.ScimTypeInvalidFilter, "more than 500 comparisons")
	_, err = ParseFilter(strings.Repeat("a pr or ", maxTerms-1) + "a pr")
	require.NoError(t, err)
}

func requireScimError(t *testing.T, err error, want scimerrors.ScimType, detailPart string) {
	t.Helper()
	require.Error(t, err)
	var se scimerrors.ScimError
	require.True(t, errors.As(err, &se), "error %v is not a ScimError", err)
	require.IsType(t, scimerrors.ScimError{}, err, "a value, not a pointer or wrapper")
	require.Equal(t, want, se.ScimType, "scimType of %q", se.Detail)
	require.Equal(t, 400, se.Status)
	require.Contains(t, se.Detail, detailPart)
}
