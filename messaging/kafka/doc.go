// Package kafka is the plugin that gives the plugins of an agent one shared
// connection to Kafka brokers, through the multiplexer of package
// messaging/kafka/mux.
//
// # Usage
//
// A plugin injects [Mux] (or *Plugin) and asks for a named connection:
//
//	type Deps struct {
//		infra.PluginDeps
//		Kafka kafka.Mux
//	}
//
//	conn := p.Kafka.NewProtoConnection(p.String())
//	pub, err := conn.NewSyncPublisher("events")
//	sub, err := conn.Watch(handler, "commands")
//
// # Configuration
//
// kafka.conf is found through the flag -kafka-config, the environment
// variable KAFKA_CONFIG or the config directory (see package infra/config):
//
//	addrs: ["kafka-1:9092", "kafka-2:9092"]
//	group_id: my-agent          # default: the microservice label
//	version: 3.6.0
//	required-acks: all
//	tls: {enabled: true, ca-file: /etc/kafka/ca.pem}
//
// See mux.Config and client.Config for every key. Without a config file the
// plugin is disabled: it logs so, and publishers and watchers return errors
// wrapping mux.ErrDisabled. A file with an error fails the start with the
// file, the line and the key.
//
// # Lifecycle
//
// Init connects in the background and never waits for the brokers: an
// agent starts while Kafka is down. The plugin reports its state to the
// status check when one is in the agent: ERROR while the brokers are
// unreachable (with the cause), OK once they answer. Close stops the
// subscriptions, the consumers, the producers and the client, in that order.
package kafka
