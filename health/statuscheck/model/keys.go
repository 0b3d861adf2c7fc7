package model

// StatusPrefix is the key prefix of every status key, relative to the agent
// prefix ("/vnf-agent/<label>/").
const StatusPrefix = "check/status/v1/"

// pluginPrefix is the key prefix of the plugin status keys.
const pluginPrefix = StatusPrefix + "plugin/"

// AgentStatusKey returns the key of the agent status, relative to the agent
// prefix: "check/status/v1/agent".
func AgentStatusKey() string { return StatusPrefix + "agent" }

// PluginStatusKey returns the key of the status of the plugin named name,
// relative to the agent prefix: "check/status/v1/plugin/<name>".
func PluginStatusKey(name string) string { return pluginPrefix + name }
