package mux

// Connection is the cn-infra name of [ProtoConnection], the connection for
// protobuf messages that Multiplexer.NewProtoConnection returns. cn-infra's
// separate ManualConnection is not needed: a ProtoConnection also publishes
// to and watches single partitions.
type Connection = ProtoConnection
