package rest

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// Paths that stay open when basic auth is on: orchestrators probe them
// without credentials.
var unauthenticatedPaths = []string{"/liveness", "/readiness"}

// basicAuth checks HTTP basic credentials against the configured users.
// It keeps SHA-256 digests, not passwords, so that every comparison has the
// same length and takes the same time whatever the input.
type basicAuth struct {
	users []credential
}

type credential struct {
	user, password [sha256.Size]byte
}

// newBasicAuth parses "user:password" entries. Errors name the entry by its
// position and never echo it, since it may hold a password.
func newBasicAuth(entries []string) (*basicAuth, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	a := &basicAuth{}
	seen := make(map[string]bool, len(entries))
	for i, e := range entries {
		user, password, ok := strings.Cut(e, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("basic-auth entry %d: want \"user:password\"", i+1)
		case password == "":
			return nil, fmt.Errorf("basic-auth entry %d: user %q has an empty password", i+1, user)
		case seen[user]:
			return nil, fmt.Errorf("basic-auth entry %d: user %q is listed twice", i+1, user)
		}
		seen[user] = true
		a.users = append(a.users, credential{
			user:     sha256.Sum256([]byte(user)),
			password: sha256.Sum256([]byte(password)),
		})
	}
	return a, nil
}

// allowed reports whether r carries the credentials of a configured user.
// It compares against every user without stopping early, so the time taken
// does not reveal which user, or which part, did not match.
func (a *basicAuth) allowed(r *http.Request) bool {
	user, password, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(password))
	match := 0
	for _, c := range a.users {
		match |= subtle.ConstantTimeCompare(u[:], c.user[:]) & subtle.ConstantTimeCompare(p[:], c.password[:])
	}
	return match == 1
}

func requiresAuth(path string) bool {
	for _, p := range unauthenticatedPaths {
		if path == p {
			return false
		}
	}
	return true
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="agent", charset="UTF-8"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}
