package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// trafficPluginName names the traffic plugin: its config file is
// traffic.conf, named by the flag -traffic-config or the environment
// variable TRAFFIC_CONFIG.
const trafficPluginName = "traffic"

// REST paths of the traffic plugin.
const (
	trafficPath     = "/traffic"      // GET: the counters
	trafficStopPath = "/traffic/stop" // POST: stop publishing, wait for the results in flight
)

// Defaults and limits of traffic.conf.
const (
	defaultTrafficTopic = "plinth-traffic"
	defaultTrafficRate  = 10
	// maxTrafficRate keeps a typo from flooding the brokers; the ticker of
	// the publishing loop is also meaningless below a tenth of a
	// millisecond.
	maxTrafficRate = 10000
	// trafficCloseWait bounds how long Close waits for the results of the
	// messages in flight. They come within sarama's retries while the
	// Kafka plugin, which closes after this one, is still up. It stays
	// below the agent's stop timeout (agent.DefaultStopTimeout, 10s) so
	// that the rest of Close, and the plugins closing after this one,
	// still have time.
	trafficCloseWait = 7 * time.Second
)

// trafficConf is the content of traffic.conf. Every key is optional.
type trafficConf struct {
	// Topic is where the messages are published and read from. If empty,
	// "plinth-traffic" is used.
	Topic string `yaml:"topic"`
	// Rate is the number of messages published per second. If zero, 10
	// is used; at most 10000.
	Rate int `yaml:"rate"`
	// AckedFile, if set, gets one line "<id> <partition> <offset>" per
	// message the brokers acknowledged. It is appended to, never truncated.
	AckedFile string `yaml:"acked-file"`
	// ConsumedFile, if set, gets one line "<id> <partition> <offset>" per
	// message handed to the plugin's subscription, duplicates included.
	ConsumedFile string `yaml:"consumed-file"`
}

// trafficPlugin puts a steady load on Kafka and checks that it comes back:
// it publishes numbered messages to a topic at a fixed rate through the
// asynchronous publisher of the Kafka plugin, and reads the same topic as
// a member of the agent's consumer group. It is what an operator runs to
// see the Kafka plugin work end to end (curl /traffic), and what the fault
// suite uses to count messages across broker crashes.
//
// It is enabled by traffic.conf (see trafficConf) and needs the Kafka
// plugin enabled too; without the file it does nothing, registers no
// route, and the agent starts as before.
//
// Each message has the value and key "<run>-<n>": run is unique to one
// start of the agent and n counts from 1. The record files, when
// configured, let a test compare what was acknowledged with what was
// consumed; GET /traffic serves the counters, and POST /traffic/stop stops
// publishing and answers once every message in flight has its result.
type trafficPlugin struct {
	infra.PluginDeps
	Kafka *kafka.Plugin
	// HTTP serves /traffic. Without it the plugin serves no REST API.
	HTTP rest.HTTPHandlers `plinth:"optional"`

	// Set by Init, read-only afterwards.
	conf     trafficConf
	enabled  bool
	run      string
	pub      *mux.AsyncPublisher[[]byte]
	sub      messaging.Subscription
	acked    *recordFile
	consumed *recordFile
	ctx      context.Context // done when publishing stops
	cancel   context.CancelFunc
	done     chan struct{} // closed when the publishing loop returned
	started  bool          // AfterInit started the loop

	published, acknowledged, failed, refused, received atomic.Int64

	mu       sync.Mutex // guards inFlight and stopped, and closes idle
	inFlight int64
	stopped  bool
	idle     chan struct{} // closed once stopped with nothing in flight
	stopOnce sync.Once
}

var _ infra.PostInit = (*trafficPlugin)(nil)

func newTrafficPlugin() *trafficPlugin {
	p := &trafficPlugin{idle: make(chan struct{}), done: make(chan struct{})}
	p.SetName(trafficPluginName)
	return p
}

