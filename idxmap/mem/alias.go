package mem

import (
	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/logging"
)

// NewNamedMapping is the cn-infra name of [NewMapping] with [WithName] and
// [WithLogger]. Where cn-infra took one function computing every index,
// it takes the indexers, one function per index.
func NewNamedMapping[V any](log logging.Logger, title string, indexers idxmap.Indexers[V]) *Mapping[V] {
	return NewMapping(indexers, WithName(title), WithLogger(log))
}

// GetRegistryTitle is the cn-infra name of [Mapping.String].
func (m *Mapping[V]) GetRegistryTitle() string { return m.String() }

// ListFields is the cn-infra name of [Mapping.IndexedValues]. For a name
// not in the map it returns nil where cn-infra returned an empty map: both
// read as empty.
func (m *Mapping[V]) ListFields(name string) map[string][]string { return m.IndexedValues(name) }
