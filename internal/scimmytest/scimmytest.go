// Package scimmytest runs, for a test, the independent SCIM 2.0 service
// provider in test/scimmy: SCIMMY and its express routers on Node.js, with
// users kept in memory, userName unique and bearer authentication.
//
// Start needs node on the PATH and the npm packages installed in
// test/scimmy (`make test` does it: `npm ci` in that folder). Without them
// it fails the test with a message saying so, rather than skipping.
package scimmytest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long node may take to print that it listens; a
// busy two-core machine can be slow to load the packages.
const startTimeout = 60 * time.Second

// Options choose what the server advertises in /ServiceProviderConfig.
type Options struct {
	// NoPatch advertises no PATCH support (clients then update with PUT).
	NoPatch bool
	// NoBulk advertises no Bulk support.
	NoBulk bool
	// BulkMaxOperations is the advertised bulk maxOperations; 0 means 10.
	BulkMaxOperations int
}

// Server is a running SCIMMY server.
type Server struct {
	// URL is the SCIM service root, such as http://127.0.0.1:4321/scim/v2.
	URL string
	// Token is the bearer token the server accepts.
	Token string
}

// Start runs a fresh server on a free loopback port and stops it when the
// test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	dir := serverDir(tb)
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("scimmytest: node is not installed; run `make test`, "+
			"which installs it and the test/scimmy packages: %v", err)
	}

	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("scimmytest: token: %v", err)
	}
	token := hex.EncodeToString(b[:])
	bulk := opts.BulkMaxOperations
	switch {
	case opts.NoBulk:
		bulk = 0
	case bulk == 0:
		bulk = 10
	}

	cmd := exec.Command(node, "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"SCIMMY_TOKEN="+token,
		"SCIMMY_PORT=0",
		"SCIMMY_PATCH="+strconv.FormatBool(!opts.NoPatch),
		"SCIMMY_BULK_MAX_OPS="+strconv.Itoa(bulk),
	)
	cmd.SysProcAttr = sysProcAttr()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	// Wait copies stdout into the pipe until node exits; the reader drains
	// it to the end, so node never blocks on a full pipe.
	stdout, stdoutW := io.Pipe()
	cmd.Stdout = stdoutW
	if err := cmd.Start(); err != nil {
		tb.Fatalf("scimmytest: start node: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		_ = stdoutW.Close()
		close(exited)
	}()
	tb.Cleanup(func() { stop(cmd, exited) })

	port, err := waitReady(stdout, exited, &waitErr)
	if err != nil {
		tb.Fatalf("scimmytest: %v\nnode stderr:\n%s", err, stderr.String())
	}
	return &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/scim/v2", Token: token}
}

// serverDir finds test/scimmy from the module root above the working
// directory and checks its packages are installed.
func serverDir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("scimmytest: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, "test", "scimmy")
			for _, pkg := range []string{"scimmy", "scimmy-routers", "express"} {
				manifest := filepath.Join(dir, "node_modules", pkg, "package.json")
				if _, err := os.Stat(manifest); err != nil {
					tb.Fatalf("scimmytest: npm package %s is not installed in %s; run `make test` "+
						"(or `npm ci` in test/scimmy)", pkg, dir)
				}
			}
			return dir
		}
		if filepath.Dir(d) == d {
			tb.Fatalf("scimmytest: no go.mod above %s", wd)
		}
	}
}

// waitReady reads the server's output until it names its port.
func waitReady(stdout io.Reader, exited <-chan struct{}, waitErr *error) (int, error) {
	const ready = "scimmy listening on port "
	found := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			if port, ok := strings.CutPrefix(line, ready); ok && !announced {
				if n, err := strconv.Atoi(strings.TrimSpace(port)); err == nil {
					announced = true
					found <- n
				}
			}
		}
	}()

	select {
	case port := <-found:
		return port, nil
	case <-exited:
		return 0, fmt.Errorf("node exited before it was ready: %v", *waitErr)
	case <-time.After(startTimeout):
		return 0, fmt.Errorf("node did not print %q within %v", ready, startTimeout)
	}
}

// stop asks the server to exit and kills it if it does not.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Get reads path below the service root with the server's token and
// returns the status and body.
func (s *Server) Get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// lockedBuffer collects the server's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
