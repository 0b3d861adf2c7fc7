// Package idxmap is the API of indexed maps: maps from a name to a typed
// value that other plugins can look up by name or by secondary index, and
// watch for changes. It also holds CacheHelper, which keeps such a map an
// indexed local copy of a prefix of a KV store.
//
// # Vocabulary
//
// Three kinds of string appear in the API. A name is the primary key of an
// entry. An index name identifies one secondary index, and its IndexFunc
// computes, from a value, the indexed values under which the entry is
// found. ListNames(index, indexedValue) returns the names with that
// indexed value; GetValuesByIndex returns their values.
//
// # Usage
//
// The plugin owning the data builds a map (package idxmap/mem) and exposes
// it read-only as a NamedMapping; other plugins inject it, look values up
// and watch it:
//
//	byType := func(i *Interface) []string { return []string{i.Type} }
//	m := mem.NewMapping(idxmap.Indexers[*Interface]{"type": byType})
//	m.Put("eth0", &Interface{Type: "ethernet"})
//
//	names := m.ListNames("type", "ethernet") // ["eth0"]
//	reg, err := m.Watch("monitor", func(ev idxmap.Event[*Interface]) {
//		fmt.Println(ev.Kind, ev.Name)
//	}, idxmap.WithSnapshot())
//	defer reg.Unregister()
//
// ToChan is the channel form of Watch, and WatchFuncs adapts one function
// per event kind.
//
// # Delivery
//
// Every subscriber receives every change in the order in which the map
// changed, one callback at a time. A slow subscriber gets a bounded queue,
// and when it is full the writers wait for it (backpressure): nothing is
// dropped. WithSnapshot delivers the content first, with no gap and no
// duplicate between the snapshot and the changes. See Event.
//
// # Caching a KV prefix
//
// CacheHelper watches a prefix through a kvdb.Watcher and stores every key
// under it in a NamedMappingRW, by default with the prefix stripped from the
// key as the name and the value decoded as protojson (proto messages) or
// JSON. It resyncs after reconnects and compactions so that the map equals
// the store, and skips (logs and counts) values that do not decode.
//
// To report its state through the status check, map ReportState onto the
// status writer:
//
//	h.ReportState = func(ok bool, err error) {
//		state := statuscheck.StateOK
//		if !ok {
//			state = statuscheck.StateError
//		}
//		_ = p.StatusCheck.ReportStateChange(p.String(), state, err)
//	}
//
// # Concurrency
//
// Maps and registrations are safe for concurrent use. Values are shared, not
// copied: nobody may modify a value once it is in a map.
//
// Package idxmaptest holds the conformance suite every implementation
// passes.
package idxmap