// Init reads traffic.conf, opens the record files, subscribes to the topic
// (messages flow once the Kafka plugin is connected) and registers the
// REST API. Without the file the plugin stays disabled.
func (p *trafficPlugin) Init() error {
	conf, found, err := loadTrafficConf(p.Cfg)
	if err != nil {
		return err
	}
	if !found {
		p.Log.Debugf("no traffic.conf: the plugin is disabled")
		return nil
	}
	if p.Kafka.Disabled() {
		return fmt.Errorf("traffic: config file %s enables the plugin but Kafka is disabled: write kafka.conf (or set -kafka-config) too", p.Cfg.GetConfigName())
	}
	p.conf = conf
	p.run = strconv.FormatInt(time.Now().UnixNano(), 36)

	if p.acked, err = openRecordFile(conf.AckedFile); err != nil {
		return fmt.Errorf("traffic: acked-file: %w", err)
	}
	if p.consumed, err = openRecordFile(conf.ConsumedFile); err != nil {
		_ = p.acked.close()
		return fmt.Errorf("traffic: consumed-file: %w", err)
	}
	conn := p.Kafka.NewBytesConnection(p.String())
	if p.pub, err = conn.NewAsyncPublisher(conf.Topic, p.onAcked, p.onFailed); err == nil {
		p.sub, err = conn.Watch(p.onConsumed, conf.Topic)
	}
	if err != nil {
		_ = errors.Join(p.acked.close(), p.consumed.close())
		return fmt.Errorf("traffic: %w", err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.enabled = true
	if p.HTTP != nil {
		p.HTTP.RegisterHTTPHandler(trafficPath, http.HandlerFunc(p.serveStatus), http.MethodGet)
		p.HTTP.RegisterHTTPHandler(trafficStopPath, http.HandlerFunc(p.serveStop), http.MethodPost)
	}
	p.Log.Infof("publishing %d messages/s to topic %q once Kafka is reachable, and reading them back", conf.Rate, conf.Topic)
	return nil
}

// loadTrafficConf reads traffic.conf, if there is one, and fills in the
// defaults. Errors name the file.
func loadTrafficConf(pc config.PluginConfig) (trafficConf, bool, error) {
	var conf trafficConf
	if pc == nil {
		return conf, false, nil
	}
	found, err := pc.LoadValue(&conf)
	if err != nil {
		return conf, false, fmt.Errorf("traffic: %w", err)
	}
	if !found {
		return conf, false, nil
	}
	if conf.Topic == "" {
		conf.Topic = defaultTrafficTopic
	}
	switch {
	case conf.Rate == 0:
		conf.Rate = defaultTrafficRate
	case conf.Rate < 0 || conf.Rate > maxTrafficRate:
		return conf, false, fmt.Errorf("traffic: config file %s: key %q: %d is not between 1 and %d", pc.GetConfigName(), "rate", conf.Rate, maxTrafficRate)
	}
	return conf, true, nil
}

// AfterInit starts publishing in the background.
func (p *trafficPlugin) AfterInit() error {
	if !p.enabled {
		return nil
	}
	p.started = true
	go p.publish()
	return nil
}

// publish sends one message per tick until stopped. A tick missed while Put
// waits for room in the queue is skipped: the rate is a ceiling.
func (p *trafficPlugin) publish() {
	defer close(p.done)
	select {
	case <-p.Kafka.Multiplexer().Ready():
	case <-p.ctx.Done():
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(p.conf.Rate))
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
		id := p.run + "-" + strconv.Itoa(n)
		p.begin()
		if err := p.pub.Put(p.ctx, id, []byte(id)); err != nil {
			p.end()
			p.refused.Add(1)
			if p.ctx.Err() != nil {
				return
			}
			p.Log.Debugf("message %s not published: %v", id, err)
			continue
		}
		p.published.Add(1)
	}
}

func (p *trafficPlugin) onAcked(m messaging.BytesMessage) {
	p.acknowledged.Add(1)
	p.acked.write(p, m)
	p.end()
}

func (p *trafficPlugin) onFailed(m messaging.BytesMessage, err error) {
	p.failed.Add(1)
	p.Log.Debugf("message %s failed: %v", m.GetValue(), err)
	p.end()
}

func (p *trafficPlugin) onConsumed(_ context.Context, m messaging.BytesMessage) {
	p.received.Add(1)
	p.consumed.write(p, m)
}

// begin counts a message about to be put; end counts its result (or a
// failed Put). The last end after a stop closes idle.
func (p *trafficPlugin) begin() {
	p.mu.Lock()
	p.inFlight++
	p.mu.Unlock()
}

func (p *trafficPlugin) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if p.stopped && p.inFlight == 0 {
		close(p.idle) // only once: nothing is put after stopped is set
	}
}

