package patch

import (
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/stretchr/testify/require"
)

// TestConcurrentUse shares one Schemas, one parsed filter and one resource
// between goroutines; run with -race it shows that nothing writes to them.
func TestConcurrentUse(t *testing.T) {
	s := testSchemas()
	res := decode(t, baseUser)
	ops := decodeOps(t, entraUpdate)
	e, err := filter.Parse(`emails[type eq "work"].value co "@" and active eq true`)
	require.NoError(t, err)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := Apply(res, ops, s, attr.User)
				if err != nil || !Changed(res, got) || !filter.Match(e, res, s, attr.User) {
					t.Errorf("unexpected outcome: %v", err)
					return
				}
				attr.Select(res, s, attr.User, []string{"emails.value"}, nil)
			}
		})
	}
	wg.Wait()
	require.Equal(t, decode(t, baseUser), res)
}
