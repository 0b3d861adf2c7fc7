//go:build unix

package processmanager

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// credential is who a process runs as (WithUser).
type credential struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// lookupUser resolves a user name or id, with its primary and
// supplementary groups.
func lookupUser(name string) (*credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != uint32(uid) {
		return nil, fmt.Errorf("running a process as user %s needs an agent that runs as root (it runs as uid %d)", name, euid)
	}
	c := &credential{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	ids, _ := u.GroupIds() // without them, the primary group only
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			c.groups = append(c.groups, uint32(g))
		}
	}
	return c, nil
}

// setUser makes the child of attr run as c.
func setUser(attr *syscall.SysProcAttr, c *credential) {
	attr.Credential = &syscall.Credential{Uid: c.uid, Gid: c.gid, Groups: c.groups}
}
