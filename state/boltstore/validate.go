package boltstore

import (
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// maxName bounds every name, id, index value and key a caller passes, so
// that the keys built from them stay within bbolt's key size limit.
const maxName = 8 << 10

// checkName rejects an empty or oversized name; what says which argument.
func checkName(what, v string) error {
	if v == "" {
		return fmt.Errorf("boltstore: %s is empty: %w", what, errInvalid)
	}
	if len(v) > maxName {
		return fmt.Errorf("boltstore: %s is longer than %d bytes: %w", what, maxName, errInvalid)
	}
	return nil
}

// checkIndexValue rejects an index value longer than state.MaxIndexValue;
// empty is allowed.
func checkIndexValue(v string) error {
	if len(v) > state.MaxIndexValue {
		return fmt.Errorf("boltstore: index value is longer than %d bytes: %w",
			state.MaxIndexValue, errInvalid)
	}
	return nil
}

// checkPositive rejects a limit that is not positive.
func checkPositive(what string, n int) error {
	if n <= 0 {
		return fmt.Errorf("boltstore: %s must be positive, got %d: %w", what, n, errInvalid)
	}
	return nil
}

// Counted buckets keep the number of their keys in their bbolt sequence,
// which the store uses for nothing else there, so counting costs O(1).

// count returns the number of keys of a counted bucket; a nil bucket is
// empty.
func count(b *bbolt.Bucket) int {
	if b == nil {
		return 0
	}
	return int(b.Sequence())
}

// addCount adjusts the count of a counted bucket.
func addCount(b *bbolt.Bucket, delta int) error {
	return b.SetSequence(uint64(int64(b.Sequence()) + int64(delta)))
}

// nested returns the bucket at path below root, or nil when any part is
// missing.
func nested(root *bbolt.Bucket, path ...[]byte) *bbolt.Bucket {
	b := root
	for _, name := range path {
		if b == nil {
			return nil
		}
		b = b.Bucket(name)
	}
	return b
}

// ensure returns the bucket at path below root, creating what is missing.
func ensure(root *bbolt.Bucket, path ...[]byte) (*bbolt.Bucket, error) {
	b := root
	for _, name := range path {
		var err error
		if b, err = b.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}
