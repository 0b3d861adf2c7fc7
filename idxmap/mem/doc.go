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
// Lookups take the read lock only. GetValue allocates nothing; ListNames
// and GetValuesByIndex allocate their result and nothing else, also right
// after a change: each index keeps the entries of every indexed value
// sorted by name. ListAllNames sorts the names on every call, in its
// result, which is its only allocation. A Put calls every index function
// once and touches only the index buckets whose indexed values changed: a
// binary search and a shift of the pointers after the entry's place, a
// copy that grows with the bucket. Buckets left empty are deleted.
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
