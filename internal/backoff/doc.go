// Package backoff computes the waits of a loop that retries a failing
// operation: capped exponential backoff, optionally shortened by random
// jitter, with a sleep that ends early when the loop is told to stop.
//
// The loops that reconnect to etcd and Kafka, retry log hooks and renew
// producers all share it, so that the schedules their documentation states
// come from one tested place.
//
// # Schedule
//
// The first wait is Min; each further one doubles the previous, up to Max.
// Reset starts again from Min, typically after a success. With Jitter j,
// each wait is shortened by a random amount of up to j times itself: the
// doubling works on the waits before jitter, so jitter never lengthens a
// wait and never makes the schedule drift.
//
// # Concurrency
//
// A Backoff belongs to one loop: its methods must not be called
// concurrently. Sleep is a function of its own and safe anywhere.
package backoff
