package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
)

// dirUser is a directory user as a reconcile sees it: its SCIM document
// with the groups it belongs to added, as a SCIM server would show them.
type dirUser struct {
	id         string
	exists     bool
	doc        map[string]any
	userName   string
	externalID string
	active     bool
	groups     []dirGroup
}

// dirGroup is a group a directory user belongs to, with the names a scope
// may know it by.
type dirGroup struct {
	id         string
	name       string
	externalID string
}

// loadUser reads a user and its groups; a missing user comes back with
// exists false and no error.
func (e *Engine) loadUser(ctx context.Context, id string) (*dirUser, error) {
	res, groupIDs, err := e.store.GetWithReferrers(ctx, state.KindUser, id, state.KindGroup)
	if errors.Is(err, state.ErrNotFound) {
		return &dirUser{id: id}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return e.userWith(ctx, res, groupIDs)
}

// userFrom decodes a stored user resource and loads its groups.
func (e *Engine) userFrom(ctx context.Context, res state.Resource) (*dirUser, error) {
	groupIDs, err := e.store.Referrers(ctx, state.KindGroup, res.ID)
	if err != nil {
		return nil, fmt.Errorf("read groups of user: %w", err)
	}
	return e.userWith(ctx, res, groupIDs)
}

// userWith decodes a stored user resource, member of the groups of
// groupIDs.
func (e *Engine) userWith(ctx context.Context, res state.Resource,
	groupIDs []string) (*dirUser, error) {
	u := &dirUser{id: res.ID, exists: true}
	if err := json.Unmarshal(res.Data, &u.doc); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", res.ID, err)
	}
	if u.doc == nil {
		u.doc = map[string]any{}
	}
	u.userName, _ = u.doc["userName"].(string)
	u.externalID, _ = u.doc["externalId"].(string)
	u.active = isActive(u.doc["active"])

	groups, err := e.groupsByID(ctx, groupIDs)
	if err != nil {
		return nil, err
	}
	u.groups = groups
	if len(groups) > 0 {
		list := make([]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{"value": g.id, "display": g.name, "type": "direct"}
		}
		u.doc["groups"] = list
	}
	return u, nil
}

// isActive reads SCIM "active": absent means active; some identity
// providers send the strings "True" and "False".
func isActive(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		return !strings.EqualFold(t, "false")
	}
	return true
}

// groupsByID reads the groups of ids, those a user is a direct member of.
func (e *Engine) groupsByID(ctx context.Context, ids []string) ([]dirGroup, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := e.store.GetMany(ctx, state.KindGroup, ids)
	if err != nil {
		return nil, fmt.Errorf("read groups of user: %w", err)
	}
	out := make([]dirGroup, 0, len(res))
	for _, r := range res {
		n := groupNamesOf(r.Data)
		out = append(out, dirGroup{id: r.ID, name: n.Name, externalID: n.ExternalID})
	}
	return out, nil
}

// groupNames are the names of a group a scope may match, other than its
// id; the engine remembers them to see a group renamed.
type groupNames struct {
	Name       string `json:"name"`
	ExternalID string `json:"external_id,omitempty"`
}

func groupNamesOf(data []byte) groupNames {
	var g struct {
		DisplayName string `json:"displayName"`
		ExternalID  string `json:"externalId"`
	}
	_ = json.Unmarshal(data, &g)
	return groupNames{Name: g.DisplayName, ExternalID: g.ExternalID}
}

// scope decides which directory users an app receives: everyone, direct
// members of listed groups, or assigned users (see config.Scope for how
// groups and users are named). Assignments may carry values for fields the
// mapping leaves unmapped, whatever made the user in scope.
type scope struct {
	all    bool
	groups map[string]bool
	assign map[string]map[string]any
}

func newScope(def *mappings.App, c config.Scope) (scope, error) {
	s := scope{all: c.All, groups: map[string]bool{}, assign: map[string]map[string]any{}}
	for _, g := range c.Groups {
		s.groups[strings.ToLower(g)] = true
	}
	var errs []error
	for _, as := range c.Assignments {
		if as.User == "" {
			errs = append(errs, errors.New("an assignment names no user"))
			continue
		}
		if err := mappings.Errors(def.ValidateGiven(as.Fields)); err != nil {
			errs = append(errs, fmt.Errorf("assignment of %s: %w", as.User, err))
		}
		s.assign[strings.ToLower(as.User)] = as.Fields
	}
	return s, errors.Join(errs...)
}

// match reports whether u is in scope, and the values its assignment gives.
func (s scope) match(u *dirUser) (bool, map[string]any) {
	if !u.exists {
		return false, nil
	}
	given, assigned := s.assignment(u)
	if s.all || assigned {
		return true, given
	}
	for _, g := range u.groups {
		if s.has(g.name) || s.has(g.id) || s.has(g.externalID) {
			return true, given
		}
	}
	return false, nil
}

// assignment finds u's assignment by id, then externalId, then userName.
func (s scope) assignment(u *dirUser) (map[string]any, bool) {
	for _, name := range []string{u.id, u.externalID, u.userName} {
		if name == "" {
			continue
		}
		if given, ok := s.assign[strings.ToLower(name)]; ok {
			return given, true
		}
	}
	return nil, false
}

func (s scope) has(group string) bool {
	return group != "" && s.groups[strings.ToLower(group)]
}
