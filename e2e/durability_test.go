package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
	"github.com/scim-bridge/scim-bridge/internal/redistest"
)

// acked is a user the bridge acknowledged with 201 Created.
type acked struct {
	id, userName string
}

func userBody(userName string) []byte {
	return []byte(fmt.Sprintf(`{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName": %q,
		"name": {"givenName": "Load", "familyName": "Tester"},
		"emails": [{"value": %q, "type": "work", "primary": true}],
		"active": true
	}`, userName, userName))
}

// createUntilKilled runs writers that create users until stop is closed,
// and returns every user that was acknowledged. Requests cut off by the
// kill fail on the client side and are not counted: only a 201 is an
// acknowledgement. It also returns how many answers were neither, which
// the caller checks: it runs off the test goroutine, where a failed
// assertion would hang the test instead of failing it.
func createUntilKilled(p *bridgetest.Process, writers int, stop <-chan struct{}) (
	[]acked, int64) {
	var (
		mu   sync.Mutex
		out  []acked
		seq  atomic.Int64
		wg   sync.WaitGroup
		ctx  = context.Background()
		unex atomic.Int64
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("user%06d@example.com", seq.Add(1))
				resp, err := p.Do(ctx, http.MethodPost, "/scim/v2/Users", p.SCIMToken, userBody(name))
				if err != nil {
					return // the bridge is gone
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					unex.Add(1)
					continue
				}
				var u struct{ ID, UserName string }
				if json.Unmarshal(body, &u) != nil || u.ID == "" {
					unex.Add(1)
					continue
				}
				mu.Lock()
				out = append(out, acked{u.ID, u.UserName})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, unex.Load()
}

// killDuringWrites starts writers, kills the bridge with SIGKILL once some
// writes were acknowledged, and returns the acknowledged users.
func killDuringWrites(t *testing.T, p *bridgetest.Process) []acked {
	t.Helper()
	stop := make(chan struct{})
	type outcome struct {
		acked      []acked
		unexpected int64
	}
	result := make(chan outcome, 1)
	go func() {
		got, unexpected := createUntilKilled(p, 32, stop)
		result <- outcome{got, unexpected}
	}()
	time.Sleep(1500 * time.Millisecond)
	p.Kill()
	close(stop)
	got := <-result
	require.Zero(t, got.unexpected, "every create before the kill should succeed")
	require.NotEmpty(t, got.acked, "no write was acknowledged before the kill")
	return got.acked
}

// requireAllPresent checks every acknowledged user by id and by its
// userName filter, which is answered from the unique index.
func requireAllPresent(t *testing.T, p *bridgetest.Process, users []acked) {
	t.Helper()
	ctx := context.Background()
	for _, u := range users {
		resp, err := p.Do(ctx, http.MethodGet, "/scim/v2/Users/"+u.id, p.SCIMToken, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "acknowledged user %s lost: %s", u.id, body)

		filter := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, u.userName))
		resp, err = p.Do(ctx, http.MethodGet, "/scim/v2/Users?filter="+filter, p.SCIMToken, nil)
		require.NoError(t, err)
		var list struct {
			TotalResults int
			Resources    []struct{ ID string }
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
		resp.Body.Close()
		require.Equal(t, 1, list.TotalResults, "index entry of %s", u.userName)
		require.Equal(t, u.id, list.Resources[0].ID)
	}
}

func TestAcknowledgedWritesSurviveKillEmbedded(t *testing.T) {
	p := bridgetest.Start(t, bridgetest.Options{})
	users := killDuringWrites(t, p)
	p.Restart()
	requireAllPresent(t, p, users)
	t.Logf("%d acknowledged creates survived SIGKILL of the bridge", len(users))
}

func TestAcknowledgedWritesSurviveKillRedis(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	p := bridgetest.Start(t, bridgetest.Options{Store: redis.URL()})
	users := killDuringWrites(t, p)

	// Now the other half of the pair: crash Redis itself and bring it back
	// from its append-only file. With appendfsync always, what Redis
	// acknowledged to the bridge is on disk.
	redis.Kill()
	redis.Restart()
	p.Restart()
	requireAllPresent(t, p, users)
	t.Logf("%d acknowledged creates survived SIGKILL of the bridge and of redis", len(users))
}

func TestRacingCreatesOfOneUserNameOneWins(t *testing.T) {
	p := bridgetest.Start(t, bridgetest.Options{})
	ctx := context.Background()
	const racers = 16
	codes := make([]int, racers)
	types := make([]string, racers)
	var wg sync.WaitGroup
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Case differs between racers: userName is unique regardless of case.
			name := "Same.Person@example.com"
			if i%2 == 1 {
				name = "same.person@EXAMPLE.com"
			}
			resp, err := p.Do(ctx, http.MethodPost, "/scim/v2/Users", p.SCIMToken, userBody(name))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			var e struct{ ScimType string }
			_ = json.NewDecoder(resp.Body).Decode(&e)
			types[i] = e.ScimType
		}(i)
	}
	wg.Wait()
	wins := 0
	for i, c := range codes {
		switch c {
		case http.StatusCreated:
			wins++
		case http.StatusConflict:
			require.Equal(t, "uniqueness", types[i])
		default:
			t.Fatalf("racer %d got status %d, want 201 or 409", i, c)
		}
	}
	require.Equal(t, 1, wins)
}
