package scim

import (
	"fmt"
	"net/http"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"

	"github.com/scim-bridge/scim-bridge/auth"
)

// buildDiscovery prepares /ServiceProviderConfig, which this package
// renders itself so that it tells the truth about bulk, sort, etag and the
// configured authentication, and /Schemas and /ResourceTypes, which the
// schema library serves from the resource type definitions.
func (s *Server) buildDiscovery() error {
	types := []elimity.ResourceType{
		s.users.discoveryType("User Account"),
		s.groups.discoveryType("Group"),
	}
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{MaxResults: s.maxResults},
		ResourceTypes:         types,
	})
	if err != nil {
		return fmt.Errorf("scim: discovery: %w", err)
	}
	s.discovery = http.StripPrefix(Prefix, srv)
	return nil
}

func (t *resourceType) discoveryType(description string) elimity.ResourceType {
	rt := elimity.ResourceType{
		ID:          optional.NewString(t.name),
		Name:        t.name,
		Description: optional.NewString(description),
		Endpoint:    t.endpoint,
		Schema:      t.core,
		// The library's resource handlers are never reached: only the
		// discovery paths are routed to it.
		Handler: nil,
	}
	for _, e := range t.extensions {
		rt.SchemaExtensions = append(rt.SchemaExtensions, elimity.SchemaExtension{Schema: e})
	}
	return rt
}

// serveDiscovery answers /Schemas and /ResourceTypes through the library.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) error {
	s.discovery.ServeHTTP(w, r)
	return nil
}

func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	body, err := marshal(s.serviceProviderConfigDocument(s.location(r, "/ServiceProviderConfig", "")))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
	return nil
}

// serviceProviderConfigDocument describes what this server supports
// (RFC 7643 section 5). changePassword is false because passwords are
// accepted but not kept.
func (s *Server) serviceProviderConfigDocument(loc string) map[string]any {
	var schemes []any
	for i, m := range s.auth.Methods() {
		switch m {
		case auth.MethodSecret:
			schemes = append(schemes, map[string]any{
				"type":        "oauthbearertoken",
				"name":        "Bearer token",
				"description": "A shared secret sent as Authorization: Bearer <token>.",
				"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
				"primary":     i == 0,
			})
		case auth.MethodJWT:
			schemes = append(schemes, map[string]any{
				"type": "oauthbearertoken",
				"name": "JSON Web Token",
				"description": "A signed JWT sent as Authorization: Bearer <token>; " +
					"exp is required and iss and aud are checked when configured.",
				"specUri": "https://www.rfc-editor.org/rfc/rfc7519",
				"primary": i == 0,
			})
		}
	}
	return map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":   map[string]any{"supported": true},
		"bulk": map[string]any{
			"supported":      true,
			"maxOperations":  s.maxBulkOps,
			"maxPayloadSize": s.maxPayload,
		},
		"filter":                map[string]any{"supported": true, "maxResults": s.maxResults},
		"changePassword":        map[string]any{"supported": false},
		"sort":                  map[string]any{"supported": true},
		"etag":                  map[string]any{"supported": true},
		"authenticationSchemes": schemes,
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     loc,
		},
	}
}
