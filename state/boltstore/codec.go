package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/scim-bridge/scim-bridge/state"
)

// Values are stored in a compact binary form: unsigned varints, and
// strings or byte slices as a varint length followed by the bytes. Each
// kind of value starts with a format byte so that a later layout can tell
// old values apart.

const valueFormat = 1

// errCorrupt marks a stored value that cannot be decoded.
var errCorrupt = errors.New("corrupt value")

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// decoder reads what encoder wrote; the first failure sticks in err and
// every later read returns a zero value.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// raw returns the next length-prefixed bytes without copying them.
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) bytes() []byte { return append([]byte(nil), d.raw()...) }
func (d *decoder) str() string   { return string(d.raw()) }

func (d *decoder) strs() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every string takes at least one byte
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) format() {
	if len(d.b) == 0 || d.b[0] != valueFormat {
		d.fail()
		return
	}
	d.b = d.b[1:]
}

// finish reports a decoding failure or trailing bytes.
func (d *decoder) finish(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	return nil
}

// doc is a directory resource as stored under its id.
type doc struct {
	Version uint64
	Data    []byte
	Unique  []state.IndexKey
	Refs    []string
}

func encodeDoc(d doc) []byte {
	e := encoder{b: make([]byte, 0, 16+len(d.Data))}
	e.b = append(e.b, valueFormat)
	e.uvarint(d.Version)
	e.bytes(d.Data)
	e.uvarint(uint64(len(d.Unique)))
	for _, k := range d.Unique {
		e.str(k.Name)
		e.str(k.Value)
	}
	e.strs(d.Refs)
	return e.b
}

func decodeDoc(b []byte) (doc, error) {
	d := decoder{b: b}
	d.format()
	var out doc
	out.Version = d.uvarint()
	out.Data = d.bytes()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
	} else if n > 0 {
		out.Unique = make([]state.IndexKey, n)
		for i := range out.Unique {
			out.Unique[i] = state.IndexKey{Name: d.str(), Value: d.str()}
		}
	}
	out.Refs = d.strs()
	return out, d.finish("decode resource")
}

func encodeChange(c state.Change, nanos int64) []byte {
	var e encoder
	e.b = append(e.b, valueFormat)
	e.str(string(c.Kind))
	e.str(c.ResourceID)
	e.uvarint(uint64(c.Op))
	e.uvarint(c.Version)
	e.strs(c.RefsAdded)
	e.strs(c.RefsRemoved)
	e.varint(nanos)
	return e.b
}

// decodeChange decodes the feed entry stored under key.
func decodeChange(key, b []byte) (state.Change, error) {
	d := decoder{b: b}
	d.format()
	c := state.Change{ID: feedID(seqOf(key))}
	c.Kind = state.Kind(d.str())
	c.ResourceID = d.str()
	c.Op = state.Op(d.uvarint())
	c.Version = d.uvarint()
	c.RefsAdded = d.strs()
	c.RefsRemoved = d.strs()
	c.Time = time.Unix(0, d.varint())
	return c, d.finish("decode change")
}

// pending is a change delivered to a consumer and not yet acknowledged.
type pending struct {
	Consumer  string
	Delivered int64 // unix nanoseconds
}

func encodePending(p pending) []byte {
	var e encoder
	e.b = append(e.b, valueFormat)
	e.str(p.Consumer)
	e.varint(p.Delivered)
	return e.b
}

func decodePending(b []byte) (pending, error) {
	d := decoder{b: b}
	d.format()
	p := pending{Consumer: d.str(), Delivered: d.varint()}
	return p, d.finish("decode pending change")
}

func encodeRecord(version uint64, data []byte) []byte {
	e := encoder{b: make([]byte, 0, 11+len(data))}
	e.b = append(e.b, valueFormat)
	e.uvarint(version)
	e.b = append(e.b, data...)
	return e.b
}

func decodeRecord(key, b []byte) (state.Record, error) {
	d := decoder{b: b}
	d.format()
	r := state.Record{Key: string(key), Version: d.uvarint()}
	r.Data = append([]byte{}, d.b...)
	d.b = nil
	return r, d.finish("decode record")
}

// item is one key of a queue: ready at Due, or leased until Until, in
// which case Rerun says it was enqueued again, for Due, during the lease.
type item struct {
	Leased bool
	Due    int64 // unix nanoseconds
	Rerun  bool
	Owner  string
	Token  string
	Until  int64 // unix nanoseconds
}

func encodeItem(it item) []byte {
	var e encoder
	e.b = append(e.b, valueFormat)
	var flags uint64
	if it.Leased {
		flags |= 1
	}
	if it.Rerun {
		flags |= 2
	}
	e.uvarint(flags)
	e.varint(it.Due)
	e.str(it.Owner)
	e.str(it.Token)
	e.varint(it.Until)
	return e.b
}

func decodeItem(b []byte) (item, error) {
	d := decoder{b: b}
	d.format()
	flags := d.uvarint()
	it := item{Leased: flags&1 != 0, Rerun: flags&2 != 0}
	it.Due = d.varint()
	it.Owner = d.str()
	it.Token = d.str()
	it.Until = d.varint()
	return it, d.finish("decode queue item")
}

// seqKey is the big-endian form of a sequence number, so keys sort by it.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

func seqOf(key []byte) uint64 { return binary.BigEndian.Uint64(key[:8]) }

// feedID formats a feed sequence number as a change id: fixed-width hex,
// so ids sort as their sequence numbers do.
func feedID(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// parseFeedID returns the sequence number of a change id, or false for
// anything feedID cannot have produced.
func parseFeedID(id string) (uint64, bool) {
	if len(id) != 16 {
		return 0, false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(id, 16, 64)
	return seq, err == nil && seq != 0
}

// prefixed returns a key holding the length of prefix, prefix, then rest:
// a prefix scan for one prefix never runs into a longer prefix.
func prefixed(prefix, rest string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(prefix)+len(rest))
	b = binary.AppendUvarint(b, uint64(len(prefix)))
	b = append(b, prefix...)
	return append(b, rest...)
}

// splitPrefixed undoes prefixed.
func splitPrefixed(key []byte) (prefix, rest string, ok bool) {
	n, w := binary.Uvarint(key)
	if w <= 0 || n > uint64(len(key)-w) {
		return "", "", false
	}
	return string(key[w : w+int(n)]), string(key[w+int(n):]), true
}

// nanos is t in unix nanoseconds, clamped to the range an int64 holds.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeKey is a key ordered by time first, then by key.
func timeKey(ns int64, key string) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(key)), uint64(ns)^(1<<63))
	return append(b, key...)
}

// splitTimeKey undoes timeKey.
func splitTimeKey(k []byte) (int64, string) {
	return int64(binary.BigEndian.Uint64(k[:8]) ^ (1 << 63)), string(k[8:])
}
