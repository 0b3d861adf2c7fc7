//go:build !linux

// Command testhelper is the child process of the tests, which run on Linux
// only (they read /proc and bind CPUs).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "testhelper: Linux only")
	os.Exit(2)
}
