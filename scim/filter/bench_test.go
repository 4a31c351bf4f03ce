package filter

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// BenchmarkMatch evaluates filters identity providers send against a
// typical user.
func BenchmarkMatch(b *testing.B) {
	s := attr.Default()
	res := decode(b, user)
	filters := map[string]string{
		"userNameEq":   `userName eq "bjensen@example.com"`,
		"externalIdEq": `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		"workEmail":    `emails[type eq "work"].value eq "bjensen@example.com"`,
		"mixed": `userType eq "Employee" and (emails co "example.com" or ` +
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "tour")`,
		"dateRange": `meta.created gt "2015-01-01T00:00:00Z" and meta.created lt "2016-01-01T00:00:00Z"`,
	}
	for name, text := range filters {
		e, err := Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if !Match(e, res, s, attr.User) {
			b.Fatalf("%s does not match", text)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Match(e, res, s, attr.User)
			}
		})
	}
}

// BenchmarkParse parses a filter of typical size.
func BenchmarkParse(b *testing.B) {
	const text = `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
