package scim_test

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
)

// directory fills a harness with a few users that filters tell apart.
func directory(t *testing.T, h *harness) map[string]string {
	t.Helper()
	users := []map[string]any{
		{"userName": "alice", "externalId": "A-1", "displayName": "Alice Smith", "title": "Engineer",
			"name":   map[string]any{"familyName": "Smith", "givenName": "Alice"},
			"active": true,
			"emails": []any{
				map[string]any{"value": "alice@work.example", "type": "work", "primary": true},
				map[string]any{"value": "alice@home.example", "type": "home"},
			},
			"schemas":        []string{userSchema, enterpriseSchema},
			enterpriseSchema: map[string]any{"department": "R&D", "employeeNumber": "100"}},
		{"userName": "Bob", "externalId": "B-2", "displayName": "Bob Jones", "title": "Manager",
			"name":           map[string]any{"familyName": "Jones", "givenName": "Bob"},
			"active":         false,
			"emails":         []any{map[string]any{"value": "bob@work.example", "type": "work"}},
			"schemas":        []string{userSchema, enterpriseSchema},
			enterpriseSchema: map[string]any{"department": "Sales", "employeeNumber": "200"}},
		{"userName": "carol", "externalId": "c-3", "displayName": "Carol Smith",
			"name":   map[string]any{"familyName": "Smith", "givenName": "Carol"},
			"active": true,
			"emails": []any{map[string]any{"value": "carol@home.example", "type": "home"}}},
		{"userName": "dave", "active": true, "nickName": "Dave"},
	}
	ids := map[string]string{}
	for _, u := range users {
		ids[u["userName"].(string)] = h.createUser(t, u)
	}
	return ids
}

// names lists the userNames of a ListResponse's resources, in order.
func names(t *testing.T, r *response) []string {
	t.Helper()
	var out []string
	for _, res := range r.obj(t)["Resources"].([]any) {
		out = append(out, res.(map[string]any)["userName"].(string))
	}
	return out
}

func TestFilters(t *testing.T) {
	h := newHarness(t)
	directory(t, h)

	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "alice"`, []string{"alice"}},
		{`userName eq "ALICE"`, []string{"alice"}}, // userName is not caseExact
		{`UserName Eq "bob"`, []string{"Bob"}},
		{`externalId eq "A-1"`, []string{"alice"}},
		{`externalId eq "a-1"`, nil}, // externalId is caseExact
		{`userName ne "alice"`, []string{"Bob", "carol", "dave"}},
		{`displayName co "smith"`, []string{"alice", "carol"}},
		{`userName sw "c"`, []string{"carol"}},
		{`displayName ew "Jones"`, []string{"Bob"}},
		{`title pr`, []string{"alice", "Bob"}},
		{`not (title pr)`, []string{"carol", "dave"}},
		{`active eq false`, []string{"Bob"}},
		{`userName gt "bob"`, []string{"carol", "dave"}},
		{`userName ge "carol"`, []string{"carol", "dave"}},
		{`userName lt "bob"`, []string{"alice"}},
		{`userName le "bob"`, []string{"alice", "Bob"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"alice", "Bob", "carol", "dave"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
		{`name.familyName eq "Smith" and active eq true`, []string{"alice", "carol"}},
		{`name.givenName eq "Bob" or nickName eq "Dave"`, []string{"Bob", "dave"}},
		{`name.familyName eq "Smith" and (emails.value co "work" or title eq "x")`,
			[]string{"alice"}},
		{`emails[type eq "home"]`, []string{"alice", "carol"}},
		{`emails[type eq "work" and value co "bob"]`, []string{"Bob"}},
		{`emails[type eq "work"].value eq "alice@work.example"`, []string{"alice"}},
		{`emails co "home.example"`, []string{"alice", "carol"}},
		{`emails.type eq "work"`, []string{"alice", "Bob"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`,
			[]string{"Bob"}},
		{`userName eq "alice" and ` +
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "100"`,
			[]string{"alice"}},
		{`userName eq "alice" and ` +
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "200"`,
			nil},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "dave"`, []string{"dave"}},
		{`userName eq "nobody"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			r := h.do(t, http.MethodGet, "/Users?sortBy=userName&filter="+url.QueryEscape(tt.filter), nil)
			mustStatus(t, r, http.StatusOK)
			got := names(t, r)
			require.Equal(t, tt.want, got, "filter %s", tt.filter)
			require.Equal(t, float64(len(tt.want)), r.obj(t)["totalResults"])
		})
	}
}