// stopPublishing ends the publishing loop and returns a channel closed once
// every message put has its result. It is idempotent.
func (p *trafficPlugin) stopPublishing() <-chan struct{} {
	p.stopOnce.Do(func() {
		p.cancel()
		if p.started {
			<-p.done
		}
		p.mu.Lock()
		p.stopped = true
		if p.inFlight == 0 {
			close(p.idle)
		}
		p.mu.Unlock()
	})
	return p.idle
}

// trafficStatus is the JSON of GET /traffic and POST /traffic/stop.
type trafficStatus struct {
	Topic      string `json:"topic"`
	Rate       int    `json:"rate"`
	Publishing bool   `json:"publishing"`
	// Published counts the messages queued for the brokers; each gets
	// exactly one result: acknowledged or failed.
	Published    int64 `json:"published"`
	Acknowledged int64 `json:"acknowledged"`
	Failed       int64 `json:"failed"`
	// Refused counts the messages the publisher did not take (Kafka not
	// connected yet, or stopping).
	Refused int64 `json:"refused"`
	// Consumed counts the messages handed to the subscription.
	Consumed int64 `json:"consumed"`
	InFlight int64 `json:"in_flight"`
}

func (p *trafficPlugin) status() trafficStatus {
	p.mu.Lock()
	inFlight, publishing := p.inFlight, !p.stopped && p.ctx.Err() == nil
	p.mu.Unlock()
	return trafficStatus{
		Topic: p.conf.Topic, Rate: p.conf.Rate, Publishing: publishing,
		Published: p.published.Load(), Acknowledged: p.acknowledged.Load(), Failed: p.failed.Load(),
		Refused: p.refused.Load(), Consumed: p.received.Load(), InFlight: inFlight,
	}
}

func (p *trafficPlugin) serveStatus(w http.ResponseWriter, _ *http.Request) {
	p.reply(w, http.StatusOK)
}

// serveStop stops publishing and answers once every message in flight has
// its result, or with 503 when the request ends first.
func (p *trafficPlugin) serveStop(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.stopPublishing():
		p.reply(w, http.StatusOK)
	case <-r.Context().Done():
		p.reply(w, http.StatusServiceUnavailable)
	}
}

// reply writes the counters as JSON.
func (p *trafficPlugin) reply(w http.ResponseWriter, code int) {
	rest.WriteJSON(w, code, p.status())
}

// Close stops publishing, waits (up to trafficCloseWait) for the results of
// the messages in flight, unsubscribes and closes the record files.
func (p *trafficPlugin) Close() error {
	if !p.enabled {
		return nil
	}
	select {
	case <-p.stopPublishing():
	case <-time.After(trafficCloseWait):
		p.Log.Warnf("%d messages still without a result after %v; they are not recorded", p.status().InFlight, trafficCloseWait)
	}
	p.sub.Unsubscribe()
	return errors.Join(p.acked.close(), p.consumed.close())
}

// recordFile is a file with one line per message. A nil *recordFile (no
// file configured) records nothing. Lines written after close are dropped:
// late results of a stopping agent.
type recordFile struct {
	mu     sync.Mutex // guards f and failed
	f      *os.File   // nil once closed
	failed bool       // a write failed and was logged
}

func openRecordFile(path string) (*recordFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &recordFile{f: f}, nil
}

// write appends "<value> <partition> <offset>" in one write call, so that a
// crash leaves whole lines. Its first failure is logged.
func (r *recordFile) write(p *trafficPlugin, m messaging.BytesMessage) {
	if r == nil {
		return
	}
	line := fmt.Appendf(nil, "%s %d %d\n", m.GetValue(), m.GetPartition(), m.GetOffset())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return
	}
	if _, err := r.f.Write(line); err != nil && !r.failed {
		r.failed = true
		p.Log.Errorf("record %s: %v (further failures are not logged)", r.f.Name(), err)
	}
}

func (r *recordFile) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
