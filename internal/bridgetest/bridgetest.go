// Package bridgetest runs the real scim-bridge binary for end-to-end tests:
// it builds the binary once per test process, starts it on a free port with
// a data directory and an optional configuration file, reads the URL and
// the generated credentials it prints, and can stop it gracefully or kill
// it with SIGKILL and start it again on the same data.
package bridgetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a scim-bridge binary built from this checkout,
// building it on first use.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "scim-bridge-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "scim-bridge")
		cmd := exec.Command("go", "build", "-o", build.path, "github.com/scim-bridge/scim-bridge/cmd/scim-bridge")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("build scim-bridge: %v", build.err)
	}
	return build.path
}

// moduleRoot is the repository root, found from this source file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Options says how to start a bridge.
type Options struct {
	// Config is the YAML configuration; empty means none.
	Config string
	// Store is the store setting; empty means an embedded store in Dir.
	Store string
	// Dir is the working and data directory; empty means a new temp dir.
	Dir string
	// Env holds extra environment variables (NAME=value).
	Env []string
	// Addr is the listen address; empty means a free port on 127.0.0.1,
	// kept across restarts.
	Addr string
}

// Process is a running (or stopped) bridge.
type Process struct {
	t    testing.TB
	opts Options
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer

	// URL is the base URL, such as http://127.0.0.1:41234.
	URL string
	// SCIMToken and AdminToken are the credentials the bridge printed
	// (empty when they were configured rather than generated).
	SCIMToken  string
	AdminToken string
}

// Start runs a bridge and waits until /readyz answers. The process is
// killed at test cleanup if it still runs.
func Start(t testing.TB, opts Options) *Process {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Addr == "" {
		opts.Addr = freeAddr(t)
	}
	if opts.Store == "" {
		opts.Store = "bolt:" + filepath.Join(opts.Dir, "bridge.db")
	}
	p := &Process{t: t, opts: opts}
	p.start()
	t.Cleanup(func() {
		if p.Running() {
			p.Kill()
		}
	})
	return p
}

func (p *Process) start() {
	t := p.t
	t.Helper()
	args := []string{"serve", "--addr", p.opts.Addr, "--store", p.opts.Store}
	if p.opts.Config != "" {
		path := filepath.Join(p.opts.Dir, "bridge.yaml")
		if err := os.WriteFile(path, []byte(p.opts.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	cmd := exec.Command(Binary(t), args...)
	cmd.Dir = p.opts.Dir
	cmd.Env = append(os.Environ(), p.opts.Env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.logs = &syncBuffer{}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scim-bridge: %v", err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})

	banner := make(chan map[string]string, 1)
	go func() {
		fields := map[string]string{}
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			for _, label := range []string{"SCIM base URL", "SCIM token", "admin token"} {
				if v, ok := strings.CutPrefix(line, label); ok {
					fields[label] = strings.TrimSpace(v)
				}
			}
			if strings.HasPrefix(line, "curl ") || strings.HasPrefix(line, "credentials:") {
				if !sent {
					banner <- fields
					sent = true
				}
			}
		}
		if !sent {
			banner <- fields
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	select {
	case f := <-banner:
		p.URL = strings.TrimSuffix(f["SCIM base URL"], "/scim/v2")
		if tok := f["SCIM token"]; tok != "" {
			p.SCIMToken = tok
		}
		if tok := f["admin token"]; tok != "" {
			p.AdminToken = tok
		}
	case <-p.done:
		t.Fatalf("scim-bridge exited at start:\n%s", p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("scim-bridge printed no banner in 30s:\n%s", p.logs.String())
	}
	p.waitReady()
}

func (p *Process) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("scim-bridge at %s never became ready:\n%s", p.URL, p.logs.String())
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits for a clean exit, failing the test if the
// bridge does not stop within the timeout or exits with an error.
func (p *Process) Stop(timeout time.Duration) {
	p.t.Helper()
	p.Terminate()
	p.Wait(timeout)
}

// Terminate sends SIGTERM and returns at once, so that a test can act
// while the bridge shuts down; Wait then waits for its exit.
func (p *Process) Terminate() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
}

// Wait waits for the process to exit cleanly, failing the test if it does
// not within the timeout (and killing it) or exits with an error.
func (p *Process) Wait(timeout time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		p.t.Fatalf("scim-bridge did not stop within %s:\n%s", timeout, p.logs.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("scim-bridge exited with %d:\n%s", code, p.logs.String())
	}
}

// Restart starts the bridge again with the same options, on the same
// address and data; the previous process must have exited.
func (p *Process) Restart() {
	p.t.Helper()
	if p.Running() {
		p.t.Fatal("restart of a running bridge")
	}
	p.start()
}

// Logs returns what the process wrote to stderr so far.
func (p *Process) Logs() string { return p.logs.String() }

// Do sends a request with the bearer token and returns the response; body
// may be nil. The caller closes the response body.
func (p *Process) Do(ctx context.Context, method, path, token string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	return http.DefaultClient.Do(req)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
