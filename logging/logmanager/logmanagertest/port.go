package logmanagertest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Ports are picked from [minPort, the start of the ephemeral range): 32768
// is the lowest ephemeral port of Linux, macOS (49152) and Windows (49152)
// by default, and ports below 10000 are the ones services tend to claim.
const (
	minPort          = 10000
	defaultEphemeral = 32768
	portTries        = 200
)

var usedPorts struct {
	sync.Mutex
	ports map[int]bool
}

// listenOnNewPort calls listen with loopback addresses on ports picked at
// random below the ephemeral range, and never used before by this
// process, until one succeeds; it returns that address.
func listenOnNewPort(listen func(addr string) error, network string) (string, error) {
	usedPorts.Lock()
	defer usedPorts.Unlock()
	if usedPorts.ports == nil {
		usedPorts.ports = map[int]bool{}
	}
	high := ephemeralStart()
	var last error
	for range portTries {
		port := minPort + rand.IntN(high-minPort)
		if usedPorts.ports[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := listen(addr); err != nil {
			last = err
			continue
		}
		usedPorts.ports[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("logmanagertest: no free %s port in [%d, %d) after %d tries (last error: %v)", network, minPort, high, portTries, last)
}

// ephemeralStart returns the first port the kernel hands out to outgoing
// connections, as Linux reports it, else the lowest default of the common
// systems. If that leaves too few ports, it gives up on avoiding the range.
func ephemeralStart() int {
	start := defaultEphemeral
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				start = min(n, defaultEphemeral)
			}
		}
	}
	if start-minPort < 1000 {
		return 65536
	}
	return start
}
