package patch

import (
	"encoding/json"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// FuzzApply checks that applying any operations to any resource never
// panics, leaves the input untouched, fails only with a ScimError value and
// otherwise returns a resource that marshals to JSON. Seeds live in
// testdata/fuzz/FuzzApply.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`[{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@b.c"}]`),
		[]byte(baseUser))
	f.Add([]byte(`[{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]`),
		[]byte(`{"id": "g", "displayName": "G", "members": [{"value": "u1"}]}`))
	s := testSchemas()

	f.Fuzz(func(t *testing.T, opsJSON, resJSON []byte) {
		var ops []Operation
		if json.Unmarshal(opsJSON, &ops) != nil {
			return
		}
		var res map[string]any
		if json.Unmarshal(resJSON, &res) != nil {
			return
		}
		for _, rt := range []string{attr.User, attr.Group} {
			var before map[string]any
			_ = json.Unmarshal(resJSON, &before)
			got, err := Apply(res, ops, s, rt)
			if !equalJSON(before, res) {
				t.Fatalf("Apply changed its input")
			}
			if err != nil {
				if _, ok := err.(scimerrors.ScimError); !ok {
					t.Fatalf("error %T is not a ScimError value: %v", err, err)
				}
				continue
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
			Changed(res, got)
		}
	})
}
