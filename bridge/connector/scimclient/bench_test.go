package scimclient_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/internal/scimmytest"
)

// benchSeq numbers benchmark users; the server lives as long as the
// benchmark function, across its runs, so names never repeat.
var benchSeq atomic.Int64

// benchFields is a typical projected user of the scim catalog app, with a
// userName no other call uses.
func benchFields() connector.Fields {
	i := benchSeq.Add(1)
	name := fmt.Sprintf("bench-%d", i)
	return connector.Fields{
		"userName":                     name,
		"name.givenName":               "Bench",
		"name.familyName":              fmt.Sprint(i),
		"displayName":                  "Bench " + fmt.Sprint(i),
		`emails[type eq "work"].value`: name + "@example.test",
		enterprise + ":department":     "Load",
	}
}

// BenchmarkCreate measures the create path (build the User, POST, decode)
// against SCIMMY on loopback, one request at a time and with parallel
// callers; the figure includes SCIMMY's own cost, which dominates.
func BenchmarkCreate(b *testing.B) {
	srv := scimmytest.Start(b, scimmytest.Options{})
	b.Setenv("SCIMCLIENT_BENCH_TOKEN", srv.Token)
	c, err := scimclient.New(scimclient.Settings{BaseURL: srv.URL,
		Token: connector.Secret{Env: "SCIMCLIENT_BENCH_TOKEN"}})
	require.NoError(b, err)
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Create(ctx, benchFields()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})

	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Create(ctx, benchFields()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
