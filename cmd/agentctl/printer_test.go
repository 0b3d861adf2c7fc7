package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// jsonKeys lists the keys of a JSON document in the order they appear,
// each with its path ("plugins.name").
func jsonKeys(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	var keys []string
	var value func(path string)
	value = func(path string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("-o json printed %q: %v", doc, err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					t.Fatalf("-o json printed %q: %v", doc, err)
				}
				key := k.(string)
				if path != "" {
					key = path + "." + key
				}
				keys = append(keys, key)
				value(key)
			}
			dec.Token() // }
		case json.Delim('['):
			for dec.More() {
				value(path)
			}
			dec.Token() // ]
		}
	}
	value("")
	return keys
}

// yamlKeys lists the keys of a YAML document as jsonKeys does.
func yamlKeys(t *testing.T, doc string) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatalf("-o yaml printed %q: %v", doc, err)
	}
	var keys []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if path != "" {
					key = path + "." + key
				}
				keys = append(keys, key)
				walk(n.Content[i+1], key)
			}
		}
	}
	walk(&n, "")
	return keys
}

// TestYAMLKeepsTheOrderOfJSON runs every command that prints a document
// with -o json and -o yaml, and compares the order of the keys: the
// order of the struct fields, not the alphabetical order of a map.
func TestYAMLKeepsTheOrderOfJSON(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	etcdPut(t, cli, prefix+"k", `{"state":1,"last_change":1496322205,"error":"x","build":{"version":"v1","date":"d"}}`)
	srv := newFakeAgent(t, &fakeAgent{readyCode: http.StatusServiceUnavailable, readyBody: unhealthyBody})
	for k, v := range agentEnv(t, srv.Listener.Addr().String()) {
		e[k] = v
	}
	programs := programsServer(t, http.StatusOK, programsWithAffinityBody)
	fleet, fleetCli := fleetEtcd(t)
	putTestFleet(t, fleetCli)

	tests := []struct {
		name string
		e    env
		args []string
	}{
		{"kvdb get", e, []string{"kvdb", "get", "k"}},
		{"kvdb list", e, []string{"kvdb", "list"}},
		{"kvdb put", e, []string{"kvdb", "put", "k2", "v"}},
		{"status", e, []string{"status"}},
		{"log list", e, []string{"log", "list"}},
		{"log set", e, []string{"log", "set", "etcd", "debug"}},
		{"process list", programs, []string{"process", "list"}},
		{"version", e, []string{"version"}},
		{"status --all", fleet, []string{"status", "--all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.e.agentctlAt(t, testNow, append(tt.args, "-o", "json")...)
			y := tt.e.agentctlAt(t, testNow, append(tt.args, "-o", "yaml")...)
			if j.stdout == "" || y.stdout == "" {
				t.Fatalf("no output: json %q (%s), yaml %q (%s)", j.stdout, j.stderr, y.stdout, y.stderr)
			}
			jk, yk := jsonKeys(t, j.stdout), yamlKeys(t, y.stdout)
			if strings.Join(jk, " ") != strings.Join(yk, " ") {
				t.Errorf("keys of -o json:\n%v\nkeys of -o yaml:\n%v", jk, yk)
			}
		})
	}
}

func TestYAMLValues(t *testing.T) {
	var b bytes.Buffer
	v := struct {
		Z     string          `json:"z"`
		A     int64           `json:"a"`
		Value json.RawMessage `json:"value"`
	}{"12", 1496322205, json.RawMessage(`{"y":[1,2.5,true,null,"multi\nline"],"b":"yes"}`)}
	if err := (yamlPrinter{&b}).print(v, nil); err != nil {
		t.Fatal(err)
	}
	want := `z: "12"
a: 1496322205
value:
    "y":
        - 1
        - 2.5
        - true
        - null
        - |-
          multi
          line
    b: "yes"
`
	if b.String() != want {
		t.Errorf("yaml of %+v =\n%s\nwant\n%s", v, b.String(), want)
	}
}
