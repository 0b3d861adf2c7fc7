package mem_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
)

type pod struct {
	name, node, ip string
}

// Sizes: 5,000 imitates the pods of a mid-sized cluster (the size of
// client-go's BenchmarkIndexer); 100,000 a large one. The "node" index has
// 100 values (buckets of 50 or 1,000 pods), "ip" is unique.
var benchSizes = []int{5000, 100000}

func newPods(n int) *mem.Mapping[*pod] {
	m := mem.NewMapping(idxmap.Indexers[*pod]{
		"node": func(p *pod) []string { return []string{p.node} },
		"ip":   func(p *pod) []string { return []string{p.ip} },
	})
	for i := range n {
		name := "pod" + strconv.Itoa(i)
		m.Put(name, &pod{name: name, node: "node" + strconv.Itoa(i%100), ip: "10.0." + strconv.Itoa(i)})
	}
	return m
}

func BenchmarkGetValue(b *testing.B) {
	for _, n := range benchSizes {
		m := newPods(n)
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.GetValue("pod42")
				}
			})
		})
	}
}

func BenchmarkListNames(b *testing.B) {
	for _, n := range benchSizes {
		m := newPods(n)
		for _, index := range []struct{ name, value string }{{"node", "node7"}, {"ip", "10.0.42"}} {
			b.Run(fmt.Sprintf("entries=%d/index=%s", n, index.name), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						m.ListNames(index.name, index.value)
					}
				})
			})
		}
	}
}

// BenchmarkPut moves a pod to another node and address on every put: the
// worst case, where every index changes.
func BenchmarkPut(b *testing.B) {
	for _, n := range benchSizes {
		m := newPods(n)
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				name := "pod" + strconv.Itoa(i%n)
				m.Put(name, &pod{name: name, node: "node" + strconv.Itoa(i%97), ip: "10.1." + strconv.Itoa(i)})
				i++
			}
		})
	}
}

// BenchmarkPutWatched is BenchmarkPut with one subscriber that keeps up.
func BenchmarkPutWatched(b *testing.B) {
	m := newPods(5000)
	reg, err := m.Watch("bench", func(idxmap.Event[*pod]) {})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	defer reg.Unregister()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := "pod" + strconv.Itoa(i%5000)
		m.Put(name, &pod{name: name, node: "node" + strconv.Itoa(i%97), ip: "10.1." + strconv.Itoa(i)})
		i++
	}
}
