package main

import (
	"strings"

	"github.com/plinth-go/plinth/servicelabel"
)

// expandKey turns a key given on the command line into a full etcd key. A key
// starting with "/" is used as it is; any other key, including "", is
// relative to the agent prefix "/vnf-agent/<label>/". Nothing else is
// rewritten: etcd keys are bytes, so "." and ".." are not path elements.
//
// The label is validated only when a relative key needs it.
func expandKey(label, key string) (string, error) {
	if strings.HasPrefix(key, "/") {
		return key, nil
	}
	if err := servicelabel.ValidateLabel(label); err != nil {
		return "", usageError{err}
	}
	return servicelabel.AgentPrefix(label) + key, nil
}
