package kvdb_test

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		name, prefix, want string
	}{
		{"empty means no end", "", ""},
		{"last byte incremented", "/a/", "/a0"},
		{"trailing 0xff carried", "a\xff", "b"},
		{"all 0xff means no end", "\xff\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kvdb.PrefixEnd(tt.prefix); got != tt.want {
				t.Errorf("PrefixEnd(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

// FuzzKeys checks the key helpers against their definitions: Join and
// TrimPrefix are inverse, and the range [prefix, PrefixEnd(prefix)) holds
// exactly the keys with the prefix (the reference is strings.HasPrefix).
func FuzzKeys(f *testing.F) {
	f.Add("/vnf-agent/vpp1/", "config/eth0", "/vnf-agent/vpp1/config/eth0")
	f.Add("", "k", "k")
	f.Add("a\xff", "\xff", "b")
	f.Add("\xff\xff", "", "\xff\xff\x00")
	f.Fuzz(func(t *testing.T, prefix, key, other string) {
		full := kvdb.Join(prefix, key)
		rel, ok := kvdb.TrimPrefix(full, prefix)
		if !ok || rel != key {
			t.Fatalf("TrimPrefix(Join(%q, %q)) = %q, %v", prefix, key, rel, ok)
		}
		if rel, ok := kvdb.TrimPrefix(other, prefix); ok && kvdb.Join(prefix, rel) != other {
			t.Fatalf("Join(%q, TrimPrefix(%q)) != %q", prefix, other, other)
		}
		for _, k := range []string{full, other, prefix, kvdb.PrefixEnd(prefix)} {
			if got, want := kvdb.InPrefixRange(k, prefix), strings.HasPrefix(k, prefix); got != want {
				t.Fatalf("InPrefixRange(%q, %q) = %v, want %v (PrefixEnd %q)", k, prefix, got, want, kvdb.PrefixEnd(prefix))
			}
		}
	})
}
