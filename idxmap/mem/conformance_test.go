package mem_test

import (
	"testing"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/idxmaptest"
	"github.com/plinth-go/plinth/idxmap/mem"
)

func TestConformance(t *testing.T) {
	idxmaptest.Run(t, func(t *testing.T, ix idxmap.Indexers[*idxmaptest.Item]) idxmap.NamedMappingRW[*idxmaptest.Item] {
		m := mem.NewMapping(ix, mem.WithName(t.Name()))
		t.Cleanup(func() { m.Close() })
		return m
	})
}
