package boltstore

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// Records live under records/<bucket>, key -> (version, data); each such
// bucket is counted.

func recordBucket(tx *bbolt.Tx, bucket string) *bbolt.Bucket {
	return tx.Bucket(bucketRecords).Bucket([]byte(bucket))
}

func checkRecordKey(bucket, key string) error {
	if err := checkName("bucket", bucket); err != nil {
		return err
	}
	return checkName("key", key)
}

// storedVersion returns the version of the record under key, 0 when there
// is none.
func storedVersion(b *bbolt.Bucket, key string) (uint64, error) {
	if b == nil {
		return 0, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return 0, nil
	}
	r, err := decodeRecord([]byte(key), v)
	if err != nil {
		return 0, fmt.Errorf("record %q: %w", key, err)
	}
	return r.Version, nil
}

// GetRecord returns a record, or ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, bucket, key string) (state.Record, error) {
	var out state.Record
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := recordBucket(tx, bucket)
		if b == nil {
			return state.ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return state.ErrNotFound
		}
		var err error
		out, err = decodeRecord([]byte(key), v)
		return err
	})
	if err != nil {
		return state.Record{}, fmt.Errorf("boltstore: get record %s/%s: %w", bucket, key, err)
	}
	return out, nil
}

// PutRecord stores data under key with the version rules of state.Records
// and returns the new version once it is on disk.
func (s *Store) PutRecord(
	ctx context.Context, bucket, key string, data []byte, ifVersion uint64,
) (uint64, error) {
	if err := checkRecordKey(bucket, key); err != nil {
		return 0, err
	}
	var version uint64
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		old, err := storedVersion(recordBucket(tx, bucket), key)
		if err != nil {
			return err
		}
		switch {
		case ifVersion == state.AbsentVersion && old != 0:
			return fmt.Errorf("record exists at version %d: %w", old, state.ErrConflict)
		case ifVersion != 0 && ifVersion != state.AbsentVersion && old != ifVersion:
			return fmt.Errorf("record is at version %d, not %d: %w",
				old, ifVersion, state.ErrVersionMismatch)
		}

		b, err := ensure(tx.Bucket(bucketRecords), []byte(bucket))
		if err != nil {
			return err
		}
		if old == 0 {
			if err := addCount(b, 1); err != nil {
				return err
			}
		}
		version = old + 1
		return b.Put([]byte(key), encodeRecord(version, data))
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: put record %s/%s: %w", bucket, key, err)
	}
	return version, nil
}

// DeleteRecord removes a record, checking ifVersion when it is not zero.
// Deleting a missing record with ifVersion zero succeeds.
func (s *Store) DeleteRecord(ctx context.Context, bucket, key string, ifVersion uint64) error {
	if err := checkRecordKey(bucket, key); err != nil {
		return err
	}
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		b := recordBucket(tx, bucket)
		old, err := storedVersion(b, key)
		if err != nil {
			return err
		}
		if ifVersion != 0 && old != ifVersion {
			return fmt.Errorf("record is at version %d, not %d: %w",
				old, ifVersion, state.ErrVersionMismatch)
		}
		if old == 0 {
			return nil
		}
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		return addCount(b, -1)
	})
	if err != nil {
		return fmt.Errorf("boltstore: delete record %s/%s: %w", bucket, key, err)
	}
	return nil
}

// ListRecords returns up to limit records of bucket with keys after after,
// in key order.
func (s *Store) ListRecords(
	ctx context.Context, bucket, after string, limit int,
) ([]state.Record, error) {
	if err := checkPositive("limit", limit); err != nil {
		return nil, err
	}
	var out []state.Record
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := recordBucket(tx, bucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && bytes.Equal(k, []byte(after)) {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			r, err := decodeRecord(k, v)
			if err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: list records %s: %w", bucket, err)
	}
	return out, nil
}

// CountRecords returns the number of records in bucket, in constant time.
func (s *Store) CountRecords(ctx context.Context, bucket string) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		n = count(recordBucket(tx, bucket))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: count records %s: %w", bucket, err)
	}
	return n, nil
}
