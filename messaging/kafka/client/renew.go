package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/plinth-go/plinth/internal/backoff"
)

// sarama guards the partitioning of each topic and the leader lookup of
// each partition of its producers with a circuit breaker
// (github.com/eapache/go-resiliency/breaker, made with breaker.New(3, 1,
// 10*time.Second), which no setting changes). Three failed lookups within
// 10 s, as a broker outage of a few seconds makes, open it; every message
// to the partition then fails at once with this error, and the breaker
// lets a lookup through again only 10 s later. Publishing thus stayed
// impossible for up to 10 s after the brokers were back (8-10 s measured
// after a 3 s outage). The producers of this package recognise the error
// and renew their sarama producer, whose breakers start closed, as soon as
// the brokers answer again (see renewer).
//
// The error is recognised by its text so that this module does not depend
// on the breaker package directly; TestProducersPublishAgainBeforeSaramasBreakerWould
// provokes the real breaker and fails if the text changes.
const breakerOpenText = "circuit breaker is open"

func isBreakerOpen(err error) bool {
	return err != nil && err.Error() == breakerOpenText
}

// Backoff of the checks of a renewer while the brokers do not answer. The
// check itself, a metadata request, takes about a second against
// unreachable brokers (sarama's Metadata.Retry: 3 retries 250ms apart), so
// publishing resumes within about two seconds of the brokers' return.
const (
	renewBackoffMin = 100 * time.Millisecond
	renewBackoffMax = time.Second
)

// renewer replaces the sarama producer of a Producer or SyncProducer when
// messages fail because one of its circuit breakers is open and the brokers
// answer metadata requests about the failed topic again. It runs on a
// goroutine of its own, started by newRenewer and stopped by stop.
type renewer struct {
	client  sarama.Client
	renew   func() error // replaces the sarama producer
	onRenew func(error)  // told of every renewal, nil when it worked

	poke    chan struct{} // cap 1: a message failed because a breaker is open
	topic   atomic.Pointer[string]
	count   atomic.Int64
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newRenewer(c sarama.Client, renew func() error, onRenew func(error)) *renewer {
	if onRenew == nil {
		onRenew = func(error) {}
	}
	r := &renewer{client: c, renew: renew, onRenew: onRenew,
		poke: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// failed notes that a message to topic failed with err; it never blocks.
func (r *renewer) failed(topic string, err error) {
	if !isBreakerOpen(err) {
		return
	}
	r.topic.Store(&topic)
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

func (r *renewer) run() {
	defer close(r.done)
	bo := backoff.Backoff{Min: renewBackoffMin, Max: renewBackoffMax}
	for {
		select {
		case <-r.closing:
			return
		case <-r.poke:
		}
		topic := ""
		if t := r.topic.Load(); t != nil {
			topic = *t
		}
		// A new producer is only worth it once the brokers answer: its
		// breakers would open again, and an idempotent one cannot even
		// start (it asks the brokers for a producer id).
		var topics []string
		if topic != "" {
			topics = append(topics, topic)
		}
		if err := r.client.RefreshMetadata(topics...); err != nil {
			if !bo.Sleep(r.closing) {
				return
			}
			continue
		}
		err := r.renew()
		r.onRenew(err)
		if err != nil {
			// Such as an idempotent producer refused its id: not
			// worth a new attempt at every failed message.
			if !bo.Sleep(r.closing) {
				return
			}
			continue
		}
		bo.Reset()
		r.count.Add(1)
		// Pokes from messages of the old producer are stale.
		select {
		case <-r.poke:
		default:
		}
	}
}

// stop ends the goroutine and waits for it, and for a renewal in progress.
func (r *renewer) stop() {
	r.once.Do(func() { close(r.closing) })
	<-r.done
}
