package main

import (
	"strings"
	"testing"
)

func TestRatiosPairOursWithEachPeer(t *testing.T) {
	in := `goos: linux
BenchmarkAgentStartStop/N=100/ours-2     	    1000	      2000 ns/op	     100 B/op	       1 allocs/op
BenchmarkAgentStartStop/N=100/fx-2       	    1000	      4000 ns/op
BenchmarkLogDisabled/ours-2              	100000000	        3.0 ns/op
BenchmarkLogDisabled/slog-2              	100000000	        2.0 ns/op
BenchmarkLogDisabled/logrus-2            	100000000	        6.0 ns/op
BenchmarkNoPeer/ours-2                   	100	        1 ns/op
BenchmarkMedian/ours-2                   	100	        10 ns/op
BenchmarkMedian/peer-2                   	100	        10 ns/op
BenchmarkMedian/ours-2                   	100	        30 ns/op
BenchmarkMedian/peer-2                   	100	        10 ns/op
BenchmarkMedian/ours-2                   	100	        20 ns/op
BenchmarkMedian/peer-2                   	100	        99 ns/op
PASS
`
	var out strings.Builder
	n, err := run(strings.NewReader(in), &out)
	if err != nil || n != 4 {
		t.Fatalf("run() = %d, %v", n, err)
	}
	want := "ratio agent-start-stop/N=100-vs-fx 0.500\nratio log-disabled-vs-logrus 0.500\nratio log-disabled-vs-slog 1.500\nratio median-vs-peer 2.000\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
