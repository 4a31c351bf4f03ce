package scimclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// Create posts a new User built from fields and returns the id the
// application gave it. The account is active unless fields set active.
// A 409 from the application (userName taken) is connector.ErrConflict.
func (cl *Client) Create(ctx context.Context, fields connector.Fields) (string, error) {
	u, err := newUser(fields)
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	var created struct {
		ID string `json:"id"`
	}
	status, err := cl.exchange(ctx, call{op: "create", method: http.MethodPost, path: "/Users",
		body: u.document(), out: &created})
	if status == http.StatusNotFound {
		// There is no account to be missing: the endpoint is.
		return "", notAboutAccount(status, err)
	}
	if err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", &connector.Error{Op: "create", Status: http.StatusCreated,
			Err: errors.New("the application answered without an id")}
	}
	return created.ID, nil
}

// Update makes account id hold fields and be active (unless fields set
// active): one PATCH when the application supports it, else a GET of the
// account, the fields merged in, and a PUT. connector.ErrNotFound when the
// account is gone.
func (cl *Client) Update(ctx context.Context, id string, fields connector.Fields) error {
	if err := checkID("update", id); err != nil {
		return err
	}
	u, err := newUser(fields)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	caps, err := cl.discover(ctx)
	if err != nil {
		return err
	}
	if caps.patch {
		return cl.do(ctx, call{op: "update", method: http.MethodPatch, path: userPath(id),
			body: patchBody(u.patchOps())})
	}
	return cl.replace(ctx, "update", id, u.applyTo)
}

// Deactivate sets active to false, with PATCH when the application
// supports it and GET-then-PUT otherwise. It is idempotent.
func (cl *Client) Deactivate(ctx context.Context, id string) error {
	if err := checkID("deactivate", id); err != nil {
		return err
	}
	caps, err := cl.discover(ctx)
	if err != nil {
		return err
	}
	if caps.patch {
		return cl.do(ctx, call{op: "deactivate", method: http.MethodPatch, path: userPath(id),
			body: patchBody(deactivateOps())})
	}
	return cl.replace(ctx, "deactivate", id, func(doc map[string]any) {
		setKey(doc, "active", false)
		delete(doc, "meta")
		delete(doc, "groups")
	})
}

func deactivateOps() []patchOp {
	return []patchOp{{Op: "replace", Path: "active", Value: false}}
}

// replace reads account id, changes it with edit and puts it back.
func (cl *Client) replace(ctx context.Context, op, id string, edit func(map[string]any)) error {
	var doc map[string]any
	if err := cl.do(ctx, call{op: op, method: http.MethodGet, path: userPath(id),
		out: &doc}); err != nil {
		return err
	}
	if doc == nil {
		doc = map[string]any{}
	}
	edit(doc)
	return cl.do(ctx, call{op: op, method: http.MethodPut, path: userPath(id), body: doc})
}

// Delete removes account id; connector.ErrNotFound when it is gone.
func (cl *Client) Delete(ctx context.Context, id string) error {
	if err := checkID("delete", id); err != nil {
		return err
	}
	return cl.do(ctx, call{op: "delete", method: http.MethodDelete, path: userPath(id)})
}

// Lookup finds the one account whose key field equals key.Value, with a
// filtered GET /Users. connector.KeyUserName searches userName,
// connector.KeyEmail and any emails field search emails.value, and any
// other field searches the attribute it names. It returns
// connector.ErrNotFound when no account matches, and a permanent error
// when several do.
func (cl *Client) Lookup(ctx context.Context, key connector.Key) (string, error) {
	filter, err := lookupFilter(key)
	if err != nil {
		return "", fmt.Errorf("lookup: %w", err)
	}
	var list struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	q := url.Values{"filter": {filter}, "count": {"2"}}
	if err := cl.do(ctx, call{op: "lookup", method: http.MethodGet, path: "/Users",
		query: q, out: &list}); err != nil {
		return "", err
	}
	switch n := max(list.TotalResults, len(list.Resources)); {
	case len(list.Resources) == 0:
		return "", fmt.Errorf("lookup %s: %w", key.Field, connector.ErrNotFound)
	case n > 1:
		return "", &connector.Error{Op: "lookup",
			Err: fmt.Errorf("%d accounts match %s", n, key.Field)}
	}
	return list.Resources[0].ID, nil
}

func lookupFilter(key connector.Key) (string, error) {
	field := key.Field
	switch {
	case field == connector.KeyUserName:
		field = "userName"
	case field == connector.KeyEmail, strings.HasPrefix(strings.ToLower(field), "emails"):
		field = "emails.value"
	}
	return filterFor(field, key.Value)
}

// notAboutAccount strips connector.ErrNotFound or ErrConflict from err, for
// answers that describe an endpoint rather than an account.
func notAboutAccount(status int, err error) error {
	var ce *connector.Error
	if (status == http.StatusNotFound || status == http.StatusConflict) && errors.As(err, &ce) {
		msg := ce.Err.Error()
		for _, s := range []error{connector.ErrNotFound, connector.ErrConflict} {
			msg = strings.TrimPrefix(msg, s.Error()+": ")
		}
		ce.Err = fmt.Errorf("endpoint %s", msg)
	}
	return err
}

// checkID refuses an empty id, which would address the whole collection.
func checkID(op, id string) error {
	if id == "" {
		return &connector.Error{Op: op, Err: errors.New("empty account id")}
	}
	return nil
}

func userPath(id string) string { return "/Users/" + url.PathEscape(id) }
