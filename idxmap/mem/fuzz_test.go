package mem

import (
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/plinth-go/plinth/idxmap"
)

// tagAlphabet gives the indexed values of the fuzzed index function. It
// holds duplicates and the empty string on purpose.
var tagAlphabet = []string{"a", "b", "", "c", "a", "b", "d", "a"}

// decodeOp turns two fuzz bytes into one operation: its kind, a name out of
// forty, and (for puts) the indexed values picked by the bits of the
// second.
func decodeOp(op, bits byte) (kind int, name string, tags []string) {
	kind = int(op % 4)
	name = "n" + strconv.Itoa(int(op>>2)%40)
	for i, t := range tagAlphabet {
		if bits&(1<<i) != 0 {
			tags = append(tags, t)
		}
	}
	return kind, name, tags
}

// FuzzIndexMaintenance applies random puts, updates and deletes with index
// functions returning random (duplicate, empty, overlapping) values, and
// checks every index against one recomputed from scratch after each step.
func FuzzIndexMaintenance(f *testing.F) {
	f.Add([]byte{0, 0b1})                          // one put with one value
	f.Add([]byte{0, 0b10001, 0, 0b1})              // [a a] then [a]: duplicates
	f.Add([]byte{0, 0b1, 0, 0b11, 0, 0b10})        // [a] -> [a b] -> [b]: overlapping updates
	f.Add([]byte{0, 0b100, 2, 0})                  // the empty value, then delete
	f.Add([]byte{0, 0xff, 4, 0xff, 3, 0x0f, 6, 0}) // two names, Update, delete of the other
	f.Add([]byte{1, 0b1000, 5, 0b1000, 9, 0b1000}) // three names sharing one value
	// Twenty names sharing one value, then deletes from that large bucket.
	f.Add([]byte{0, 1, 4, 1, 8, 1, 12, 1, 16, 1, 20, 1, 24, 1, 28, 1, 32, 1, 36, 1, 40, 1, 44, 1, 48, 1, 52, 1, 56, 1, 60, 1, 64, 1, 68, 1, 72, 1, 76, 1, 2, 0, 42, 0, 78, 0, 0, 0b10, 22, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := NewMapping(idxmap.Indexers[[]string]{"tag": func(v []string) []string { return v }})
		model := map[string][]string{}
		for i := 0; i+1 < len(ops); i += 2 {
			kind, name, tags := decodeOp(ops[i], ops[i+1])
			switch kind {
			case 0:
				m.Put(name, tags)
				model[name] = tags
			case 1:
				m.Apply([]idxmap.Change[[]string]{{Name: name, Value: tags}})
				model[name] = tags
			case 2:
				_, existed := m.Delete(name)
				if _, want := model[name]; existed != want {
					t.Fatalf("step %d: Delete(%q) existed = %v, want %v", i/2, name, existed, want)
				}
				delete(model, name)
			case 3:
				m.Update(name, func(old []string, found bool) ([]string, bool) {
					if !found {
						return nil, false
					}
					return tags, true
				})
				if _, ok := model[name]; ok {
					model[name] = tags
				}
			}
			checkAgainstModel(t, i/2, m, model)
		}
	})
}

func checkAgainstModel(t *testing.T, step int, m *Mapping[[]string], model map[string][]string) {
	t.Helper()
	if got, want := m.ListAllNames(), slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		t.Fatalf("step %d: ListAllNames() = %q, want %q", step, got, want)
	}
	want := map[string][]string{}
	for name, tags := range model {
		for _, tag := range tags {
			if !slices.Contains(want[tag], name) {
				want[tag] = append(want[tag], name)
			}
		}
	}
	for _, tag := range tagAlphabet {
		w := want[tag]
		slices.Sort(w)
		if got := m.ListNames("tag", tag); !slices.Equal(got, w) {
			t.Fatalf("step %d: ListNames(tag, %q) = %q, want %q (model %v)", step, tag, got, w, model)
		}
	}
	m.mu.RLock()
	buckets := len(m.indexes[0].buckets)
	m.mu.RUnlock()
	if buckets != len(want) {
		t.Fatalf("step %d: %d buckets, want %d: empty buckets are kept", step, buckets, len(want))
	}
}
