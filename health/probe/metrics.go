package probe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-go/plinth/health/statuscheck"
)

// statusCollector exports the status check's snapshot at scrape time, so the
// metrics follow plugins registered at any time and cost nothing between
// scrapes.
type statusCollector struct {
	p                                     *Plugin
	agentState, agentReady, pluginState   *prometheus.Desc
	buildInfo, publishes, publishFailures *prometheus.Desc
}

func newStatusCollector(p *Plugin) *statusCollector {
	return &statusCollector{
		p: p,
		agentState: prometheus.NewDesc("plinth_agent_state",
			"State of the agent: 0 INIT, 1 OK, 2 ERROR.", nil, nil),
		agentReady: prometheus.NewDesc("plinth_agent_ready",
			"1 when /readiness answers 200 (non-fatal plugins ignored), else 0.", nil, nil),
		pluginState: prometheus.NewDesc("plinth_plugin_state",
			"State of a plugin: 0 INIT, 1 OK, 2 ERROR.", []string{"plugin"}, nil),
		buildInfo: prometheus.NewDesc("plinth_agent_build_info",
			"Build of the agent; the value is always 1.", []string{"version", "build_date", "commit"}, nil),
		publishes: prometheus.NewDesc("plinth_statuscheck_publishes_total",
			"Status keys written to the key-value store.", nil, nil),
		publishFailures: prometheus.NewDesc("plinth_statuscheck_publish_failures_total",
			"Failed reads and writes of status keys.", nil, nil),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.agentState, c.agentReady, c.pluginState, c.buildInfo, c.publishes, c.publishFailures} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.p.current()
	a := r.snap.Agent
	ch <- prometheus.MustNewConstMetric(c.agentState, prometheus.GaugeValue, float64(a.GetState()))
	ready := 0.0
	if r.ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(c.agentReady, prometheus.GaugeValue, ready)
	for _, ps := range a.GetPlugins() {
		ch <- prometheus.MustNewConstMetric(c.pluginState, prometheus.GaugeValue, float64(ps.GetState()), ps.GetName())
	}
	ch <- prometheus.MustNewConstMetric(c.buildInfo, prometheus.GaugeValue, 1,
		a.GetBuildVersion(), a.GetBuildDate(), a.GetCommitHash())
	var st statuscheck.PublishStats
	if c.p.statusStats != nil {
		st = c.p.statusStats.PublishStats()
	}
	ch <- prometheus.MustNewConstMetric(c.publishes, prometheus.CounterValue, float64(st.Puts))
	ch <- prometheus.MustNewConstMetric(c.publishFailures, prometheus.CounterValue, float64(st.Failures))
}
