package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/scim-bridge/scim-bridge/state"
)

// A bucket keeps each record as item(version) followed by its data in a
// hash, and its keys in a sorted set of equal scores for ordered paging.

// GetRecord returns a record, or state.ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, bucket, key string) (state.Record, error) {
	if err := s.live(); err != nil {
		return state.Record{}, err
	}
	v, err := s.rdb.HGet(ctx, s.keys.bucket(bucket).values, key).Result()
	if err != nil {
		return state.Record{}, s.fail("get record "+bucket, err)
	}
	return decodeRecord(bucket, key, v)
}

// PutRecord stores data under key in one script that checks ifVersion
// (see state.Records) and returns the new version.
func (s *Store) PutRecord(ctx context.Context, bucket, key string, data []byte,
	ifVersion uint64) (uint64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	cond := "any"
	switch ifVersion {
	case 0:
	case state.AbsentVersion:
		cond = "absent"
	default:
		cond = strconv.FormatUint(ifVersion, 10)
	}
	b := s.keys.bucket(bucket)
	v, err := putRecordScript.Run(ctx, s.rdb, []string{b.values, b.index, s.keys.buckets()},
		key, data, cond, bucket).Int64()
	if err != nil {
		return 0, s.fail("put record "+bucket, err)
	}
	return uint64(v), nil
}

// DeleteRecord removes a record in one script that checks ifVersion.
// Deleting a missing record with ifVersion 0 succeeds.
func (s *Store) DeleteRecord(ctx context.Context, bucket, key string, ifVersion uint64) error {
	if err := s.live(); err != nil {
		return err
	}
	b := s.keys.bucket(bucket)
	err := deleteRecordScript.Run(ctx, s.rdb, []string{b.values, b.index},
		key, strconv.FormatUint(ifVersion, 10)).Err()
	return s.fail("delete record "+bucket, err)
}

// ListRecords returns up to limit records of bucket with keys greater than
// after, in ascending byte order of key, read in one script.
func (s *Store) ListRecords(ctx context.Context, bucket, after string,
	limit int) ([]state.Record, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	b := s.keys.bucket(bucket)
	pairs, err := s.page(ctx, b.index, b.values, after, limit)
	if err != nil {
		return nil, s.fail("list records "+bucket, err)
	}
	out := make([]state.Record, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		r, err := decodeRecord(bucket, pairs[i], pairs[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// CountRecords returns the number of records in bucket.
func (s *Store) CountRecords(ctx context.Context, bucket string) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	n, err := s.rdb.HLen(ctx, s.keys.bucket(bucket).values).Result()
	if err != nil {
		return 0, s.fail("count records "+bucket, err)
	}
	return int(n), nil
}

func decodeRecord(bucket, key, v string) (state.Record, error) {
	bad := fmt.Errorf("redisstore: record %s/%q: %w", bucket, key, errCorrupt)
	first, rest, ok := cutItem(v)
	if !ok {
		return state.Record{}, bad
	}
	version, err := strconv.ParseUint(first, 10, 64)
	if err != nil {
		return state.Record{}, bad
	}
	return state.Record{Key: key, Version: version, Data: []byte(rest)}, nil
}
