package dashboard

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/infra/rest"
)

// Panels is the answer of GET /ui/api/panels: the agent, and which panels
// the page shows. A panel is true when the agent has what it needs.
type Panels struct {
	Agent AgentInfo `json:"agent"`
	// Status: the agent panel shows the plugins' states, live from
	// GET /events.
	Status bool `json:"status"`
	// Loggers: GET /log/list and POST /log/{logger}/{level} are served.
	Loggers bool `json:"loggers"`
	// Programs: GET /supervisor/programs is served, and the programs panel
	// POSTs its actions to ProgramActions + "/{name}/{action}".
	Programs bool `json:"programs"`
	// ProgramActions is where the programs panel sends start, stop and
	// restart: "/supervisor/programs" when the supervisor plugin serves its
	// own REST API (POST /supervisor/programs/{name}/{action}), else
	// "/ui/api/programs", served by the dashboard. Empty without Programs.
	ProgramActions string `json:"program_actions,omitempty"`
	// ProgramLog is where the programs panel reads a program's log, a path
	// template whose {name} the page replaces with the program's name
	// (path-escaped): GET with ?tail=N&stream=stdout|stderr answers
	// text/plain, and with &follow=1 a text/event-stream of one data event
	// per line. ProgramLogPath with Programs, empty without.
	ProgramLog string `json:"program_log,omitempty"`
	// SupervisorReload is where the programs panel POSTs a reload of the
	// supervisor's conf file: SupervisorReloadPath with Programs, empty
	// without.
	SupervisorReload string `json:"supervisor_reload,omitempty"`
	// Processes: GET /process/list and POST /process/{name}/{action} are
	// served.
	Processes bool `json:"processes"`
	// StatusKeys: GET /ui/api/status-keys has a store to watch.
	StatusKeys bool `json:"status_keys"`
	// Etcd: GET /ui/api/etcd describes the connection to etcd (the
	// agent's store is the etcd plugin).
	Etcd bool `json:"etcd"`
	// Kafka: GET /ui/api/kafka describes the connection to Kafka.
	Kafka bool `json:"kafka"`
	// Metrics is the path of the agent's Prometheus metrics, from which
	// the page draws its charts: "/metrics" with the probe plugin, empty
	// without it.
	Metrics string `json:"metrics,omitempty"`
	// RouteCache is the path of the agent's cached routes: RouteCachePath
	// when the agent has a plugin named RouteCachePlugin, empty otherwise.
	RouteCache string `json:"route_cache,omitempty"`
	// KafkaTraffic is the path of the agent's Kafka traffic counters:
	// KafkaTrafficPath when the agent has a plugin named
	// KafkaTrafficPlugin, empty otherwise.
	KafkaTraffic string `json:"kafka_traffic,omitempty"`
	// Fleet: the fleet page is served at /ui/fleet (Config.Fleet).
	Fleet bool `json:"fleet"`
}

// AgentInfo describes the agent in Panels.
type AgentInfo struct {
	Name      string `json:"name"`
	Label     string `json:"label,omitempty"`
	Version   string `json:"version,omitempty"`
	BuildDate string `json:"build_date,omitempty"`
	Commit    string `json:"commit,omitempty"`
	// Plugins are the plugin names in start order.
	Plugins []string `json:"plugins"`
	// StartTime is when the dashboard started, in Unix seconds: the agent's
	// start as near as the dashboard knows it. The status check's
	// start_time, when there is one, is more precise.
	StartTime int64 `json:"start_time"`
}

// buildOf returns the agent's build: the one given to the agent
// (agent.Version) or else, as the status check publishes it, the one
// stamped in the binary.
func (p *Plugin) buildOf(info *AgentInfo) {
	if a := p.Agent; a != nil && a.Version != "" {
		info.Version, info.BuildDate, info.Commit = a.Version, a.BuildDate, a.Commit
		return
	}
	if p.Status != nil {
		st := p.Status.Snapshot().Agent
		info.Version, info.BuildDate, info.Commit = st.GetBuildVersion(), st.GetBuildDate(), st.GetCommitHash()
	}
}