func TestFilterByIDAndOnGroups(t *testing.T) {
	h := newHarness(t)
	ids := directory(t, h)
	h.createGroup(t, "Admins", ids["alice"], ids["dave"])

	r := h.do(t, http.MethodGet, "/Users?filter="+url.QueryEscape(`id eq "`+ids["carol"]+`"`), nil)
	require.Equal(t, []string{"carol"}, names(t, r))

	r = h.do(t, http.MethodGet, "/Users?sortBy=userName&filter="+
		url.QueryEscape(`groups.display eq "admins"`), nil)
	require.Equal(t, []string{"alice", "dave"}, names(t, r))

	g := h.do(t, http.MethodGet, "/Groups?filter="+url.QueryEscape(`displayName eq "ADMINS"`), nil)
	mustStatus(t, g, http.StatusOK)
	require.Equal(t, float64(1), g.obj(t)["totalResults"])
}

func TestSearchEndpoint(t *testing.T) {
	h := newHarness(t)
	directory(t, h)
	r := h.do(t, http.MethodPost, "/Users/.search", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":     `name.familyName eq "Smith"`,
		"sortBy":     "userName",
		"sortOrder":  "descending",
		"attributes": []string{"userName"},
		"startIndex": 1,
		"count":      10,
	})
	mustStatus(t, r, http.StatusOK)
	require.Equal(t, []string{"carol", "alice"}, names(t, r))
	first := path(r.obj(t), "Resources", 0).(map[string]any)
	require.Nil(t, first["name"], "attributes limits the response")
	require.NotNil(t, first["id"], "id is always returned")

	bad := h.do(t, http.MethodPost, "/Users/.search", map[string]any{"filter": "userName pr"})
	mustStatus(t, bad, http.StatusBadRequest)
}

func TestPagingAndSorting(t *testing.T) {
	h := newHarness(t)
	for i := range 7 {
		h.createUser(t, map[string]any{"userName": "user" + strconv.Itoa(i),
			"title": strconv.Itoa(9 - i)})
	}

	all := h.do(t, http.MethodGet, "/Users?sortBy=title", nil)
	require.Equal(t, []string{"user6", "user5", "user4", "user3", "user2", "user1", "user0"},
		names(t, all))

	page := h.do(t, http.MethodGet, "/Users?sortBy=userName&startIndex=3&count=2", nil)
	body := page.obj(t)
	require.Equal(t, float64(7), body["totalResults"])
	require.Equal(t, float64(2), body["itemsPerPage"])
	require.Equal(t, float64(3), body["startIndex"])
	require.Equal(t, []string{"user2", "user3"}, names(t, page))

	// Without sortBy pages come in a stable order and cover everyone once.
	var seen []string
	for start := 1; start <= 7; start += 3 {
		r := h.do(t, http.MethodGet, "/Users?count=3&startIndex="+strconv.Itoa(start), nil)
		require.Equal(t, float64(7), r.obj(t)["totalResults"])
		seen = append(seen, names(t, r)...)
	}
	slices.Sort(seen)
	require.Equal(t, []string{"user0", "user1", "user2", "user3", "user4", "user5", "user6"}, seen)

	tail := h.do(t, http.MethodGet, "/Users?startIndex=7&count=5", nil).obj(t)
	require.Equal(t, float64(1), tail["itemsPerPage"])
	past := h.do(t, http.MethodGet, "/Users?startIndex=50", nil).obj(t)
	require.Equal(t, []any{}, past["Resources"])
	require.Equal(t, float64(7), past["totalResults"])
	zero := h.do(t, http.MethodGet, "/Users?count=0", nil).obj(t)
	require.Equal(t, float64(0), zero["itemsPerPage"])
	require.Equal(t, float64(7), zero["totalResults"])
	neg := h.do(t, http.MethodGet, "/Users?startIndex=-4&count=1", nil).obj(t)
	require.Equal(t, float64(1), neg["startIndex"])

	desc := h.do(t, http.MethodGet, "/Users?sortBy=userName&sortOrder=descending&count=2", nil)
	require.Equal(t, []string{"user6", "user5"}, names(t, desc))
}

func TestMaxResultsCapsCount(t *testing.T) {
	h := newHarness(t, withMaxResults(2))
	for i := range 3 {
		h.createUser(t, map[string]any{"userName": "u" + strconv.Itoa(i)})
	}
	r := h.do(t, http.MethodGet, "/Users?count=50", nil).obj(t)
	require.Equal(t, float64(2), r["itemsPerPage"])
	require.Equal(t, float64(3), r["totalResults"])
}

