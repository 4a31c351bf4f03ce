package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// ParseExtension reads a User schema extension for Config.Extensions from
// its JSON definition in the form of RFC 7643 section 7: "id" (a URN),
// "name", "description" and "attributes". It fails on malformed JSON, an
// id that is not a URN, a schema without attributes, or an attribute of an
// unknown type, mutability, returned or uniqueness value.
func ParseExtension(raw []byte) (schema.Schema, error) {
	var s schema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return schema.Schema{}, fmt.Errorf("scim: parse extension schema: %w", err)
	}
	if !strings.HasPrefix(s.ID, "urn:") {
		return schema.Schema{}, fmt.Errorf("scim: extension schema id %q is not a urn", s.ID)
	}
	if len(s.Attributes) == 0 {
		return schema.Schema{}, errors.New("scim: extension schema " + s.ID + " has no attributes")
	}
	return s, nil
}
