package main

import (
	"strings"
	"testing"
)

func TestRatiosPairEachRoundOfOursWithTheSameRoundOfEachPeer(t *testing.T) {
	in := `goos: linux
BenchmarkAgentStartStop/N=100/ours-2     	    1000	      2000 ns/op	     100 B/op	       1 allocs/op
BenchmarkAgentStartStop/N=100/fx-2       	    1000	      4000 ns/op
BenchmarkLogDisabled/ours-2              	100000000	        3.0 ns/op
BenchmarkLogDisabled/slog-2              	100000000	        2.0 ns/op
BenchmarkLogDisabled/logrus-2            	100000000	        6.0 ns/op
BenchmarkNoPeer/ours-2                   	100	        1 ns/op
BenchmarkRounds/ours-2                   	100	        10 ns/op
BenchmarkRounds/peer-2                   	100	        10 ns/op
BenchmarkRounds/ours#01-2                	100	        30 ns/op
BenchmarkRounds/peer#01-2                	100	        10 ns/op
BenchmarkRounds/ours#02-2                	100	        20 ns/op
BenchmarkRounds/peer#02-2                	100	        40 ns/op
BenchmarkSync/ours-2                     	10	        100 ns/op	     300 cpu-ns/op
BenchmarkSync/raw-2                      	10	        200 ns/op	     100 cpu-ns/op
PASS
`
	var out strings.Builder
	n, err := run(strings.NewReader(in), &out)
	if err != nil || n != 6 {
		t.Fatalf("run() = %d, %v\n%s", n, err, out.String())
	}
	want := `ratio agent-start-stop/N=100-vs-fx 0.500 (0.500–0.500, n=1)
ratio log-disabled-vs-logrus 0.500 (0.500–0.500, n=1)
ratio log-disabled-vs-slog 1.500 (1.500–1.500, n=1)
ratio rounds-vs-peer 1.000 (0.500–3.000, n=3)
ratio sync-vs-raw 0.500 (0.500–0.500, n=1)
ratio sync-vs-raw/cpu 3.000 (3.000–3.000, n=1)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRatiosEvenSampleCountTakesTheMeanOfTheMiddleTwo(t *testing.T) {
	in := `BenchmarkX/ours-2 1 10 ns/op
BenchmarkX/peer-2 1 10 ns/op
BenchmarkX/ours#01-2 1 20 ns/op
BenchmarkX/peer#01-2 1 10 ns/op
`
	var out strings.Builder
	if _, err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if want := "ratio x-vs-peer 1.500 (1.000–2.000, n=2)\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestRatiosIgnoreLinesThatAreNotResults(t *testing.T) {
	in := "BenchmarkX/ours\n--- FAIL: BenchmarkX/peer\nBenchmarkX/peer-2 1 abc ns/op\nok  \tpkg\t1.0s\n"
	var out strings.Builder
	n, err := run(strings.NewReader(in), &out)
	if err != nil || n != 0 || out.Len() != 0 {
		t.Errorf("run() = %d, %v, output %q; want nothing", n, err, out.String())
	}
}

func TestRatiosCompareResidentMemoryWhenBothSidesReportIt(t *testing.T) {
	in := `BenchmarkProcs/N=50/ours-2 1 300 ns/op 8000000 rss-bytes
BenchmarkProcs/N=50/peer-2 1 600 ns/op 20000000 rss-bytes
BenchmarkProcs/N=50/ours#01-2 1 300 ns/op 10000000 rss-bytes
BenchmarkProcs/N=50/peer#01-2 1 300 ns/op 20000000 rss-bytes
BenchmarkOneSided/ours-2 1 300 ns/op 8000000 rss-bytes
BenchmarkOneSided/peer-2 1 300 ns/op
`
	var out strings.Builder
	if _, err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := `ratio procs/N=50-vs-peer 0.750 (0.500–1.000, n=2)
ratio procs/N=50-vs-peer/rss 0.450 (0.400–0.500, n=2)
ratio one-sided-vs-peer 1.000 (1.000–1.000, n=1)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
