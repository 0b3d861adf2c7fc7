// Command ratios reads `go test -bench` output on stdin and prints, for every
// benchmark with an "ours" sub-benchmark, one line per peer:
//
//	ratio <name>-vs-<peer> <ours/peer ns/op>
//
// Names are lower-cased with "Benchmark" dropped and CamelCase turned into
// kebab-case. It exits non-zero when there is nothing to compare.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
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

// run parses benchmark lines and writes the ratios; it returns how many.
// With several samples of a benchmark (-count), the medians are compared.
func run(r io.Reader, w io.Writer) (int, error) {
	type pair struct {
		ours  []float64
		peers map[string][]float64
	}
	groups := map[string]*pair{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, nsop, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			continue
		}
		group, impl := name[:i], name[i+1:]
		g := groups[group]
		if g == nil {
			g = &pair{peers: map[string][]float64{}}
			groups[group] = g
			order = append(order, group)
		}
		if impl == "ours" {
			g.ours = append(g.ours, nsop)
		} else {
			g.peers[impl] = append(g.peers[impl], nsop)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, group := range order {
		g := groups[group]
		if len(g.ours) == 0 {
			continue
		}
		ours := median(g.ours)
		peers := make([]string, 0, len(g.peers))
		for p := range g.peers {
			peers = append(peers, p)
		}
		sort.Strings(peers)
		for _, p := range peers {
			peer := median(g.peers[p])
			if peer == 0 {
				continue
			}
			fmt.Fprintf(w, "ratio %s-vs-%s %.3f\n", kebab(group), p, ours/peer)
			n++
		}
	}
	return n, nil
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count); it sorts xs.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// parseLine returns the benchmark name without the -GOMAXPROCS suffix and
// its ns/op from a line such as
// "BenchmarkX/N=100/ours-2   1000   1234 ns/op   56 B/op   1 allocs/op".
func parseLine(line string) (string, float64, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", 0, false
	}
	for i := 2; i+1 < len(f); i++ {
		if f[i+1] == "ns/op" {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return "", 0, false
			}
			name := f[0]
			if j := strings.LastIndexByte(name, '-'); j > 0 {
				if _, err := strconv.Atoi(name[j+1:]); err == nil {
					name = name[:j]
				}
			}
			return strings.TrimPrefix(name, "Benchmark"), v, true
		}
	}
	return "", 0, false
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
