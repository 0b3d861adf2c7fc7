package kvdbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// Timeout bounds each case.
const Timeout = 20 * time.Second

type brokerCase struct {
	name string
	doc  string
	run  func(ctx context.Context, b kvdb.BytesBroker) error
}

// Run checks a BytesBroker implementation. newBroker returns a broker whose
// prefix is empty of keys; it is called once per case.
func Run(t *testing.T, newBroker func(t *testing.T) kvdb.BytesBroker) {
	t.Helper()
	for _, c := range brokerCases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			if err := c.run(ctx, newBroker(t)); err != nil {
				t.Errorf("%s\n%v", c.doc, err)
			}
		})
	}
}

var brokerCases = []brokerCase{
	{"PutThenGet", "Get returns the value of the last Put, found, with its revision.", func(ctx context.Context, b kvdb.BytesBroker) error {
		if err := b.Put(ctx, "k", []byte("v1")); err != nil {
			return err
		}
		v, found, rev1, err := b.Get(ctx, "k")
		if err != nil {
			return err
		}
		var errs []error
		if !found || string(v) != "v1" || rev1 <= 0 {
			errs = append(errs, fmt.Errorf(`Get("k") = %q, %v, %d, want "v1", true, >0`, v, found, rev1))
		}
		if err := b.Put(ctx, "k", []byte("v2")); err != nil {
			return err
		}
		v, _, rev2, err := b.Get(ctx, "k")
		if err != nil {
			return err
		}
		if string(v) != "v2" || rev2 <= rev1 {
			errs = append(errs, fmt.Errorf(`Get("k") after overwrite = %q, rev %d, want "v2", rev > %d`, v, rev2, rev1))
		}
		return errors.Join(errs...)
	}},
	{"GetMissing", "A missing key is found=false with a nil error.", func(ctx context.Context, b kvdb.BytesBroker) error {
		v, found, rev, err := b.Get(ctx, "missing")
		if err != nil || found || v != nil || rev != 0 {
			return fmt.Errorf(`Get("missing") = %q, %v, %d, %v, want nil, false, 0, nil`, v, found, rev, err)
		}
		return nil
	}},
	{"ValuesAreBytes", "Empty and binary values round-trip unchanged.", func(ctx context.Context, b kvdb.BytesBroker) error {
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		var errs []error
		for key, want := range map[string][]byte{"empty": {}, "binary": bin} {
			if err := b.Put(ctx, key, want); err != nil {
				return err
			}
			got, found, _, err := b.Get(ctx, key)
			if err != nil {
				return err
			}
			if !found || !bytes.Equal(got, want) {
				errs = append(errs, fmt.Errorf("Get(%q) = %q, %v, want %q, true", key, got, found, want))
			}
		}
		return errors.Join(errs...)
	}},
	{"ListIsSortedRelativeAndScoped", "List returns the keys under the prefix only, relative, sorted, with the read revision.", func(ctx context.Context, b kvdb.BytesBroker) error {
		for _, k := range []string{"a/2", "a/1", "ab", "b/1"} {
			if err := b.Put(ctx, k, []byte("v-"+k)); err != nil {
				return err
			}
		}
		kvs, rev, err := b.List(ctx, "a/")
		if err != nil {
			return err
		}
		var errs []error
		var keys []string
		var maxRev int64
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
			maxRev = max(maxRev, kv.Rev)
			if string(kv.Value) != "v-"+kv.Key {
				errs = append(errs, fmt.Errorf("store.List: value of %q = %q, want %q", kv.Key, kv.Value, "v-"+kv.Key))
			}
		}
		if want := []string{"a/1", "a/2"}; !slices.Equal(keys, want) {
			errs = append(errs, fmt.Errorf(`List("a/") keys = %q, want %q`, keys, want))
		}
		if rev < maxRev {
			errs = append(errs, fmt.Errorf(`List("a/") rev = %d, want >= %d (the newest key)`, rev, maxRev))
		}
		all, _, err := b.ListKeys(ctx, "")
		if err != nil {
			return err
		}
		if want := []string{"a/1", "a/2", "ab", "b/1"}; !slices.Equal(all, want) {
			errs = append(errs, fmt.Errorf(`ListKeys("") = %q, want %q`, all, want))
		}
		none, _, err := b.List(ctx, "zzz")
		if err != nil || len(none) != 0 {
			errs = append(errs, fmt.Errorf(`List("zzz") = %v, %v, want nothing`, none, err))
		}
		return errors.Join(errs...)
	}},
	{"DeleteReportsExisted", "Delete reports true for a key that existed and false after.", func(ctx context.Context, b kvdb.BytesBroker) error {
		if err := b.Put(ctx, "k", []byte("v")); err != nil {
			return err
		}
		var errs []error
		for i, want := range []bool{true, false} {
			existed, err := b.Delete(ctx, "k")
			if err != nil {
				return err
			}
			if existed != want {
				errs = append(errs, fmt.Errorf(`Delete("k") #%d = %v, want %v`, i+1, existed, want))
			}
		}
		if _, found, _, err := b.Get(ctx, "k"); err != nil || found {
			errs = append(errs, fmt.Errorf(`Get("k") after Delete: found=%v, err=%v`, found, err))
		}
		return errors.Join(errs...)
	}},
	{"DeleteWithPrefix", "Delete with WithPrefix removes the keys under the key and nothing else.", func(ctx context.Context, b kvdb.BytesBroker) error {
		for _, k := range []string{"d/1", "d/2", "dx", "e"} {
			if err := b.Put(ctx, k, []byte("v")); err != nil {
				return err
			}
		}
		existed, err := b.Delete(ctx, "d/", kvdb.WithPrefix())
		if err != nil {
			return err
		}
		var errs []error
		if !existed {
			errs = append(errs, errors.New(`Delete("d/", WithPrefix()) existed = false, want true`))
		}
		keys, _, err := b.ListKeys(ctx, "")
		if err != nil {
			return err
		}
		if want := []string{"dx", "e"}; !slices.Equal(keys, want) {
			errs = append(errs, fmt.Errorf("keys after prefix delete = %q, want %q", keys, want))
		}
		existed, err = b.Delete(ctx, "d/", kvdb.WithPrefix())
		if err != nil || existed {
			errs = append(errs, fmt.Errorf(`second Delete("d/", WithPrefix()) = %v, %v, want false, nil`, existed, err))
		}
		return errors.Join(errs...)
	}},
	{"TxnIsAtomic", "A transaction without conditions applies all its operations.", func(ctx context.Context, b kvdb.BytesBroker) error {
		if err := b.Put(ctx, "old", []byte("v")); err != nil {
			return err
		}
		ok, err := b.Txn().Put("x", []byte("1")).Put("y", []byte("2")).Delete("old").Commit(ctx)
		if err != nil {
			return err
		}
		keys, _, err := b.ListKeys(ctx, "")
		if err != nil {
			return err
		}
		if want := []string{"x", "y"}; !ok || !slices.Equal(keys, want) {
			return fmt.Errorf("store.Commit = %v, keys %q, want true, %q", ok, keys, want)
		}
		return nil
	}},
	{"TxnCompareAndSwap", "IfModRev applies only while the key is unchanged since it was read; IfMissing only for absent keys.", func(ctx context.Context, b kvdb.BytesBroker) error {
		if err := b.Put(ctx, "k", []byte("v1")); err != nil {
			return err
		}
		_, _, rev, err := b.Get(ctx, "k")
		if err != nil {
			return err
		}
		var errs []error
		ok, err := b.Txn().If(kvdb.IfModRev("k", rev)).Put("k", []byte("v2")).Commit(ctx)
		if err != nil || !ok {
			errs = append(errs, fmt.Errorf("store.Commit with current rev = %v, %v, want true, nil", ok, err))
		}
		ok, err = b.Txn().If(kvdb.IfModRev("k", rev)).Put("k", []byte("v3")).Commit(ctx)
		if err != nil || ok {
			errs = append(errs, fmt.Errorf("store.Commit with stale rev = %v, %v, want false, nil", ok, err))
		}
		if v, _, _, _ := b.Get(ctx, "k"); string(v) != "v2" {
			errs = append(errs, fmt.Errorf(`Get("k") = %q, want "v2"`, v))
		}
		ok, err = b.Txn().If(kvdb.IfMissing("k")).Put("k", []byte("v4")).Commit(ctx)
		if err != nil || ok {
			errs = append(errs, fmt.Errorf("IfMissing on an existing key = %v, %v, want false, nil", ok, err))
		}
		ok, err = b.Txn().If(kvdb.IfMissing("new")).Put("new", []byte("v")).Commit(ctx)
		if err != nil || !ok {
			errs = append(errs, fmt.Errorf("IfMissing on an absent key = %v, %v, want true, nil", ok, err))
		}
		return errors.Join(errs...)
	}},
	{"CanceledContext", "An operation with a canceled context fails with an error wrapping context.Canceled.", func(ctx context.Context, b kvdb.BytesBroker) error {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var errs []error
		if err := b.Put(cctx, "k", []byte("v")); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store.Put with canceled ctx = %v, want context.Canceled", err))
		}
		if _, _, _, err := b.Get(cctx, "k"); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store.Get with canceled ctx = %v, want context.Canceled", err))
		}
		return errors.Join(errs...)
	}},
	{"TTLExpires", "A key put WithTTL disappears after its TTL, not before.", func(ctx context.Context, b kvdb.BytesBroker) error {
		const ttl = time.Second
		start := time.Now()
		if err := b.Put(ctx, "ttl", []byte("v"), kvdb.WithTTL(ttl)); err != nil {
			return err
		}
		if err := b.Put(ctx, "ttl2", []byte("v"), kvdb.WithTTL(ttl)); err != nil {
			return err
		}
		for {
			_, found, _, err := b.Get(ctx, "ttl")
			if err != nil {
				return err
			}
			if !found {
				if d := time.Since(start); d < ttl {
					return fmt.Errorf("key expired after %s, before its TTL %s", d, ttl)
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("key still there after %s: %w", time.Since(start), ctx.Err())
			case <-time.After(100 * time.Millisecond): // polling; expiry has no event here
			}
		}
	}},
}
