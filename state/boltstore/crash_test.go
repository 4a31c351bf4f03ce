package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// The crash test runs its own test binary again as a child that writes to
// a store; these variables select child mode and tell it where and what.
const (
	crashPathEnv  = "BOLTSTORE_CRASH_PATH"
	crashRoundEnv = "BOLTSTORE_CRASH_ROUND"
)

// TestKillNineKeepsAcknowledgedWrites kills a writing process with SIGKILL
// mid-stream, several times over one file, and checks after each kill that
// every write the child saw acknowledged is in the file with its index
// entries and feed entry, and that the file is consistent.
func TestKillNineKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv(crashPathEnv); path != "" {
		crashChild(path, os.Getenv(crashRoundEnv))
		return
	}
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	path := filepath.Join(t.TempDir(), "state.db")
	for round := range rounds {
		acked := runAndKill(t, path, round, 200+rand.IntN(1800))
		verifyAcked(t, path, round, acked)
	}
}

// ackedUser is the last acknowledged state of one user the child wrote.
type ackedUser struct {
	name    string // the userName the last acknowledged write gave it
	pending string // a userName a write in flight at the kill may have given it
	group   string // a group created with it, pointing at it, or ""
}

// runAndKill starts a child writing to path, kills it with SIGKILL once it
// has reported killAfter acknowledged commits, and returns what it reported.
func runAndKill(t *testing.T, path string, round, killAfter int) map[string]*ackedUser {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNineKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashPathEnv+"="+path, fmt.Sprintf("%s=%d", crashRoundEnv, round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	acked := map[string]*ackedUser{}
	lines := 0
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			// A fragment without its newline was cut by the kill and is not
			// an acknowledgement.
			require.ErrorIs(t, err, io.EOF)
			break
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "create":
			acked[f[1]] = &ackedUser{name: f[2], group: strings.TrimPrefix(f[3], "-")}
		case len(f) == 3 && f[0] == "replacing":
			acked[f[1]].pending = f[2]
			continue
		case len(f) == 3 && f[0] == "replaced":
			acked[f[1]].name, acked[f[1]].pending = f[2], ""
		default:
			continue
		}
		if lines++; lines == killAfter {
			require.NoError(t, cmd.Process.Kill())
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "child output: %s", stderr.String())
	require.False(t, exit.Exited(), "the child ended on its own instead of being killed: %s",
		stderr.String())
	require.GreaterOrEqual(t, lines, killAfter)
	t.Logf("round %d: killed after %d acknowledged commits (%d reported)", round, killAfter, lines)
	return acked
}

// verifyAcked reopens the file and checks it against what the child reported.
func verifyAcked(t *testing.T, path string, round int, acked map[string]*ackedUser) {
	t.Helper()
	ctx := context.Background()
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))

	for id, want := range acked {
		got, err := s.Get(ctx, state.KindUser, id)
		require.NoError(t, err, "acknowledged user %s", id)
		name := got.Unique[0].Value
		if name != want.name {
			require.Equal(t, want.pending, name, "user %s holds neither its acknowledged "+
				"userName nor the one written when it was killed", id)
		}
		byName, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: name})
		require.NoError(t, err)
		require.Equal(t, id, byName.ID)
		if want.group != "" {
			refs, err := s.Referrers(ctx, state.KindGroup, id)
			require.NoError(t, err)
			require.Equal(t, []string{want.group}, refs)
		}
	}

	// Every acknowledged create has its change, and every change has the
	// resource it names: none was lost, none invented.
	seen := map[string]bool{}
	group := fmt.Sprintf("verify-%d", round)
	for {
		cs, err := s.Read(ctx, group, "c1", 1000, 0)
		require.NoError(t, err)
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if c.Op == state.OpCreate {
				seen[c.ResourceID] = true
				_, err := s.Get(ctx, c.Kind, c.ResourceID)
				require.NoError(t, err, "change %s names a missing resource", c.ID)
			}
		}
		require.NoError(t, s.Ack(ctx, group, changeIDs(cs)...))
	}
	for id := range acked {
		require.True(t, seen[id], "acknowledged user %s has no change in the feed", id)
	}
}

// crashChild writes until it is killed: 16 goroutines commit users (every
// fifth with a group pointing at it, in the same commit), replace every
// third one's userName, and retry a taken userName now and then so that
// rejections share transactions with successes. It prints each
// acknowledged write on its own line.
func crashChild(path, round string) {
	s, err := boltstore.Open(path, boltstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(os.Stdout, format+"\n", args...); err != nil {
			os.Exit(3) // the parent is gone
		}
	}
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute) // ends an orphan
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				if err := childStep(ctx, s, fmt.Sprintf("r%s-w%02d-%06d", round, w, i), i, report); err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(4)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(5)
}

func childStep(
	ctx context.Context, s *boltstore.Store, id string, i int, report func(string, ...any),
) error {
	name := "name-" + id
	writes := []state.Write{userWrite(id, name)}
	group := "-"
	if i%5 == 0 {
		group = "g-" + id
		writes = append(writes, state.Write{Op: state.OpCreate, Resource: state.Resource{
			Kind: state.KindGroup, ID: group, Data: []byte(`{}`), Refs: []string{id},
			Unique: []state.IndexKey{{Name: "displayName", Value: group}},
		}})
	}
	if _, err := s.Commit(ctx, writes...); err != nil {
		return err
	}
	report("create %s %s %s", id, name, group)

	if i%7 == 0 {
		_, err := s.Commit(ctx, userWrite(id+"-dup", name))
		if !errors.Is(err, state.ErrConflict) {
			return fmt.Errorf("taken userName: got %v, want a conflict", err)
		}
	}
	if i%3 == 0 {
		renamed := userWrite(id, "renamed-"+id)
		renamed.Op, renamed.IfVersion = state.OpReplace, 1
		report("replacing %s %s", id, "renamed-"+id)
		if _, err := s.Commit(ctx, renamed); err != nil {
			return err
		}
		report("replaced %s %s", id, "renamed-"+id)
	}
	return nil
}
