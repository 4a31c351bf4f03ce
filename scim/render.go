package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/state"
)

// contentType is the media type of every SCIM response (RFC 7644 section 3.1).
const contentType = "application/scim+json"

// writeJSON writes v as JSON without HTML escaping.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// versionTag renders a store version as the weak entity tag that is both
// meta.version and the ETag header.
func versionTag(v uint64) string { return `W/"` + strconv.FormatUint(v, 10) + `"` }

// projection holds the attributes and excludedAttributes parameters.
type projection struct {
	attributes []string
	excluded   []string
}

func (p projection) empty() bool { return len(p.attributes) == 0 && len(p.excluded) == 0 }

// splitList splits a comma-separated parameter, dropping empty entries.
func splitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func projectionOf(r *http.Request) projection {
	q := r.URL.Query()
	return projection{
		attributes: splitList(q.Get("attributes")),
		excluded:   splitList(q.Get("excludedAttributes")),
	}
}

// groupRef is one entry of a user's derived "groups" attribute.
type groupRef struct {
	id      string
	display string
}

// groupsOf derives a user's "groups": the groups whose members name it
// directly, in id order.
func (s *Server) groupsOf(ctx context.Context, rd reader, userID string) ([]groupRef, error) {
	ids, err := rd.Referrers(ctx, state.KindGroup, userID)
	if err != nil {
		return nil, err
	}
	return groupsFrom(ctx, rd, ids)
}

// groupsFrom reads the groups of ids as a user's derived "groups".
func groupsFrom(ctx context.Context, rd reader, ids []string) ([]groupRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := rd.GetMany(ctx, state.KindGroup, ids)
	if err != nil {
		return nil, err
	}
	refs := make([]groupRef, 0, len(res))
	for _, g := range res {
		refs = append(refs, groupRef{id: g.ID, display: leadingString(g.Data, "displayName")})
	}
	return refs, nil
}

// leadingString reads a top-level string member of a stored document
// without decoding the rest; stored documents list their members in key
// order, so displayName comes first and large member lists are not read.
func leadingString(data []byte, name string) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == name {
			var v string
			if dec.Decode(&v) != nil {
				return ""
			}
			return v
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// render produces the response representation of a stored resource.
// Without a projection it splices meta.location, meta.version and the
// derived groups into the stored bytes; with one it decodes, selects and
// re-encodes.
//
// loc is the resource's location; a group member's "$ref" is the member's
// location, built from the same base URL.
func (s *Server) render(t *resourceType, res state.Resource, groups []groupRef,
	loc string, p projection) ([]byte, error) {
	base := strings.TrimSuffix(loc, t.endpoint+"/"+res.ID)
	if p.empty() && t.fastRender {
		data, ok := res.Data, true
		if t.kind == state.KindGroup {
			data, ok = spliceMemberRefs(data, base)
		}
		if ok {
			if out, ok := splice(data, groups, loc, res.Version); ok {
				return out, nil
			}
		}
	}
	doc, err := s.responseDocument(t, res, groups, loc)
	if err != nil {
		return nil, err
	}
	if members, ok := doc["members"].([]any); ok {
		addMemberRefs(members, base)
	}
	return marshal(attr.Select(doc, s.schemas, t.name, p.attributes, p.excluded))
}

// responseDocument decodes a stored resource and adds what is derived.
func (s *Server) responseDocument(t *resourceType, res state.Resource, groups []groupRef,
	loc string) (map[string]any, error) {
	doc, err := decodeDocument(res.Data)
	if err != nil {
		return nil, fmt.Errorf("decode stored %s %s: %w", t.name, res.ID, err)
	}
	meta, _ := doc["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{"resourceType": t.name}
		doc["meta"] = meta
	}
	meta["location"] = loc
	meta["version"] = versionTag(res.Version)
	if len(groups) > 0 {
		list := make([]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{"value": g.id, "display": g.display, "type": "direct"}
		}
		doc["groups"] = list
	}
	return doc, nil
}

// addMemberRefs sets each group member's "$ref" (RFC 7643 section 4.2):
// the URL of the User or Group it names, under base, the server's URL up
// to the endpoints. The stored document holds no "$ref", since the base
// URL may differ from one request to the next.
func addMemberRefs(members []any, base string) {
	for _, el := range members {
		m, _ := el.(map[string]any)
		id, _ := m["value"].(string)
		switch m["type"] {
		case string(state.KindUser):
			m["$ref"] = base + "/Users/" + id
		case string(state.KindGroup):
			m["$ref"] = base + "/Groups/" + id
		}
	}
}

// spliceMemberRefs returns a stored group document with "$ref" added to
// each member, re-encoding only the members. It reports false when the
// document is not laid out as stored.
func spliceMemberRefs(data []byte, base string) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, false
		}
		start := dec.InputOffset() // just after the key, before its colon
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if key != "members" {
			continue
		}
		end := dec.InputOffset()
		var members []any
		if err := json.Unmarshal(raw, &members); err != nil || data[start] != ':' {
			return nil, false
		}
		addMemberRefs(members, base)
		enc, err := marshal(members)
		if err != nil {
			return nil, false
		}
		out := make([]byte, 0, len(data)+len(members)*(len(base)+48))
		out = append(out, data[:start+1]...)
		out = append(out, enc...)
		return append(out, data[end:]...), true
	}
	return data, true
}

var metaMarker = []byte(`,"meta":{`)

// splice inserts groups before meta and location and version at the end of
// meta, relying on the stored layout (meta last, flat). It reports false
// when the layout is not the expected one.
func splice(data []byte, groups []groupRef, loc string, version uint64) ([]byte, bool) {
	n := len(data)
	if n < 2 || data[n-1] != '}' || data[n-2] != '}' {
		return nil, false
	}
	at := bytes.LastIndex(data, metaMarker)
	if at < 0 || bytes.ContainsAny(data[at+len(metaMarker):n-2], "{}") {
		return nil, false
	}
	out := make([]byte, 0, n+len(loc)+64+len(groups)*96)
	out = append(out, data[:at]...)
	if len(groups) > 0 {
		out = append(out, `,"groups":[`...)
		for i, g := range groups {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"display":`...)
			out = appendJSONString(out, g.display)
			out = append(out, `,"type":"direct","value":`...)
			out = appendJSONString(out, g.id)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	out = append(out, data[at:n-2]...)
	out = append(out, `,"location":`...)
	out = appendJSONString(out, loc)
	out = append(out, `,"version":"W/\"`...)
	out = strconv.AppendUint(out, version, 10)
	out = append(out, `\""}}`...)
	return out, true
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// writeResource sends one resource with its ETag.
func writeResource(w http.ResponseWriter, status int, body []byte, version uint64, loc string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Etag", versionTag(version))
	if loc != "" {
		h.Set("Location", loc)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
