package scim

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/scim/patch"
	"github.com/scim-bridge/scim-bridge/state"
)

const patchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

func (s *Server) patchHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := mux.Vars(r)["id"]
		body, err := s.readObject(r)
		if err != nil {
			return err
		}
		ops, err := patchOperations(body)
		if err != nil {
			return err
		}
		pre := preconditionsOf(r)
		p, versions, err := s.apply(r.Context(), t.kind, id, func(rd reader) (*plan, error) {
			return s.planPatch(r.Context(), rd, t, id, ops, pre)
		})
		if err != nil {
			return err
		}
		if t.kind == state.KindGroup && !asksForAttributes(r) {
			writeNoContent(w, p.result(versions).Version)
			return nil
		}
		return s.respond(w, r, p, versions, projectionOf(r))
	}
}

// A successful PATCH may be answered 200 with the resource or 204 (RFC
// 7644 section 3.5.2). A group is answered 204 unless the client names
// attributes or excludedAttributes: Microsoft Entra ID expects 204 for its
// group patches, and sending back a group of many thousand members after
// every membership change would cost more than the change. A user is
// always answered 200 with the resource, which Okta reads.
func asksForAttributes(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("attributes") || q.Has("excludedAttributes")
}

// writeNoContent answers 204 with the resource's new version as ETag.
func writeNoContent(w http.ResponseWriter, version uint64) {
	w.Header().Set("Etag", versionTag(version))
	w.WriteHeader(http.StatusNoContent)
}

// patchOperations reads a PatchOp message (RFC 7644 section 3.5.2). Member
// names are matched case-insensitively, as clients vary in how they write
// "Operations".
func patchOperations(body map[string]any) ([]patch.Operation, error) {
	_, schemas, _ := attr.Field(body, "schemas")
	list, _ := schemas.([]any)
	if !slices.ContainsFunc(list, func(v any) bool {
		s, ok := v.(string)
		return ok && strings.EqualFold(s, patchOpSchema)
	}) {
		return nil, invalidSyntax("schemas must hold %s", patchOpSchema)
	}
	_, raw, _ := attr.Field(body, "Operations")
	items, ok := raw.([]any)
	if !ok || len(items) == 0 {
		return nil, invalidValue("Operations must be a list of one or more operations")
	}
	ops := make([]patch.Operation, 0, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, invalidSyntax("operation %d is not an object", i+1)
		}
		_, op, _ := attr.Field(m, "op")
		_, path, _ := attr.Field(m, "path")
		_, value, _ := attr.Field(m, "value")
		opName, ok := op.(string)
		if !ok {
			return nil, invalidSyntax("operation %d has no op", i+1)
		}
		pathText, ok := path.(string)
		if path != nil && !ok {
			return nil, invalidSyntax("operation %d: path must be a string", i+1)
		}
		ops = append(ops, patch.Operation{Op: opName, Path: pathText, Value: value})
	}
	return ops, nil
}

// planPatch applies ops to the current resource and plans the result like
// a PUT of it, so the patched document is validated again before it is
// stored.
func (s *Server) planPatch(ctx context.Context, rd reader, t *resourceType, id string,
	ops []patch.Operation, pre preconditions) (*plan, error) {
	if t.kind == state.KindUser {
		if err := rejectGroupsWrite(ops); err != nil {
			return nil, err
		}
	}
	cur, old, err := s.current(ctx, rd, t, id, pre)
	if err != nil {
		return nil, err
	}
	patched, err := patch.Apply(old, ops, s.schemas, t.name)
	if err != nil {
		return nil, err
	}
	attrs, err := t.normalize(asJSONNumbers(patched).(map[string]any))
	if err != nil {
		return nil, err
	}
	return s.planUpdate(ctx, rd, t, cur, old, attrs)
}

// rejectGroupsWrite refuses operations on a user's "groups". The attribute
// is readOnly and derived from the groups' members, so the stored document
// never holds it and the patch engine, which compares against the stored
// document, cannot tell that such a write would change it. Membership
// changes go through the group (RFC 7643 section 4.1.2).
func rejectGroupsWrite(ops []patch.Operation) error {
	isGroups := func(p string) bool {
		parsed, err := attr.ParsePath(p)
		return err == nil && strings.EqualFold(parsed.Name, "groups") &&
			(parsed.URI == "" || strings.EqualFold(parsed.URI, schema.UserSchema))
	}
	for _, o := range ops {
		if o.Path != "" {
			if isGroups(o.Path) {
				return mutability("groups is readOnly: change the group's members instead")
			}
			continue
		}
		values, _ := o.Value.(map[string]any)
		for k, v := range values {
			if isGroups(k) && !isEmptyValue(v) {
				return mutability("groups is readOnly: change the group's members instead")
			}
		}
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// asJSONNumbers turns float64 values into json.Number, the form in which
// the schema library accepts both integers and decimals.
func asJSONNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = asJSONNumbers(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = asJSONNumbers(e)
		}
		return v
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return v
		}
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	}
	return v
}
