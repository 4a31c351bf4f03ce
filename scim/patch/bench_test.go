package patch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// entraUpdate is the PATCH Microsoft Entra ID sends (with the SCIM
// compliance flag) when a user's name, email and employee number change.
const entraUpdate = `[
  {"op": "replace", "path": "emails[type eq \"work\"].value",
    "value": "TestMhvaes@test.microsoft.com"},
  {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
    "name.familyName": "Unua",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}},
  {"op": "Replace", "path": "active", "value": "False"}]`

// BenchmarkApply applies a typical Entra PATCH to a typical user, and a
// membership change to groups of growing size.
func BenchmarkApply(b *testing.B) {
	s := testSchemas()
	b.Run("entraUser", func(b *testing.B) {
		res := decode(b, baseUser)
		ops := decodeOps(b, entraUpdate)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Apply(res, ops, s, attr.User); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("addMembers/group=%d", n), func(b *testing.B) {
			var members []string
			for i := range n {
				members = append(members, fmt.Sprintf(`{"value": "user-%d"}`, i))
			}
			res := decode(b, `{"id": "g", "displayName": "G", "members": [`+
				strings.Join(members, ",")+`]}`)
			ops := decodeOps(b, `[
			  {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "new-1"},
			    {"$ref": null, "value": "user-5"}]},
			  {"op": "Remove", "path": "members", "value": [{"value": "user-7"}]}]`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Apply(res, ops, s, attr.Group); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
