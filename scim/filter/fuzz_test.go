package filter

import (
	"encoding/json"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// FuzzParseMatch checks that any filter either fails to parse with an
// error or parses to an expression whose rendering parses back to itself,
// and that validating and matching it against any JSON object never
// panics. Seeds live in testdata/fuzz/FuzzParseMatch.
func FuzzParseMatch(f *testing.F) {
	f.Add(`userName eq "bjensen"`, []byte(user))
	f.Add(`emails[type eq "work" and primary eq true].value co "@"`, []byte(user))
	f.Add(`members[value eq "x"] or displayName sw "T"`, []byte(group))
	s := attr.Default()
	fixed := []map[string]any{decodeOrNil(user), decodeOrNil(group), nil}

	f.Fuzz(func(t *testing.T, text string, doc []byte) {
		e, err := Parse(text)
		if err != nil {
			return
		}
		rendered := e.String()
		again, err := Parse(rendered)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", rendered, text, err)
		}
		if again.String() != rendered {
			t.Fatalf("rendering is not stable: %q then %q", rendered, again.String())
		}
		_ = Validate(e, s, attr.User)
		_ = Validate(e, s, attr.Group)
		IndexLookup(e)

		var res map[string]any
		if json.Unmarshal(doc, &res) == nil {
			Match(e, res, s, attr.User)
			Match(e, res, s, attr.Group)
		}
		for _, r := range fixed {
			Match(e, r, s, attr.User)
		}
	})
}

func decodeOrNil(s string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(s), &m)
	return m
}
