package scimclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/internal/scimmytest"
)

// recorder notes the method and path of every request that passes.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *recorder) count(methodPath string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return count(r.seen, methodPath)
}

func (r *recorder) methods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.seen))
	for i, s := range r.seen {
		out[i], _, _ = strings.Cut(s, " ")
	}
	return out
}

// TestWireFormat checks the User the client writes, as SCIMMY stores it.
func TestWireFormat(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	c, err := scimclient.New(tokenSettings(t, scimmy(srv)))
	require.NoError(t, err)
	ctx := context.Background()

	id, err := c.Create(ctx, connector.Fields{
		"userName":                                         "wire",
		"externalId":                                       "hr-42",
		"name.givenName":                                   "Grace",
		"name.familyName":                                  "Hopper",
		`emails[type eq "work"].value`:                     "grace@work.test",
		`emails[type eq "home"].value`:                     "grace@home.test",
		`phoneNumbers[type eq "mobile"]`:                   "+1 555 0100",
		enterprise + ":department":                         "Navy",
		enterprise + ":manager.value":                      "boss-1",
		enterprise + ":employeeNumber":                     "7",
		"urn:ietf:params:scim:schemas:core:2.0:User:title": "Rear Admiral",
	})
	require.NoError(t, err)

	status, body, err := srv.Get(ctx, "/Users/"+id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "get: %s", body)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	delete(got, "meta")
	delete(got, "id")
	want := `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + enterprise + `"],
		"userName":"wire","externalId":"hr-42","title":"Rear Admiral","active":true,
		"name":{"givenName":"Grace","familyName":"Hopper"},
		"emails":[{"type":"work","value":"grace@work.test","primary":true},
			{"type":"home","value":"grace@home.test"}],
		"phoneNumbers":[{"type":"mobile","value":"+1 555 0100","primary":true}],
		"` + enterprise + `":{"department":"Navy","employeeNumber":"7","manager":{"value":"boss-1"}}}`
	gotJSON, _ := json.Marshal(got)
	require.JSONEq(t, want, string(gotJSON), "stored user:\n got %s\nwant %s", gotJSON, want)

	// Every identity key finds it.
	keys := []connector.Key{
		{Field: connector.KeyUserName, Value: "wire"},
		{Field: connector.KeyEmail, Value: "grace@home.test"},
		{Field: `emails[type eq "work"].value`, Value: "grace@work.test"},
		{Field: "externalId", Value: "hr-42"},
	}
	for _, k := range keys {
		got, err := c.Lookup(ctx, k)
		require.NoError(t, err, "lookup %s", k.Field)
		require.Equal(t, id, got, "lookup %s: got %q, want %q", k.Field, got, id)
	}
}

// TestUpdateWithoutDiscovery checks that an application without
// /ServiceProviderConfig is updated with GET and PUT, and that the client
// asks for the configuration only once.
func TestUpdateWithoutDiscovery(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	rec := &recorder{}
	hideConfig := func(next http.Handler) http.Handler {
		return rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
				http.NotFound(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
	s := tokenSettings(t, scimmy(srv))
	s.BaseURL = startProxy(t, srv.URL, hideConfig)
	c, err := scimclient.New(s)
	require.NoError(t, err)
	ctx := context.Background()

	id, err := c.Create(ctx, connector.Fields{"userName": "no-spc", "nickName": "kept"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			require.NoError(t, c.Update(ctx, id, connector.Fields{"userName": "no-spc", "title": "T"}))
		})
	}
	wg.Wait()
	require.NoError(t, c.Deactivate(ctx, id))
	n, err := c.MaxBulk(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "max bulk without a configuration: got %d, want 0", n)

	require.Equal(t, 1, rec.count("GET /scim/v2/ServiceProviderConfig"),
		"configuration requests: %v", rec.seen)
	require.Zero(t, count(rec.methods(), "PATCH"), "PATCH sent to a target without it: %v", rec.seen)
	require.Equal(t, 5, count(rec.methods(), "PUT"), "PUT requests: %v", rec.seen)

	acct, err := inspect(ctx, scimmy(srv), id)
	require.NoError(t, err)
	require.False(t, acct.Active, "active after deactivate: got true")
	require.Equal(t, "kept", acct.Fields["nickName"],
		"an attribute the fields do not name: got %v, want kept",
		acct.Fields["nickName"])
	require.Equal(t, "T", acct.Fields["title"], "title: got %v, want T", acct.Fields["title"])
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func TestMaxBulk(t *testing.T) {
	full := scimmytest.Start(t, scimmytest.Options{BulkMaxOperations: 50})
	tests := []struct {
		name string
		cap  int
		want int
	}{
		{"advertised", 0, 50},
		{"capped", 20, 20},
		{"cap above advertised", 500, 50},
		{"off", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tokenSettings(t, scimmy(full))
			s.MaxBulkOperations = tt.cap
			c, err := scimclient.New(s)
			require.NoError(t, err)
			got, err := c.MaxBulk(context.Background())
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "max bulk: got %d, want %d", got, tt.want)
			if got == 0 {
				ops := []connector.Operation{{Kind: connector.OpDelete, ID: "x"}}
				_, err := c.Bulk(context.Background(), ops)
				require.Error(t, err, "bulk while off: got no error")
			}
		})
	}
}

func TestLookupAmbiguous(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	c, err := scimclient.New(tokenSettings(t, scimmy(srv)))
	require.NoError(t, err)
	ctx := context.Background()
	for _, name := range []string{"twin-1", "twin-2"} {
		_, err := c.Create(ctx, connector.Fields{"userName": name, "emails.value": "twins@x.test"})
		require.NoError(t, err)
	}
	id, err := c.Lookup(ctx, connector.Key{Field: connector.KeyEmail, Value: "twins@x.test"})
	require.Error(t, err, "lookup of a shared email: got id %q, want an error", id)
	require.NotErrorIs(t, err, connector.ErrNotFound)
	retry, _ := connector.Retryable(err)
	require.False(t, retry, "ambiguous lookup: got retryable, want permanent")
}

func TestInvalidFieldsSendNothing(t *testing.T) {
	rec := &recorder{}
	srv := scimmytest.Start(t, scimmytest.Options{})
	s := tokenSettings(t, scimmy(srv))
	s.BaseURL = startProxy(t, srv.URL, rec.wrap)
	c, err := scimclient.New(s)
	require.NoError(t, err)

	_, err = c.Create(context.Background(), connector.Fields{"userName": "x", "bad field": 1})
	require.ErrorContains(t, err, "bad field")
	err = c.Update(context.Background(), "some-id", connector.Fields{`emails[value eq "x"]`: 1})
	require.ErrorContains(t, err, "emails")
	err = c.Delete(context.Background(), "")
	require.ErrorContains(t, err, "empty account id")
	require.Empty(t, rec.seen, "requests sent for invalid calls: %v", rec.seen)
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	t.Setenv("SCIMCLIENT_UNREACHABLE_TOKEN", "t0ken")
	c, err := scimclient.New(scimclient.Settings{BaseURL: "http://" + addr + "/scim/v2",
		Token: connector.Secret{Env: "SCIMCLIENT_UNREACHABLE_TOKEN"}})
	require.NoError(t, err)
	_, err = c.Create(context.Background(), connector.Fields{"userName": "x"})
	var ce *connector.Error
	require.ErrorAs(t, err, &ce, "got %v, want a *connector.Error", err)
	require.True(t, ce.Retryable, "refused connection: got permanent, want retryable")
	require.Zero(t, ce.Status, "refused connection: got status %d, want none", ce.Status)
}

// TestSecretsStayOut checks that neither logs nor errors show the token,
// at debug level and on failures.
func TestSecretsStayOut(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := tokenSettings(t, scimmy(srv))
	c, err := scimclient.New(s, scimclient.WithLogger(logger))
	require.NoError(t, err)
	ctx := context.Background()

	var errs []error
	id, err := c.Create(ctx, connector.Fields{"userName": "secretive"})
	require.NoError(t, err)
	_, err = c.Create(ctx, connector.Fields{"userName": "secretive"})
	errs = append(errs, err)
	errs = append(errs, c.Update(ctx, id, connector.Fields{"userName": "secretive"}))
	errs = append(errs, c.Delete(ctx, "missing"))

	bad := s
	bad.BaseURL = srv.URL + "/nowhere"
	c2, err := scimclient.New(bad, scimclient.WithLogger(logger))
	require.NoError(t, err)
	_, err = c2.Lookup(ctx, connector.Key{Field: connector.KeyUserName, Value: "x"})
	errs = append(errs, err)

	require.Contains(t, logs.String(), "scim request", "debug logs: got none")
	require.NotContains(t, logs.String(), srv.Token, "the token is in the logs")
	for _, err := range errs {
		if err != nil {
			require.NotContains(t, err.Error(), srv.Token, "the token is in an error")
		}
	}
}

// TestSparseRecord sends what the scim catalog's default mapping projects
// for a user with few attributes: most fields nil. Clearing attributes the
// account never had must succeed, by PATCH and by PUT.
func TestSparseRecord(t *testing.T) {
	fields := connector.Fields{
		"userName": "sparse", "externalId": "dir-1", "active": true,
		"name.givenName": "Sam", "name.middleName": nil, "name.honorificPrefix": nil,
		"nickName": nil, "title": nil, "locale": nil,
		`emails[type eq "work"].value`:         "sam@x.test",
		`phoneNumbers[type eq "work"].value`:   nil,
		`phoneNumbers[type eq "mobile"].value`: nil,
		`addresses[type eq "work"].locality`:   nil,
		`addresses[type eq "work"].country`:    nil,
		enterprise + ":department":             nil,
		enterprise + ":costCenter":             nil,
	}
	for _, opts := range []scimmytest.Options{{}, {NoPatch: true, NoBulk: true}} {
		t.Run(fmt.Sprintf("patch %v", !opts.NoPatch), func(t *testing.T) {
			srv := scimmytest.Start(t, opts)
			c, err := scimclient.New(tokenSettings(t, scimmy(srv)))
			require.NoError(t, err)
			ctx := context.Background()

			id, err := c.Create(ctx, fields)
			require.NoError(t, err)
			require.NoError(t, c.Update(ctx, id, fields), "update with the same sparse fields")

			acct, err := inspect(ctx, scimmy(srv), id)
			require.NoError(t, err)
			require.True(t, acct.Active)
			require.Equal(t, "sam@x.test", acct.Fields[`emails[type eq "work"].value`])
			for _, absent := range []string{"title", "phoneNumbers", enterprise + ":department"} {
				for k := range acct.Fields {
					require.False(t, strings.HasPrefix(k, absent), "got field %s, want none", k)
				}
			}
		})
	}
}