func (p *Plugin) servePanels(w http.ResponseWriter, _ *http.Request) {
	info := AgentInfo{Plugins: []string{}, StartTime: p.started.Unix()}
	if a := p.Agent; a != nil {
		info.Name = a.Name
		if a.Plugins != nil {
			info.Plugins = a.Plugins
		}
	}
	p.buildOf(&info)
	if p.Label != nil {
		info.Label = p.Label.GetAgentLabel()
	}
	_, etcd := p.storeConnection()
	panels := Panels{
		Agent:          info,
		Status:         p.Status != nil,
		Loggers:        p.Logs != nil,
		Programs:       p.Supervisor != nil,
		ProgramActions: p.programActions(),
		Processes:      p.Processes != nil,
		StatusKeys:     p.keys != nil,
		Etcd:           etcd,
		Kafka:          p.Kafka != nil,
		Fleet:          p.fleet != nil,
	}
	if p.Supervisor != nil {
		// Served by the supervisor itself: the page shows its answer, and
		// says so when a supervisor without them answers 404 or 405.
		panels.ProgramLog, panels.SupervisorReload = ProgramLogPath, SupervisorReloadPath
	}
	if p.Probe != nil {
		panels.Metrics = probe.MetricsPath
	}
	if p.hasPlugin(RouteCachePlugin) {
		panels.RouteCache = RouteCachePath
	}
	if p.hasPlugin(KafkaTrafficPlugin) {
		panels.KafkaTraffic = KafkaTrafficPath
	}
	rest.WriteJSON(w, http.StatusOK, panels)
}

// programActions returns Panels.ProgramActions. The supervisor's own
// endpoints come first, so that the page and agentctl act alike; the
// dashboard's serve a Supervisor that has no REST API.
func (p *Plugin) programActions() string {
	switch sup := p.Supervisor.(type) {
	case nil:
		return ""
	case *supervisor.Plugin:
		if sup.HTTP != nil {
			return supervisor.ProgramsPath
		}
	}
	return programsActionBase
}

// Paths of the supervisor's REST API that the programs panel calls besides
// GET /supervisor/programs and the program actions.
const (
	// ProgramLogPath serves the last lines of a program's log, and follows
	// it with follow=1 (see Panels.ProgramLog).
	ProgramLogPath = "/supervisor/programs/{name}/log"
	// SupervisorReloadPath reloads the supervisor's conf file: POST answers
	// 200 {"added":[…],"removed":[…],"changed":[…],"unchanged":[…]}, or
	// 400 {"error":"supervisor.conf:12: …"} and changes nothing.
	SupervisorReloadPath = "/supervisor/reload"
)

// Program actions of POST /ui/api/programs/{name}/{action}.
const (
	ActionStart   = "start"
	ActionStop    = "stop"
	ActionRestart = "restart"
)

// serveProgramAction answers POST /ui/api/programs/{name}/{action}: 200 with
// the program's supervisor.ProgramStatus once the action is done, 400 for an
// unknown action, 404 for an unknown program, 409 for an action its state
// forbids (starting a running program). It serves a Supervisor without a
// REST API of its own; the page uses POST
// /supervisor/programs/{name}/{action} when there is one.
func (p *Plugin) serveProgramAction(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, action := vars["name"], vars["action"]
	switch action {
	case ActionStart, ActionStop, ActionRestart:
	default:
		rest.WriteError(w, http.StatusBadRequest, fmt.Sprintf("unknown action %q: want start, stop or restart", action))
		return
	}
	if _, ok := p.Supervisor.Program(name); !ok {
		rest.WriteError(w, http.StatusNotFound, fmt.Sprintf("unknown program %q (GET %s lists them)", name, supervisor.ProgramsPath))
		return
	}
	if err := p.controlProgram(name, action); err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, supervisor.ErrUnknownProgram):
			status = http.StatusNotFound
		case errors.Is(err, supervisor.ErrStateConflict), errors.Is(err, processmanager.ErrRunning),
			errors.Is(err, processmanager.ErrAttached):
			status = http.StatusConflict
		}
		rest.WriteError(w, status, err.Error())
		return
	}
	p.Log.Infof("program %s: %s from the dashboard", name, action)
	st, _ := p.Supervisor.Program(name)
	rest.WriteJSON(w, http.StatusOK, st)
}

func (p *Plugin) controlProgram(name, action string) error {
	if c, ok := p.Supervisor.(ProgramController); ok {
		switch action {
		case ActionStart:
			return c.StartProgram(name)
		case ActionStop:
			return c.StopProgram(name)
		}
		return c.RestartProgram(name)
	}
	proc := p.Supervisor.GetProgramByName(name)
	if proc == nil {
		return fmt.Errorf("dashboard: program %s has no process", name)
	}
	switch action {
	case ActionStart:
		return proc.Start()
	case ActionStop:
		_, err := proc.StopAndWait()
		if errors.Is(err, processmanager.ErrNotStarted) {
			return nil
		}
		return err
	}
	return proc.Restart()
}
