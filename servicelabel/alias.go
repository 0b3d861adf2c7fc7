package servicelabel

// The cn-infra names of the package-level helpers. The label itself has no
// package-level form: read it from the plugin, through ReaderAPI.

// MicroserviceLabelEnvVar is the cn-infra name of [LabelEnv], the
// environment variable that sets the microservice label.
const MicroserviceLabelEnvVar = LabelEnv

// GetAllAgentsPrefix is the cn-infra name of [AllAgentsPrefix]: it returns
// "/vnf-agent/", the key prefix shared by all agents.
func GetAllAgentsPrefix() string { return AllAgentsPrefix }

// GetDifferentAgentPrefix is the cn-infra name of [AgentPrefix]: it returns
// "/vnf-agent/<label>/", the key prefix of the agent with the given label.
func GetDifferentAgentPrefix(label string) string { return AgentPrefix(label) }
