package processmanager_test

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	pm "github.com/plinth-go/plinth/exec/processmanager"
)

func TestParseCPUMaskReadsTasksetMasks(t *testing.T) {
	for _, tc := range []struct {
		mask string
		want []int
	}{
		{"1", []int{0}},
		{"0x5", []int{0, 2}},
		{"4", []int{2}}, // the supervisor example: cpu-affinity-mask: 4
		{"F0", []int{4, 5, 6, 7}},
		{"1,00000000", []int{32}},
	} {
		got, err := pm.ParseCPUMask(tc.mask)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCPUMask(%q) = %v, %v; want %v", tc.mask, got, err, tc.want)
		}
	}
}

func TestParseCPUListReadsTasksetLists(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []int
	}{
		{"0", []int{0}},
		{"0-2,5", []int{0, 1, 2, 5}},
		{"5,1,1", []int{1, 5}},
		{"0-8:4", []int{0, 4, 8}},
	} {
		got, err := pm.ParseCPUList(tc.list)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", tc.list, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a", "-1", "2-1", "1:2", "0-4:0", "0-99999"} {
		if _, err := pm.ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) succeeded", bad)
		}
	}
}

// FuzzParseCPUList checks that a parsed list is sorted and unique, and
// that the mask of its CPUs parses back to the same CPUs (differential
// check of the two parsers).
func FuzzParseCPUList(f *testing.F) {
	for _, seed := range []string{"0", "0-2,5", "0-10:3", "7,3,3", "1023"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		cpus, err := pm.ParseCPUList(list)
		if err != nil || len(cpus) == 0 {
			return
		}
		if !slices.IsSorted(cpus) || len(slices.Compact(slices.Clone(cpus))) != len(cpus) {
			t.Fatalf("ParseCPUList(%q) = %v: not sorted and unique", list, cpus)
		}
		mask := new(big.Int)
		for _, c := range cpus {
			mask.SetBit(mask, c, 1)
		}
		back, err := pm.ParseCPUMask(fmt.Sprintf("%x", mask))
		if err != nil || !slices.Equal(back, cpus) {
			t.Fatalf("mask of %v = %v, %v", cpus, back, err)
		}
	})
}

// FuzzParseCPUMask checks that masks never panic and yield sorted CPUs.
func FuzzParseCPUMask(f *testing.F) {
	for _, seed := range []string{"1", "0x5", "ff,ffffffff", "0X0", strings.Repeat("f", 256)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, mask string) {
		cpus, err := pm.ParseCPUMask(mask)
		if err == nil && (len(cpus) == 0 || !slices.IsSorted(cpus)) {
			t.Fatalf("ParseCPUMask(%q) = %v", mask, cpus)
		}
	})
}
