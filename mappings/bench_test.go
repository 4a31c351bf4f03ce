package mappings

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// benchApp has 20 fields; benchMapping maps all of them, two by expression.
const benchApp = `
name: bench
identity: [email]
fields:
  - {name: email, type: email, mandatory: true, maxLength: 100}
  - {name: user_name, type: string}
  - {name: first_name, type: string, maxLength: 50}
  - {name: last_name, type: string, maxLength: 50}
  - {name: display_name, type: string}
  - {name: title, type: string}
  - {name: phone, type: phone}
  - {name: mobile, type: phone}
  - {name: street, type: string}
  - {name: city, type: string}
  - {name: region, type: string}
  - {name: zip, type: string}
  - {name: country, type: string}
  - {name: department, type: string}
  - {name: employee_number, type: string}
  - {name: cost_center, type: string}
  - {name: manager, type: reference}
  - {name: active, type: boolean}
  - {name: locale, type: string}
  - {name: level, type: enum, values: [Staff, Manager]}
`

const benchMapping = `
app: bench
fields:
  email:
    expression: lower(coalesce(attr('emails[type eq "work"].value'), attr("emails.value")))
  user_name: userName
  first_name: name.givenName
  last_name: name.familyName
  display_name:
    expression: >-
      coalesce(attr("displayName"), join([attr("name.givenName"), attr("name.familyName")]))
  title: title
  phone: phoneNumbers[type eq "work"].value
  mobile: phoneNumbers[type eq "mobile"].value
  street: addresses.streetAddress
  city: addresses.locality
  region: addresses.region
  zip: addresses.postalCode
  country: addresses.country
  department: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department
  employee_number: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber
  cost_center: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter
  manager: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
  active: active
  locale: locale
  level: {value: Staff}
`

// BenchmarkProject projects one user through a 20-field mapping with two
// expressions. Target: at most 5 µs and 30 allocations per projection.
func BenchmarkProject(b *testing.B) {
	app := mustApp(b, benchApp)
	m, err := ParseMapping([]byte(benchMapping))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(app, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile("testdata/users/full.json")
	if err != nil {
		b.Fatal(err)
	}
	user := decodeUser(b, string(data))
	if rec, err := p.Project(user, nil); err != nil || len(rec.Fields) != 20 {
		b.Fatalf("projection: %v, %d fields", err, len(rec.Fields))
	}

	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if _, err := p.Project(user, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkCatalog projects 100,000 distinct users through the default
// mappings of the 15 Zoho applications, once per iteration. Target: at most
// 10 seconds on one core (run with -cpu 1 -benchtime 1x).
func BenchmarkCatalog(b *testing.B) {
	cat := loadCatalog(b)
	var projectors []*Projector
	for _, app := range cat.Apps() {
		if !strings.HasPrefix(app.Name, "zoho-") {
			continue
		}
		p, err := Compile(app, app.Default, nil)
		if err != nil {
			b.Fatal(err)
		}
		projectors = append(projectors, p)
	}
	if len(projectors) != 15 {
		b.Fatalf("%d Zoho apps, want 15", len(projectors))
	}
	users := make([]map[string]any, 100_000)
	for i := range users {
		users[i] = sampleUser(i)
	}

	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for b.Loop() {
		for _, u := range users {
			for _, p := range projectors {
				if _, err := p.Project(u, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	perCPU := (processCPU() - cpu) / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s/100k-users")
	b.ReportMetric(perCPU.Seconds(), "cpu-s/100k-users")
	b.ReportMetric(float64(per.Nanoseconds())/float64(len(users)*len(projectors)), "ns/projection")
}

// sampleUser builds a varied directory user as the SCIM server stores it.
func sampleUser(i int) map[string]any {
	given, family := fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i%977)
	u := map[string]any{
		"schemas":     []any{CoreUserURN, EnterpriseUserURN},
		"id":          fmt.Sprintf("id-%08d", i),
		"userName":    fmt.Sprintf("user%d@example.com", i),
		"displayName": given + " " + family,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"title":       []string{"Engineer", "Manager", "Analyst"}[i%3],
		"active":      i%17 != 0,
		"locale":      []string{"en-US", "de-DE", "fr-FR", "ja-JP"}[i%4],
		"emails": []any{
			map[string]any{"value": fmt.Sprintf("u%d@home.example", i), "type": "home"},
			map[string]any{"value": fmt.Sprintf("User%d@Example.com", i), "type": "work",
				"primary": true},
		},
		"phoneNumbers": []any{
			map[string]any{"value": fmt.Sprintf("+1 555 %04d", i%10000), "type": "work"},
			map[string]any{"value": fmt.Sprintf("+1 555 9%03d", i%1000), "type": "mobile"},
		},
		"addresses": []any{map[string]any{"type": "work", "streetAddress": "1 Main St",
			"locality": "Springfield", "region": "IL", "postalCode": "62701", "country": "US",
			"primary": true}},
		EnterpriseUserURN: map[string]any{
			"employeeNumber": fmt.Sprint(100000 + i),
			"department":     []string{"Sales", "Support", "Engineering", "Finance"}[i%4],
			"costCenter":     fmt.Sprint(4000 + i%50),
			"manager":        map[string]any{"value": fmt.Sprintf("id-%08d", i/10)},
		},
	}
	if i%5 == 0 {
		delete(u, "phoneNumbers")
	}
	return u
}
