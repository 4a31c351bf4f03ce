package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppsList(t *testing.T) {
	out, _, err := runOffline(t, "", "apps")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 18, "a header and the 17 built-in apps")
	require.Regexp(t, `^APP +NAME +CONNECTOR +MANDATORY FIELDS$`, lines[0])
	require.Contains(t, out, "zoho-crm")
	require.Regexp(t, regexp.MustCompile(`(?m)^zoho-crm +Zoho CRM +zoho-crm +`+
		`first_name, email, role, profile$`), out)
	require.Regexp(t, regexp.MustCompile(`(?m)^zoho-desk +Zoho Desk +zoho-desk +`+
		`emailId, lastName, associatedDepartmentIds, rolePermissionType$`), out)
}

func TestAppsShow(t *testing.T) {
	out, _, err := runOffline(t, "", "apps", "zoho-crm")
	require.NoError(t, err)
	require.Contains(t, out, "Zoho CRM (zoho-crm), connector zoho-crm\n")
	require.Contains(t, out, "mapped together or not at all: role, profile\n")
	require.Regexp(t, `(?m)^first_name +string\(50\) +mandatory +name\.givenName$`, out)
	require.Regexp(t, `(?m)^time_format +enum\(HH:mm\|hh:mm a\) +- +-$`, out)
	require.Regexp(t, `(?m)^language +string +read-only +-$`, out)
	require.Contains(t, out, "notes:\n  Field names, lengths")

	_, _, err = runOffline(t, "", "apps", "zoho-dsk")
	require.EqualError(t, err, `app "zoho-dsk" is not in the catalog (did you mean zoho-desk?)`)
}

func TestAppsCustom(t *testing.T) {
	app := writeFile(t, "hr.yaml", `name: acme-hr
label: Acme HR
connector: webhook
identity: [login]
fields:
  - {name: login, type: email, mandatory: true}
  - {name: teams, type: reference, multiValued: true}
`)
	out, _, err := runOffline(t, "", "apps", "--custom-app", app)
	require.NoError(t, err)
	require.Regexp(t, `(?m)^acme-hr +Acme HR \(custom\) +webhook +login$`, out)

	out, _, err = runOffline(t, "", "apps", "--custom-app", app, "acme-hr")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^teams +list of reference +- +-$`, out)

	_, _, err = runOffline(t, "", "apps", "--custom-app", writeFile(t, "bad.yaml", "name: x"))
	require.ErrorContains(t, err, "bad.yaml: parse app x: it has no fields")
}
