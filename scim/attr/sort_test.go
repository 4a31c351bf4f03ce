package attr

import (
	"fmt"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/stretchr/testify/require"
)

func TestSort(t *testing.T) {
	s := testSchemas(t)
	users := `[
	  {"id": "1", "userName": "bob",
	   "emails": [{"value": "z@x.org"}, {"value": "b@x.org", "primary": true}],
	   "meta": {"created": "2015-10-10T14:38:21.8617979-07:00"},
	   "urn:example:params:scim:schemas:extension:acme:1.0": {"badge": 10, "code": "b",
	     "remote": true}},
	  {"id": "2", "userName": "Alice", "emails": [{"value": "y@x.org"}, {"value": "c@x.org"}],
	   "meta": {"created": "2015-10-10T21:38:21Z"},
	   "urn:example:params:scim:schemas:extension:acme:1.0": {"badge": 9, "code": "B",
	     "remote": false}},
	  {"id": "3", "meta": {"created": "2015-10-10T14:38:21-07:00"},
	   "urn:example:params:scim:schemas:extension:acme:1.0": {"badge": "not a number", "code": "a"}},
	  {"id": "4", "userName": "carol", "emails": [{"value": "a@x.org"}],
	   "urn:example:params:scim:schemas:extension:acme:1.0": {"badge": 9.5, "code": "A"}}
	]`
	tests := []struct {
		sortBy     string
		descending bool
		want       string // ids in order
	}{
		{sortBy: "userName", want: "2143"},
		{sortBy: "userName", descending: true, want: "3412"},
		{sortBy: "USERNAME", want: "2143"},
		{sortBy: "id", want: "1234"},
		{sortBy: "emails", want: "4123"},
		{sortBy: "emails.value", want: "4123"},
		// caseExact strings order by code point: upper case first.
		{sortBy: custom + ":code", want: "4231"},
		{sortBy: custom + ":badge", want: "2413"},
		// 2 and 3 are the same instant in two zones; 1 is 0.86 s later.
		{sortBy: "meta.created", want: "2314"},
		{sortBy: custom + ":remote", want: "2134"},
		{sortBy: "nickName", want: "1234"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s desc=%v", tt.sortBy, tt.descending), func(t *testing.T) {
			sorter, err := s.SortBy(User, tt.sortBy)
			require.NoError(t, err)
			list := decodeList(t, users)
			sorter.Sort(list, tt.descending)
			got := ""
			for _, u := range list {
				got += u["id"].(string)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSortByErrors(t *testing.T) {
	s := testSchemas(t)
	for _, sortBy := range []string{"name", "nope", `emails[type eq "work"].value`, enterprise,
		"a b"} {
		_, err := s.SortBy(User, sortBy)
		requireScimError(t, err, scimerrors.ScimTypeInvalidPath, "")
	}
}

func TestCompareMissingLast(t *testing.T) {
	missing := SortKey{}
	present := SortKey{kind: keyString, str: "a"}
	require.Positive(t, Compare(missing, present))
	require.Negative(t, Compare(present, missing))
	require.Zero(t, Compare(missing, missing))
	require.Zero(t, Compare(Sorter{}.Key(map[string]any{"userName": "x"}), missing),
		"a zero Sorter gives missing keys")
}

func decodeList(t *testing.T, s string) []map[string]any {
	t.Helper()
	var list []map[string]any
	require.NoError(t, jsonUnmarshal(s, &list))
	return list
}
