// Package mem is the in-memory implementation of idxmap.NamedMappingRW.
//
// # Usage
//
//	m := mem.NewMapping(idxmap.Indexers[*Route]{
//		"vrf":     func(r *Route) []string { return []string{r.VRF} },
//		"nexthop": func(r *Route) []string { return r.NextHops },
//	}, mem.WithName("routes"))
//	m.Put("10.0.0.0/8", &Route{VRF: "red", NextHops: []string{"10.1.1.1"}})
//	m.ListNames("nexthop", "10.1.1.1") // ["10.0.0.0/8"]
//
// # Cost
//
// Lookups take the read lock only. GetValue allocates nothing; ListNames,
// GetValuesByIndex and ListAllNames allocate their result and nothing else
// while the set they read has not changed since the previous lookup: each
// set keeps a sorted copy of its members that a change invalidates and the
// next lookup rebuilds. A Put calls every index function once and touches
// only the index buckets whose indexed values changed; buckets left empty
// are deleted.
//
// # Watches
//
// Each watch has a goroutine and a queue of its own; see idxmap.Event for
// the guarantees. Close ends every watch and waits for its goroutine.
//
// # Concurrency
//
// A Mapping is safe for concurrent use. Index functions and the function
// given to Update run under the write lock and must not call the map.
package mem
