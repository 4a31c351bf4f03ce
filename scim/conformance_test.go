package scim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMicrosoftPostmanCollection runs Microsoft's public SCIM Postman
// collection with newman against a fresh server and fails on every failed
// assertion that testdata/conformance/EXCEPTIONS.md does not list, and on
// every listed exception that no longer fails.
//
// The collection authenticates every request with "Bearer {{token}}",
// where its reference server handed the token out from a non-standard
// /Token route that this server does not have (that request fails and is
// listed as an exception). The test supplies the harness's token as
// newman iteration data instead: data variables take precedence over the
// environment variable the failing /Token request overwrites. The
// collection file itself runs unmodified.
func TestMicrosoftPostmanCollection(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "test", "conformance")
	if _, err := exec.LookPath("npx"); err != nil {
		t.Fatal("node and npx are not installed: run `make test`, which installs them")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "newman")); err != nil {
		t.Fatalf("newman is not installed in %s: run `make test` (it runs npm ci there)", dir)
	}

	h := newHarness(t)
	u, err := url.Parse(h.srv.URL)
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)

	tmp := t.TempDir()
	collection, err := filepath.Abs(filepath.Join("testdata", "conformance",
		"microsoft-scim-postman.json"))
	require.NoError(t, err)
	data := filepath.Join(tmp, "data.json")
	writeJSON(t, data, []map[string]any{{"token": testToken}})
	env := filepath.Join(tmp, "environment.json")
	writeJSON(t, env, map[string]any{
		"name": "scim-bridge",
		"values": []map[string]any{
			{"key": "Protocol", "value": "http", "enabled": true},
			{"key": "Server", "value": host, "enabled": true},
			{"key": "Port", "value": ":" + port, "enabled": true},
			{"key": "Api", "value": "scim/v2", "enabled": true},
		},
	})
	report := filepath.Join(tmp, "report.json")

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npx", "--no-install", "newman", "run", collection,
		"--environment", env, "--iteration-data", data,
		"--reporters", "cli,json", "--reporter-json-export", report,
		"--disable-unicode", "--color", "off")
	cmd.Dir = dir
	out, runErr := cmd.CombinedOutput()
	// newman exits non-zero when any assertion fails; the report decides.
	if _, err := os.Stat(report); err != nil {
		t.Fatalf("newman wrote no report (%v):\n%s", runErr, out)
	}

	failures, total := readFailures(t, report)
	t.Logf("newman: %d assertions run, %d passed, %d failed (each listed in EXCEPTIONS.md when the test passes)",
		total, total-len(failures), len(failures))
	exceptions := readExceptions(t, filepath.Join("testdata", "conformance", "EXCEPTIONS.md"))
	var unexpected []string
	for _, f := range failures {
		if !slices.Contains(exceptions, f) {
			unexpected = append(unexpected, f)
		}
	}
	var stale []string
	for _, e := range exceptions {
		if !slices.Contains(failures, e) {
			stale = append(stale, e)
		}
	}
	if len(unexpected) > 0 || len(stale) > 0 {
		t.Logf("newman output:\n%s", out)
	}
	require.Empty(t, unexpected, "assertions that failed and are not listed in EXCEPTIONS.md")
	require.Empty(t, stale, "exceptions listed in EXCEPTIONS.md that no longer fail")
	require.NotEmpty(t, failures, "the collection's known exceptions must show up as failures")
}

// repoRoot finds the module root from the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test directory")
		dir = parent
	}
}

func writeJSON(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, raw, 0o600))
}

// readFailures lists the failed assertions of a newman JSON report as
// "request name / assertion name", and counts the assertions run.
func readFailures(t *testing.T, report string) (failed []string, total int) {
	t.Helper()
	raw, err := os.ReadFile(report)
	require.NoError(t, err)
	var r struct {
		Run struct {
			Executions []struct {
				Item struct {
					Name string `json:"name"`
				} `json:"item"`
				Assertions []struct {
					Assertion string `json:"assertion"`
					Error     *struct {
						Message string `json:"message"`
					} `json:"error"`
				} `json:"assertions"`
			} `json:"executions"`
		} `json:"run"`
	}
	require.NoError(t, json.Unmarshal(raw, &r))
	require.NotEmpty(t, r.Run.Executions, "newman ran no request")
	for _, e := range r.Run.Executions {
		total += len(e.Assertions)
		for _, a := range e.Assertions {
			if a.Error != nil {
				key := e.Item.Name + " / " + a.Assertion
				if !slices.Contains(failed, key) {
					failed = append(failed, key)
				}
			}
		}
	}
	return failed, total
}

// readExceptions reads the first two columns (request, assertion) of the
// table rows of EXCEPTIONS.md.
func readExceptions(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			continue
		}
		req := strings.Trim(strings.TrimSpace(cells[0]), "`")
		assertion := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if req == "" || req == "Request" || strings.HasPrefix(req, "---") {
			continue
		}
		out = append(out, req+" / "+assertion)
	}
	require.NoError(t, sc.Err())
	return out
}
