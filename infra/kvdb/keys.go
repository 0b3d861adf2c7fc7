package kvdb

import "strings"

// Keys are plain strings compared byte by byte. A prefix is prepended to a
// key verbatim: Join("/a/", "b") is "/a/b" and Join("/a", "b") is "/ab", as
// in etcd's namespaces, so that any key can be scoped and unscoped without
// loss.

// Join returns key scoped to prefix: prefix followed by key.
func Join(prefix, key string) string { return prefix + key }

// TrimPrefix returns key relative to prefix and whether key starts with
// prefix. Join(prefix, rel) == key whenever ok is true.
func TrimPrefix(key, prefix string) (rel string, ok bool) {
	return strings.CutPrefix(key, prefix)
}

// PrefixEnd returns the smallest key greater than every key starting with
// prefix, the end of the range [prefix, end) that holds them. It returns ""
// when no such key exists: prefix is empty or made only of 0xff bytes, and
// the range is then open-ended.
func PrefixEnd(prefix string) string {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			b := []byte(prefix[:i+1])
			b[i]++
			return string(b)
		}
	}
	return ""
}

// InPrefixRange reports whether key lies in the range that PrefixEnd(prefix)
// closes, which is the same as strings.HasPrefix(key, prefix).
func InPrefixRange(key, prefix string) bool {
	end := PrefixEnd(prefix)
	return key >= prefix && (end == "" || key < end)
}
