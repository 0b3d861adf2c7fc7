package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/rest"
)

// statusPrefix is where the status check publishes, below the agent prefix.
const statusPrefix = model.StatusPrefix

// StatusKeys is the answer of GET /ui/api/status-keys.
type StatusKeys struct {
	// Prefix is the full key prefix of the status keys.
	Prefix string `json:"prefix"`
	// Synced is false until the store has answered the watch.
	Synced bool `json:"synced"`
	// Keys are sorted by key.
	Keys []StatusKey `json:"keys"`
}

// StatusKey is one status key as last seen in the store.
type StatusKey struct {
	// Key is relative to Prefix: "agent" or "plugin/<name>".
	Key string `json:"key"`
	// Value is the stored value: JSON, or a JSON string when the value is
	// not JSON.
	Value json.RawMessage `json:"value"`
	// Rev is the revision of the key's last write.
	Rev int64 `json:"rev"`
	// Published is when the key was last written, in Unix seconds: when the
	// dashboard saw the write, or, for a write before the dashboard started,
	// the last_update of the status it holds.
	Published int64 `json:"published"`
}

// serveStatusKeys answers GET /ui/api/status-keys from the cache: handlers
// never wait on the store.
func (p *Plugin) serveStatusKeys(w http.ResponseWriter, _ *http.Request) {
	if p.keys == nil {
		rest.WriteError(w, http.StatusNotFound, "no status keys: the agent has no key-value store or no service label")
		return
	}
	rest.WriteJSON(w, http.StatusOK, p.keys.get())
}

// keyCache keeps the status keys as the watch delivers them.
type keyCache struct {
	prefix string
	now    func() time.Time

	mu     sync.Mutex // guards synced and keys
	synced bool
	keys   map[string]StatusKey
}

func newKeyCache(prefix string, now func() time.Time) *keyCache {
	return &keyCache{prefix: prefix, now: now, keys: map[string]StatusKey{}}
}

// apply is the watch callback.
func (c *keyCache) apply(_ context.Context, ev kvdb.Event) error {
	now := c.now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case kvdb.EventResync:
		first := !c.synced
		keys := make(map[string]StatusKey, len(ev.Snapshot))
		for _, kv := range ev.Snapshot {
			k := StatusKey{Key: kv.Key, Value: jsonValue(kv.Value), Rev: kv.Rev, Published: now}
			if old, ok := c.keys[kv.Key]; ok && old.Rev == kv.Rev {
				k.Published = old.Published
			} else if first {
				// Written before the dashboard watched: the status it
				// holds says when it last changed, which is when it was
				// written, give or take the asynchronous write.
				if t := lastUpdate(kv.Value); t > 0 {
					k.Published = t
				}
			}
			keys[kv.Key] = k
		}
		c.keys, c.synced = keys, true
	case kvdb.EventPut:
		c.keys[ev.Key] = StatusKey{Key: ev.Key, Value: jsonValue(ev.Value), Rev: ev.Rev, Published: now}
	case kvdb.EventDelete:
		delete(c.keys, ev.Key)
	}
	return nil
}

func (c *keyCache) get() StatusKeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := StatusKeys{Prefix: c.prefix, Synced: c.synced, Keys: make([]StatusKey, 0, len(c.keys))}
	for _, k := range c.keys {
		out.Keys = append(out.Keys, k)
	}
	slices.SortFunc(out.Keys, func(a, b StatusKey) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func jsonValue(v []byte) json.RawMessage {
	if json.Valid(v) {
		return json.RawMessage(slices.Clone(v))
	}
	s, _ := json.Marshal(string(v))
	return s
}

func lastUpdate(v []byte) int64 {
	var s struct {
		LastUpdate int64 `json:"last_update"`
	}
	if json.Unmarshal(v, &s) != nil {
		return 0
	}
	return s.LastUpdate
}
