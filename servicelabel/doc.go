// Package servicelabel gives every plugin of an agent the microservice label,
// the name under which the agent keeps its data in the key-value store.
//
// Every key an agent writes lives under its agent prefix, "/vnf-agent/<label>/"
// (see [AgentPrefix]), and all agents share [AllAgentsPrefix]. Plugins that
// build keys inject a [ReaderAPI]; the [Plugin] provides it.
//
// # Configuration
//
// The label comes from, in increasing order of precedence:
//
//   - the default, "vpp1";
//   - the key microservice-label of the plugin's config file,
//     service-label.conf (flag -service-label-config, env SERVICE_LABEL_CONFIG);
//   - the environment variable MICROSERVICE_LABEL;
//   - the command-line flag -microservice-label;
//   - the option [UseLabel] set in code.
//
// # Lifecycle
//
// Init resolves and validates the label; there is nothing to start or stop.
// A label that cannot be part of a key prefix (see [ValidateLabel]) makes Init
// fail with an error that names the label and where it came from.
//
// # Concurrency
//
// The methods of [ReaderAPI] are safe for concurrent use once Init has
// returned.
package servicelabel
