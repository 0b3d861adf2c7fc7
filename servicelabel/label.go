package servicelabel

import (
	"errors"
	"fmt"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// AllAgentsPrefix is the key prefix shared by all agents. Every agent prefix
// starts with it.
const AllAgentsPrefix = "/vnf-agent/"

// DefaultLabel is the label used when no source sets one.
const DefaultLabel = "vpp1"

// ErrInvalidLabel is returned, wrapped, by [ValidateLabel] and by Init when a
// label cannot be used as one segment of a key prefix. Test for it with
// errors.Is.
var ErrInvalidLabel = errors.New("invalid microservice label")

// ReaderAPI gives access to the microservice label of the agent and to the
// key prefixes derived from labels.
type ReaderAPI interface {
	// GetAgentLabel returns the microservice label of this agent.
	GetAgentLabel() string
	// GetAgentPrefix returns the key prefix of this agent, "/vnf-agent/<label>/".
	GetAgentPrefix() string
	// GetDifferentAgentPrefix returns the key prefix of the agent with the
	// given label.
	GetDifferentAgentPrefix(label string) string
	// GetAllAgentsPrefix returns the prefix shared by all agents, "/vnf-agent/".
	GetAllAgentsPrefix() string
}

// AgentPrefix returns the key prefix of the agent with the given label:
// "/vnf-agent/<label>/". It does not validate the label; use [ValidateLabel]
// for labels that come from users.
func AgentPrefix(label string) string {
	return AllAgentsPrefix + label + "/"
}

// ValidateLabel reports whether label can be used as a microservice label.
// A label must be valid UTF-8 and non-empty, must not be "." or "..", and
// must not contain "/", white space, control or other non-printable
// characters: any of them would split the agent prefix into more segments,
// or make keys that operators cannot type. The error wraps [ErrInvalidLabel].
func ValidateLabel(label string) error {
	if problem := labelProblem(label); problem != "" {
		return fmt.Errorf("servicelabel: %w %q: %s", ErrInvalidLabel, label, problem)
	}
	return nil
}

// labelProblem returns why label is invalid, or "" when it is valid. The
// rule is the one of every name that becomes a key segment.
func labelProblem(label string) string {
	if problem := kvdb.SegmentProblem(label); problem != "" {
		return "the label " + problem
	}
	return ""
}