func TestProjection(t *testing.T) {
	h := newHarness(t)
	ids := directory(t, h)
	id := ids["alice"]

	only := h.do(t, http.MethodGet, "/Users/"+id+"?attributes=userName,name.givenName", nil).obj(t)
	require.Equal(t, "alice", only["userName"])
	require.Equal(t, map[string]any{"givenName": "Alice"}, only["name"])
	require.Nil(t, only["emails"])
	require.Equal(t, id, only["id"])
	require.NotNil(t, only["schemas"])

	without := h.do(t, http.MethodGet, "/Users/"+id+
		"?excludedAttributes=emails,"+enterpriseSchema+":department", nil).obj(t)
	require.Nil(t, without["emails"])
	require.Equal(t, "100", path(without, enterpriseSchema, "employeeNumber"))
	require.Nil(t, path(without, enterpriseSchema, "department"))
	require.Equal(t, "alice", without["userName"])

	ext := h.do(t, http.MethodGet, "/Users/"+id+"?attributes="+enterpriseSchema, nil).obj(t)
	require.Equal(t, "R&D", path(ext, enterpriseSchema, "department"))
	require.Nil(t, ext["userName"])

	list := h.do(t, http.MethodGet, "/Users?attributes=userName&filter="+
		url.QueryEscape(`userName eq "bob"`), nil).obj(t)
	require.Equal(t, map[string]any{"id": ids["Bob"], "userName": "Bob",
		"schemas": []any{userSchema, enterpriseSchema}}, path(list, "Resources", 0))
}

// TestPagingParameterBounds checks RFC 7644 section 3.4.2.4 at the edges:
// a count above the maximum is capped, a negative one is 0, and values
// beyond any integer size or written as integral JSON numbers are read,
// not refused.
func TestPagingParameterBounds(t *testing.T) {
	h := newHarness(t, withMaxResults(2))
	for i := range 3 {
		h.createUser(t, map[string]any{"userName": "b" + strconv.Itoa(i)})
	}
	cases := []struct {
		query      string
		items      float64
		startIndex float64
	}{
		{"count=50", 2, 1},
		{"count=100000000000000000000", 2, 1},
		{"count=-5", 0, 1},
		{"count=-100000000000000000000", 0, 1},
		{"startIndex=100000000000000000000", 0, math.MaxInt},
		{"startIndex=-100000000000000000000&count=1", 1, 1},
		{"startIndex=3&count=1e1", 1, 3},
		{"sortBy=userName&startIndex=100000000000000000000", 0, math.MaxInt},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := h.do(t, http.MethodGet, "/Users?"+c.query, nil)
			mustStatus(t, r, http.StatusOK)
			body := r.obj(t)
			require.Equal(t, c.items, body["itemsPerPage"])
			require.Equal(t, float64(3), body["totalResults"])
			require.Equal(t, c.startIndex, body["startIndex"])
		})
	}
	search := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":`
	r := h.do(t, http.MethodPost, "/Users/.search", search+`1e3}`)
	mustStatus(t, r, http.StatusOK)
	require.Equal(t, float64(2), r.obj(t)["itemsPerPage"])
	for _, bad := range []string{"count=2.5", "count=many", "startIndex=1.5"} {
		mustStatus(t, h.do(t, http.MethodGet, "/Users?"+bad, nil), http.StatusBadRequest)
	}
}

// TestSortedMatchesAreBounded checks that sortBy refuses, with 400
// tooMany, a query matching more than scim.MaxSortedResults resources,
// and still sorts one that matches fewer.
func TestSortedMatchesAreBounded(t *testing.T) {
	h := newHarness(t)
	for first := 0; first <= scim.MaxSortedResults; first += 1000 {
		var ops []map[string]any
		for i := first; i < min(first+1000, scim.MaxSortedResults+1); i++ {
			n := strconv.Itoa(i)
			ops = append(ops, bulkOp("POST", "/Users", n, newUser("s"+n)))
		}
		for _, res := range results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(ops...))) {
			require.Equal(t, "201", res["status"])
		}
	}

	r := h.do(t, http.MethodGet, "/Users?sortBy=userName&count=1", nil)
	mustStatus(t, r, http.StatusBadRequest)
	require.Equal(t, "tooMany", r.obj(t)["scimType"])

	narrow := h.do(t, http.MethodGet, "/Users?sortBy=userName&sortOrder=descending&count=2&filter="+
		url.QueryEscape(`userName sw "s999"`), nil)
	mustStatus(t, narrow, http.StatusOK)
	require.Equal(t, []string{"s9999", "s9998"}, names(t, narrow))

	unsorted := h.do(t, http.MethodGet, "/Users?count=1", nil).obj(t)
	require.Equal(t, float64(scim.MaxSortedResults+1), unsorted["totalResults"])
}
