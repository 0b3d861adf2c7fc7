// Command ratios reads `go test -bench` output on stdin and prints, for every
// benchmark with an "ours" sub-benchmark, one line per peer:
//
//	ratio <name>-vs-<peer> <median> (<min>–<max>, n=<samples>)
//
// Each sample is ours/peer time per operation of one round: the i-th run of
// ours (go test names the repeats ours, ours#01, ours#02 …) is paired with
// the i-th run of the peer, which ran right after it, so both saw the same
// machine. The line gives the median of those ratios and their spread
// (below 1: Plinth faster). When both sides also report cpu-ns/op, a second
// line compares CPU time the same way:
//
//	ratio <name>-vs-<peer>/cpu <median> (<min>–<max>, n=<samples>)
//
// and when both report rss-bytes (the resident memory of a process, for
// benchmarks that compare what a process costs to keep running), a line
// compares it the same way:
//
//	ratio <name>-vs-<peer>/rss <median> (<min>–<max>, n=<samples>)
//
// Names are lower-cased with "Benchmark" dropped and CamelCase turned into
// kebab-case. It exits non-zero when there is nothing to compare.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	n, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	if n == 0 {
		fmt.Fprintln(os.Stderr, "ratios: no benchmark with an \"ours\" sub-benchmark in the input")
		os.Exit(1)
	}
}

// sample is one benchmark result line.
type sample struct {
	nsPerOp  float64
	cpuPerOp float64 // 0 when not reported
	rssBytes float64 // 0 when not reported
}

// group holds the samples of one comparison, by implementation, in the
// order they ran.
type group struct {
	impls map[string][]sample
	order []string // implementations in first-seen order
}

// run parses benchmark lines and writes the ratios; it returns how many.
func run(r io.Reader, w io.Writer) (int, error) {
	groups := map[string]*group{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, s, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			continue
		}
		name, impl := name[:i], name[i+1:]
		g := groups[name]
		if g == nil {
			g = &group{impls: map[string][]sample{}}
			groups[name] = g
			order = append(order, name)
		}
		if _, seen := g.impls[impl]; !seen {
			g.order = append(g.order, impl)
		}
		g.impls[impl] = append(g.impls[impl], s)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, name := range order {
		g := groups[name]
		ours := g.impls["ours"]
		if len(ours) == 0 {
			continue
		}
		peers := slices.DeleteFunc(slices.Clone(g.order), func(s string) bool { return s == "ours" })
		slices.Sort(peers)
		for _, p := range peers {
			label := kebab(name) + "-vs-" + p
			if line, ok := ratioLine(label, ours, g.impls[p], func(s sample) float64 { return s.nsPerOp }); ok {
				fmt.Fprintln(w, line)
				n++
			}
			if line, ok := ratioLine(label+"/cpu", ours, g.impls[p], func(s sample) float64 { return s.cpuPerOp }); ok {
				fmt.Fprintln(w, line)
				n++
			}
			if line, ok := ratioLine(label+"/rss", ours, g.impls[p], func(s sample) float64 { return s.rssBytes }); ok {
				fmt.Fprintln(w, line)
				n++
			}
		}
	}
	return n, nil
}

// ratioLine pairs the i-th sample of ours with the i-th of peer and
// formats the median of ours/peer with its range; it reports false when no
// pair has the metric on both sides.
func ratioLine(label string, ours, peer []sample, metric func(sample) float64) (string, bool) {
	var rs []float64
	for i := range min(len(ours), len(peer)) {
		o, p := metric(ours[i]), metric(peer[i])
		if o > 0 && p > 0 {
			rs = append(rs, o/p)
		}
	}
	if len(rs) == 0 {
		return "", false
	}
	slices.Sort(rs)
	return fmt.Sprintf("ratio %s %.3f (%.3f–%.3f, n=%d)", label, median(rs), rs[0], rs[len(rs)-1], len(rs)), true
}

// median returns the middle value of the sorted xs (the mean of the two
// middle ones for an even count).
func median(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// parseLine returns the benchmark name without the -GOMAXPROCS suffix and
// the repeat suffix (#01), and its ns/op, cpu-ns/op and rss-bytes, from a line such as
// "BenchmarkX/N=100/ours#01-2   1000   1234 ns/op   900 cpu-ns/op   56 B/op".
func parseLine(line string) (string, sample, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", sample{}, false
	}
	var s sample
	for i := 2; i+1 < len(f); i++ {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		switch f[i+1] {
		case "ns/op":
			s.nsPerOp = v
		case "cpu-ns/op":
			s.cpuPerOp = v
		case "rss-bytes":
			s.rssBytes = v
		}
	}
	if s.nsPerOp == 0 {
		return "", sample{}, false
	}
	name := f[0]
	if j := strings.LastIndexByte(name, '-'); j > 0 {
		if _, err := strconv.Atoi(name[j+1:]); err == nil {
			name = name[:j]
		}
	}
	if j := strings.LastIndexByte(name, '#'); j > strings.LastIndexByte(name, '/') {
		if _, err := strconv.Atoi(name[j+1:]); err == nil {
			name = name[:j]
		}
	}
	return strings.TrimPrefix(name, "Benchmark"), s, true
}

// kebab turns "AgentStartStop/N=100" into "agent-start-stop/N=100".
func kebab(s string) string {
	var b strings.Builder
	first, rest, _ := strings.Cut(s, "/")
	for i, r := range first {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	if rest != "" {
		b.WriteString("/" + rest)
	}
	return b.String()
}
