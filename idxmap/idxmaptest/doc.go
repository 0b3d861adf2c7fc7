// Package idxmaptest is the conformance suite of idxmap.NamedMappingRW:
// every implementation, the built-in one and users' own, passes the same
// cases.
//
//	func TestConformance(t *testing.T) {
//		idxmaptest.Run(t, func(t *testing.T, ix idxmap.Indexers[*idxmaptest.Item]) idxmap.NamedMappingRW[*idxmaptest.Item] {
//			m := mem.NewMapping(ix)
//			t.Cleanup(func() { m.Close() })
//			return m
//		})
//	}
//
// Each case says in one line what it checks; its failures are joined into
// one error. Cases run under a timeout (Timeout) and never sleep to order
// events.
package idxmaptest
