// Package kafkatest runs Kafka brokers for tests: in-process wire-protocol
// brokers (franz-go's kfake) listening on loopback TCP, so that the clients
// under test speak the real protocol. Brokers stop when the test ends.
//
// For tests that stop and restart brokers, run cmd/plinth-kafka as a
// separate process with -data-dir instead.
package kafkatest
