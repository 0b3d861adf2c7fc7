// Command agentctl is the operator CLI of Plinth agents: it reads and writes
// the agents' keys in etcd, shows the status of every agent published there
// (status --all) and, through an agent's HTTP API, inspects a running agent:
// its status, the levels of its loggers and the programs it supervises. See
// docs/agentctl.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first SIGINT or SIGTERM cancels the running command (a watch ends
	// cleanly); a second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
