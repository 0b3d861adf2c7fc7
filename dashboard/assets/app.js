// The dashboard page: plain JavaScript, no build step, nothing loaded from
// elsewhere. Every panel reads the agent's REST API; the agent panel is live
// from the GET /events stream. Helpers are in common.js.
"use strict";

const POLL_MS = 2000;

let panels = null;
let agentStart = 0;        // Unix seconds
let lastStates = new Map(); // plugin name -> state, to announce changes
let lastStatus = null;      // the last agent status of GET /events
let programNames = new Set();

// ---- agent panel -----------------------------------------------------------

function renderStatus(st) {
  lastStatus = st;
  if (st.start_time) agentStart = st.start_time;
  const state = STATES[st.state] || "INIT";
  setAgentBadge(state);
  if (st.build_version && $("agent-version").textContent === "–") {
    setText($("agent-version"), st.build_version, [st.build_date, st.commit_hash].filter(Boolean).join(" "));
  }
  const plugins = (st.plugins || []).map((p) => ({ ...p, stateName: STATES[p.state] || "INIT" }));
  syncRows($("plugins").tBodies[0], plugins, ["name", "state", "last_change", "error"], (c, p) => {
    setText(c.name, p.name, p.name);
    setBadge(c.state, p.stateName);
    setTime(c.last_change, p.last_change);
    setText(c.error, p.error || "", p.error || "");
  });
  for (const p of plugins) {
    const before = lastStates.get(p.name);
    if (before && before !== p.stateName) {
      announce(`Plugin ${p.name} is now ${p.stateName}${p.error ? ": " + p.error : ""}`);
    }
    lastStates.set(p.name, p.stateName);
  }
  setTime($("agent-started"), agentStart);
  tickUptime();
}

function pluginStatus(name) {
  return ((lastStatus && lastStatus.plugins) || []).find((p) => p.name === name);
}

function setAgentBadge(state) {
  setStateBadge($("agent-state"), state);
}

function tickUptime() {
  setText($("agent-uptime"), agentStart ? fmtDuration(Date.now() / 1000 - agentStart) : "–");
}

function connect() {
  const conn = $("conn");
  const es = new EventSource("/events");
  es.addEventListener("status", (ev) => {
    renderStatus(JSON.parse(ev.data));
    conn.dataset.conn = "live";
    setText(conn, "live");
    // Programs report their state to the status check: refresh them now
    // rather than at the next poll.
    refreshProcs();
    refreshConnections();
  });
  es.onerror = () => {
    conn.dataset.conn = "reconnecting";
    setText(conn, "reconnecting");
  };
}

// ---- etcd, Kafka, route cache ----------------------------------------------

function lastErrorText(c) {
  return c.last_error ? `${c.last_error} — ${fmtWhen(c.last_error_at)}` : "none seen";
}

function connBadge(el, c) {
  if (c.disabled) setStateBadge(el, "disabled");
  else setStateBadge(el, c.connected ? "connected" : "disconnected");
}

async function refreshEtcd() {
  let c;
  try { c = await api("GET", "/ui/api/etcd"); } catch (e) { message("etcd-msg", e.message, true); return; }
  message("etcd-msg", c.disabled ? "No endpoints configured: the agent runs without etcd." : "");
  connBadge($("etcd-conn"), c);
  setText($("etcd-endpoints"), (c.endpoints || []).join(", ") || "–");
  setText($("etcd-state"), c.state ? (c.error ? `${c.state}: ${c.error}` : c.state) : "–");
  setTime($("etcd-since"), c.since);
  setText($("etcd-last-error"), lastErrorText(c));
}

async function refreshKafka() {
  let c;
  try { c = await api("GET", "/ui/api/kafka"); } catch (e) { message("kafka-msg", e.message, true); return; }
  message("kafka-msg", c.disabled ? "Disabled: no kafka.conf (-kafka-config or KAFKA_CONFIG)." : (c.error || ""), !c.disabled && !!c.error);
  connBadge($("kafka-conn"), c);
  setText($("kafka-group"), c.group || "–");
  const topics = Object.keys(c.assignment || {}).sort();
  setText($("kafka-assignment"), topics.length ? topics.map((t) => `${t}: ${c.assignment[t].join(",")}`).join("; ") : "none");
  setText($("kafka-last-error"), lastErrorText(c));
}

let trafficTimer = 0;
async function refreshTraffic() {
  let t;
  try { t = await api("GET", panels.kafka_traffic); } catch (e) {
    $("kafka-traffic").hidden = true;
    // The traffic plugin serves nothing while it is not configured, which
    // lasts until the agent restarts.
    if (e.status === 404) clearInterval(trafficTimer);
    return;
  }
  $("kafka-traffic").hidden = false;
  setText($("traffic-topic"), t.topic || "–");
  setText($("traffic-published"), `${t.published} (${t.acknowledged} acknowledged)`);
  setText($("traffic-consumed"), String(t.consumed));
  setText($("traffic-failed"), `${t.failed}${t.refused ? `, ${t.refused} refused` : ""}`);
  const now = Date.now() / 1000;
  sample("kafka-published", now, t.published, true);
  sample("kafka-consumed", now, t.consumed, true);
}

async function refreshRoutes() {
  let r;
  try { r = await api("GET", panels.route_cache); } catch (e) {
    message("routes-msg", e.message, true);
    setStateBadge($("routes-sync"), "", "–");
    return;
  }
  if (!r || !Array.isArray(r.routes)) { $("panel-routes").hidden = true; return; }
  message("routes-msg", "");
  setStateBadge($("routes-sync"), r.synced ? "synced" : "syncing");
  const vrfs = new Set(r.routes.map((x) => x.vrf || ""));
  setText($("routes-count"), `${r.routes.length} in ${vrfs.size} VRF${vrfs.size === 1 ? "" : "s"}`);
  setText($("routes-prefix"), r.prefix || "–");
  setText($("routes-rev"), r.rev ? String(r.rev) : "–");
  setText($("routes-resyncs"), String(r.resyncs ?? "–"));
  setText($("routes-skipped"), String(r.skipped ?? "–"));
  const ps = pluginStatus("routes");
  setText($("routes-state"), ps ? `${STATES[ps.state] || "INIT"}${ps.error ? ": " + ps.error : ""}` : "–");
}

let connBusy = false;
async function refreshConnections() {
  if (connBusy || !panels) return;
  connBusy = true;
  try {
    const all = [];
    if (panels.etcd) all.push(refreshEtcd());
    if (panels.kafka) all.push(refreshKafka());
    if (panels.route_cache) all.push(refreshRoutes());
    await Promise.all(all);
  } finally {
    connBusy = false;
  }
}

// ---- charts ----------------------------------------------------------------

const HISTORY = 150; // samples kept: 5 minutes at one every 2s

const fmtInt = (v) => String(Math.round(v));
function fmtBytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i && v < 10 ? 1 : 0)} ${units[i]}`;
}

// CHARTS are drawn from the Prometheus metrics when the agent exports them.
// A rate chart shows the change of a counter per second, times scale.
const CHARTS = [
  { id: "cpu", title: "CPU", metric: "process_cpu_seconds_total", rate: true, scale: 100, fmt: (v) => `${v.toFixed(1)} % of a core` },
  { id: "rss", title: "Resident memory", metric: "process_resident_memory_bytes", fmt: fmtBytes },
  { id: "heap", title: "Go heap", metric: "go_memstats_heap_alloc_bytes", fmt: fmtBytes },
  { id: "goroutines", title: "Goroutines", metric: "go_goroutines", fmt: fmtInt },
  { id: "fds", title: "Open files", metric: "process_open_fds", fmt: fmtInt },
  { id: "status-writes", title: "Status key writes", metric: "plinth_statuscheck_publishes_total", rate: true, scale: 60, fmt: (v) => `${v.toFixed(1)} / min` },
];
const KAFKA_CHARTS = [
  { id: "kafka-published", title: "Published", fmt: (v) => `${v.toFixed(1)} / s` },
  { id: "kafka-consumed", title: "Consumed", fmt: (v) => `${v.toFixed(1)} / s` },
];

const series = new Map(); // chart id -> {def, points: [v], last: {t, v}, el}

// parseMetrics parses the Prometheus text format into a Map from metric
// name to its samples, [{labels, value}]. Comments and malformed lines are
// skipped.
function parseMetrics(text) {
  const out = new Map();
  const special = { "+Inf": Infinity, "-Inf": -Infinity, "NaN": NaN };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line[0] === "#") continue;
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!m) continue;
    const name = m[0];
    let i = name.length;
    const labels = {};
    let ok = true;
    if (line[i] === "{") {
      i++;
      for (;;) {
        while (line[i] === " " || line[i] === ",") i++;
        if (i >= line.length) { ok = false; break; }
        if (line[i] === "}") { i++; break; }
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
        if (!lm) { ok = false; break; }
        i += lm[0].length;
        let v = "";
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\" && i + 1 < line.length) {
            const n = line[i + 1];
            v += n === "n" ? "\n" : n;
            i += 2;
          } else {
            v += line[i++];
          }
        }
        if (line[i] !== '"') { ok = false; break; }
        i++;
        labels[lm[1]] = v;
      }
    }
    if (!ok) continue;
    const fields = line.slice(i).trim().split(/\s+/);
    if (!fields[0]) continue;
    const value = fields[0] in special ? special[fields[0]] : Number(fields[0]);
    if (Number.isNaN(value) && fields[0] !== "NaN") continue;
    if (!out.has(name)) out.set(name, []);
    out.get(name).push({ labels, value });
  }
  return out;
}

// metricValue sums the samples of a metric over its label sets.
function metricValue(metrics, name) {
  const s = metrics.get(name);
  if (!s) return undefined;
  return s.reduce((sum, x) => sum + x.value, 0);
}

function chartFor(def, container) {
  let s = series.get(def.id);
  if (s) return s;
  const fig = document.createElement("figure");
  fig.className = "chart";
  fig.dataset.chart = def.id;
  const cap = document.createElement("figcaption");
  const title = document.createElement("span");
  title.textContent = def.title;
  const val = document.createElement("span");
  val.className = "val num";
  val.textContent = "–";
  cap.append(title, val);
  // The HTML parser puts <svg> and its children in the SVG namespace.
  const holder = document.createElement("div");
  holder.innerHTML = '<svg viewBox="0 0 300 60" preserveAspectRatio="none" role="img">' +
    '<polygon class="area"></polygon><polyline class="line"></polyline></svg>';
  const svg = holder.firstChild;
  svg.setAttribute("aria-label", `${def.title}, up to the last 5 minutes`);
  const area = svg.firstChild, line = svg.lastChild;
  fig.append(cap, svg);
  container.appendChild(fig);
  s = { def, points: [], last: null, fig, val, svg, line, area };
  series.set(def.id, s);
  return s;
}

// sample adds a value at time t (seconds) to the chart id; for a rate
// chart, v is the counter and the chart gets its change per second.
function sample(id, t, v, rate) {
  const s = series.get(id);
  if (!s || v === undefined) return;
  let point = v;
  if (rate) {
    const last = s.last;
    s.last = { t, v };
    if (!last || t <= last.t || v < last.v) return; // first sample, or the counter restarted
    point = (v - last.v) / (t - last.t);
  }
  point *= s.def.scale || 1;
  s.points.push(point);
  if (s.points.length > HISTORY) s.points.shift();
  draw(s);
}

function draw(s) {
  const W = 300, H = 60, pad = 2;
  const pts = s.points;
  const max = Math.max(...pts, 0) || 1;
  // The samples fill the width: a page open for a minute shows that
  // minute, and from five on the last five.
  const step = W / Math.max(pts.length - 1, 1);
  const xy = pts.map((v, i) => {
    const x = W - (pts.length - 1 - i) * step;
    const y = H - pad - (v / max) * (H - 2 * pad);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  s.line.setAttribute("points", xy.join(" "));
  if (xy.length) {
    const x0 = xy[0].split(",")[0];
    s.area.setAttribute("points", `${x0},${H} ${xy.join(" ")} ${W},${H}`);
  }
  s.fig.dataset.points = String(pts.length);
  const now = pts[pts.length - 1];
  setText(s.val, s.def.fmt(now));
  s.svg.setAttribute("aria-label", `${s.def.title}, up to the last 5 minutes: now ${s.def.fmt(now)}, at most ${s.def.fmt(max)}`);
}

let metricsBusy = false;
async function refreshMetrics() {
  if (metricsBusy) return;
  metricsBusy = true;
  try {
    const resp = await fetch(panels.metrics, { headers: { Accept: "text/plain" }, cache: "no-store" });
    if (!resp.ok) {
      message("metrics-msg", `GET ${panels.metrics}: ${resp.status} ${resp.statusText}`, true);
      return;
    }
    const metrics = parseMetrics(await resp.text());
    const t = Date.now() / 1000;
    message("metrics-msg", "");
    for (const def of CHARTS) {
      const v = metricValue(metrics, def.metric);
      if (v === undefined) continue;
      chartFor(def, $("charts"));
      sample(def.id, t, v, def.rate);
    }
  } catch (e) {
    message("metrics-msg", e.message, true);
  } finally {
    metricsBusy = false;
  }
}

// ---- programs and processes ------------------------------------------------

function exitText(code, signal) {
  if (signal) return signal;
  if (code !== undefined && code !== null) return `exit ${code}`;
  return "–";
}

// restartsText shows restarts done of the limit: "3 of 4", "3 of ∞".
function restartsText(restarts, limit) {
  const of = limit === undefined || limit === null ? "" : ` of ${limit < 0 ? "∞" : limit}`;
  return `${restarts ?? 0}${of}`;
}

// commandLine quotes the arguments that need it, as a shell would read them.
function commandLine(exe, args) {
  const q = (a) => (a === "" || /[\s'"\\$`|&;<>(){}*?#~]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a);
  return [exe, ...(args || [])].filter((a) => a !== undefined).map(q).join(" ");
}

// renderProcs shows items in the table tableId, with start, stop and
// restart buttons that call act and, when openLog is given, a log button
// that calls it.
function renderProcs(tableId, msgId, items, act, openLog) {
  syncRows($(tableId).tBodies[0], items, ["name", "state", "pid", "restarts", "uptime", "exit", "error", "actions"], (c, it) => {
    if (!c.name.firstChild) {
      const n = document.createElement("span");
      n.className = "pname";
      const cmd = document.createElement("code");
      cmd.className = "cmdline";
      c.name.append(n, cmd);
    }
    setText(c.name.firstChild, it.name);
    setText(c.name.lastChild, it.cmd, it.cmd);
    setBadge(c.state, it.state);
    setText(c.pid, it.pid ? String(it.pid) : "–");
    setText(c.restarts, restartsText(it.restarts, it.limit), it.limitTitle);
    setText(c.uptime, fmtDuration(it.upSec));
    setText(c.exit, it.exit);
    if (!c.error.firstChild) {
      const last = document.createElement("span");
      last.className = "last-error";
      const aff = document.createElement("span");
      aff.className = "affinity-error";
      c.error.append(last, aff);
    }
    setText(c.error.firstChild, it.error || "", it.error || "");
    const aff = c.error.lastChild;
    aff.hidden = !it.affinityError;
    setText(aff, it.affinityError ? `CPU affinity: ${it.affinityError}` : "", it.affinityError || "");
    c.error.classList.toggle("failing", !!(it.error || it.affinityError));
    if (!c.actions.firstChild) {
      const group = document.createElement("div");
      group.className = "actions";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", `Actions on ${it.name}`);
      c.actions.appendChild(group);
      for (const a of ["start", "stop", "restart"]) {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.action = a;
        b.textContent = a[0].toUpperCase() + a.slice(1);
        b.setAttribute("aria-label", `${b.textContent} ${it.name}`);
        b.addEventListener("click", () => act(it.name, a, b, msgId));
        group.appendChild(b);
      }
      if (openLog) {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.action = "log";
        b.textContent = "Log";
        b.setAttribute("aria-label", `Log of ${it.name}`);
        b.setAttribute("aria-controls", "log-view");
        b.addEventListener("click", () => openLog(it.name, b));
        group.appendChild(b);
      }
    }
    for (const b of c.actions.firstChild.children) {
      if (b.getAttribute("aria-busy") === "true") continue;
      b.disabled = (b.dataset.action === "start" && it.alive) || (b.dataset.action === "stop" && !it.alive);
    }
  });
}

async function act(base, name, action, button, msgId) {
  const buttons = [...button.parentElement.children];
  buttons.forEach((b) => { b.disabled = true; });
  button.setAttribute("aria-busy", "true");
  message(msgId, `${action} ${name}…`);
  try {
    await api("POST", `${base}/${encodeURIComponent(name)}/${action}`);
    message(msgId, `${name}: ${action} done`);
    announce(`${name}: ${action} done`);
  } catch (e) {
    message(msgId, `${name}: ${e.message}`, true);
    announce(`${name}: ${action} failed: ${e.message}`);
  } finally {
    button.removeAttribute("aria-busy");
    await refreshProcs();
  }
}

let procsBusy = false;
async function refreshProcs() {
  if (procsBusy || !panels) return;
  procsBusy = true;
  try {
    if (panels.programs) {
      try {
        const list = await api("GET", "/supervisor/programs");
        programNames = new Set(list.map((p) => p.name));
        renderProcs("programs", "programs-msg", list.map((p) => ({
          name: p.name, cmd: commandLine(p.executable, p.args),
          state: p.state, pid: p.pid, restarts: p.restarts, limit: p.restart_limit,
          limitTitle: "runs started after the first one, of the restarts setting, which bounds the automatic restarts in a row",
          alive: p.state === "running",
          upSec: p.up_time_ns / 1e9, exit: exitText(p.last_exit_code, p.last_exit_signal),
          error: p.last_error, affinityError: p.affinity_error,
        })), (n, a, b, m) => act(panels.program_actions || "/ui/api/programs", n, a, b, m),
        panels.program_log ? openLog : undefined);
      } catch (e) { message("programs-msg", e.message, true); }
    }
    if (panels.processes) {
      try {
        const list = (await api("GET", "/process/list")).filter((p) => !programNames.has(p.name));
        renderProcs("processes", "processes-msg", list.map((p) => {
          const x = p.last_exit;
          return {
            name: p.name, cmd: commandLine(p.command, p.args),
            state: p.state, pid: p.pid, restarts: p.restarts, limit: p.restart_limit,
            limitTitle: "automatic restarts since the last start, of the Restarts option",
            alive: p.alive,
            upSec: p.up_time_ns / 1e9,
            exit: x ? exitText(x.code >= 0 ? x.code : null, x.signal ? `signal ${x.signal}` : "") : "–",
            error: p.last_error, affinityError: p.affinity_error,
          };
        }), (n, a, b, m) => act("/process", n, a, b, m));
      } catch (e) { message("processes-msg", e.message, true); }
    }
  } finally {
    procsBusy = false;
  }
}

// ---- a program's log -------------------------------------------------------

const LOG_TAIL = 500;   // lines asked for when the view opens
const LOG_KEEP = 5000;  // lines kept in the view; older ones are dropped

// logView is the open log view: the program, the stream, its EventSource
// and the button that opened it; null when closed.
let logView = null;

function logURL(name, stream, follow) {
  const path = panels.program_log.replace("{name}", encodeURIComponent(name));
  return `${path}?tail=${LOG_TAIL}&stream=${stream}${follow ? "&follow=1" : ""}`;
}

function setLogState(state) {
  const el = $("log-state");
  if (el.dataset.conn !== state) el.dataset.conn = state;
  setText(el, state);
}

function openLog(name, opener) {
  const stream = logView && logView.name === name ? logView.stream : "stdout";
  $("log-view").hidden = false;
  setText($("log-name"), name);
  $(`log-stream-${stream}`).checked = true;
  followLog(name, stream, opener);
  $("log-lines").focus();
}

// followLog shows the stream of program name: the last lines, then each
// new one, from one EventSource on the follow URL. The browser reconnects
// after a network error, and the agent sends the last lines again: the
// view then starts over rather than repeating them.
function followLog(name, stream, opener) {
  stopLog();
  const pre = $("log-lines");
  pre.textContent = "";
  message("log-msg", "");
  setLogState("connecting");
  const es = new EventSource(logURL(name, stream, true));
  const view = { name, stream, es, opener, lines: 0 };
  logView = view;
  es.onopen = () => {
    if (logView !== view) return;
    pre.textContent = "";
    view.lines = 0;
    setLogState("following");
  };
  es.onmessage = (ev) => {
    if (logView !== view) return;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(ev.data + "\n");
    if (++view.lines > LOG_KEEP) {
      pre.firstChild.remove();
      view.lines--;
    }
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  es.onerror = () => {
    if (logView !== view) return;
    if (es.readyState !== EventSource.CLOSED) {
      setLogState("reconnecting");
      return;
    }
    // The agent refused the stream; EventSource does not say why, so ask
    // for the lines without following.
    setLogState("stopped");
    explainLog(view);
  };
}

async function explainLog(view) {
  let text;
  try {
    const resp = await fetch(logURL(view.name, view.stream, false), { cache: "no-store" });
    const body = await resp.text();
    let msg = body.trim();
    try { msg = JSON.parse(body).error || msg; } catch (_) { /* not JSON */ }
    if (resp.ok) text = "the log stream ended";
    else if (resp.status === 405 || (resp.status === 404 && msg === "404 page not found")) {
      text = "the agent's supervisor does not serve program logs";
    } else text = msg || `${resp.status} ${resp.statusText}`;
  } catch (e) {
    text = e.message;
  }
  if (logView === view) message("log-msg", `${view.name} (${view.stream}): ${text}`, true);
}

// stopLog closes the EventSource of the open view, if any.
function stopLog() {
  if (logView) logView.es.close();
  logView = null;
}

function closeLog() {
  const opener = logView && logView.opener;
  stopLog();
  $("log-view").hidden = true;
  setLogState("");
  if (opener && opener.isConnected) opener.focus();
}

// ---- supervisor reload -----------------------------------------------------

async function reloadSupervisor() {
  const b = $("reload");
  b.disabled = true;
  b.setAttribute("aria-busy", "true");
  $("reload-box").hidden = false;
  $("reload-result").hidden = true;
  message("reload-msg", "reloading supervisor.conf…");
  try {
    const r = await api("POST", panels.supervisor_reload);
    for (const k of ["added", "removed", "changed", "unchanged"]) {
      setText($(`reload-${k}`), (r[k] || []).join(", ") || "–");
    }
    $("reload-result").hidden = false;
    const n = (k) => (r[k] || []).length;
    const summary = `supervisor.conf reloaded: ${n("added")} added, ${n("removed")} removed, ${n("changed")} changed, ${n("unchanged")} unchanged`;
    message("reload-msg", summary);
    announce(summary);
  } catch (e) {
    const text = e.status === 400 ? `Reload refused, nothing changed: ${e.message}` : `Reload failed: ${e.message}`;
    message("reload-msg", text, true);
    announce(text);
  } finally {
    b.disabled = false;
    b.removeAttribute("aria-busy");
    await refreshProcs();
  }
}

// ---- loggers ---------------------------------------------------------------

const LEVELS = ["trace", "debug", "info", "warning", "error", "fatal", "panic"];

function filterLoggers() {
  const q = $("loggers-search").value.trim().toLowerCase();
  let shown = 0;
  const rows = $("loggers").tBodies[0].rows;
  for (const row of rows) {
    const match = !q || row.dataset.name.toLowerCase().includes(q);
    if (row.hidden === match) row.hidden = !match;
    if (match) shown++;
  }
  $("loggers-nomatch").hidden = shown > 0 || rows.length === 0;
}

async function refreshLoggers() {
  let list;
  try { list = await api("GET", "/log/list"); } catch (e) { message("loggers-msg", e.message, true); return; }
  syncRows($("loggers").tBodies[0], list.map((l) => ({ name: l.logger, level: l.level })), ["name", "level"], (c, l) => {
    setText(c.name, l.name, l.name);
    let sel = c.level.firstChild;
    if (!sel) {
      sel = document.createElement("select");
      sel.setAttribute("aria-label", `Level of logger ${l.name}`);
      for (const lv of LEVELS) sel.add(new Option(lv, lv));
      sel.addEventListener("change", () => setLevel(l.name, sel));
      c.level.appendChild(sel);
    }
    // Do not fight the operator: a select being used keeps its value.
    if (document.activeElement !== sel && sel.value !== l.level) {
      if (![...sel.options].some((o) => o.value === l.level)) sel.add(new Option(l.level, l.level));
      sel.value = l.level;
    }
    sel.dataset.level = l.level;
  });
  filterLoggers();
}

async function setLevel(name, sel) {
  const level = sel.value;
  sel.disabled = true;
  try {
    const r = await api("POST", `/log/${encodeURIComponent(name)}/${encodeURIComponent(level)}`);
    sel.dataset.level = r.level;
    message("loggers-msg", `${name}: level ${r.level}`);
    announce(`Logger ${name} set to ${r.level}`);
  } catch (e) {
    sel.value = sel.dataset.level || sel.value;
    message("loggers-msg", `${name}: ${e.message}`, true);
  } finally {
    sel.disabled = false;
  }
}

// ---- status keys -----------------------------------------------------------

async function refreshKeys() {
  let r;
  try { r = await api("GET", "/ui/api/status-keys"); } catch (e) { message("keys-msg", e.message, true); return; }
  setText($("keys-prefix"), r.prefix);
  message("keys-msg", r.synced ? "" : "waiting for the key-value store…");
  syncRows($("keys").tBodies[0], r.keys.map((k) => ({ ...k, name: k.key })), ["name", "state", "published"], (c, k) => {
    setText(c.name, k.key, `${r.prefix}${k.key} (rev ${k.rev})`);
    const st = k.value && typeof k.value === "object" ? STATES[k.value.state] : undefined;
    setBadge(c.state, st || "–");
    setTime(c.published, k.published);
  });
}

// ---- start -----------------------------------------------------------------

async function main() {
  try {
    panels = await api("GET", "/ui/api/panels");
  } catch (e) {
    setText($("conn"), e.message);
    return;
  }
  const a = panels.agent;
  const name = a.name || "Plinth agent";
  setText($("agent-name"), name);
  document.title = `${name} · Plinth`;
  setText($("agent-label"), a.label || "–");
  setText($("agent-version"), a.version || "–", [a.build_date, a.commit].filter(Boolean).join(" "));
  agentStart = a.start_time;
  $("panel-plugins").hidden = !panels.status;
  $("panel-programs").hidden = !panels.programs;
  $("panel-processes").hidden = !panels.processes;
  $("panel-loggers").hidden = !panels.loggers;
  $("panel-keys").hidden = !panels.status_keys;
  $("panel-etcd").hidden = !panels.etcd;
  $("panel-kafka").hidden = !panels.kafka;
  $("panel-routes").hidden = !panels.route_cache;
  $("panel-metrics").hidden = !panels.metrics;
  $("fleet-link").hidden = !panels.fleet;
  setTime($("agent-started"), agentStart);
  tickUptime();
  setInterval(() => { tickUptime(); tickTimes(); }, 1000);

  if (panels.status) {
    connect();
  } else {
    setAgentBadge("–");
    setText($("conn"), "no status check");
  }
  if (panels.loggers) {
    $("loggers-search").addEventListener("input", filterLoggers);
    refreshLoggers();
    setInterval(refreshLoggers, 10 * POLL_MS);
  }
  if (panels.programs || panels.processes) { refreshProcs(); setInterval(refreshProcs, POLL_MS); }
  if (panels.program_log) {
    $("log-close").addEventListener("click", closeLog);
    for (const r of document.querySelectorAll('input[name="log-stream"]')) {
      r.addEventListener("change", () => { if (r.checked && logView) followLog(logView.name, r.value, logView.opener); });
    }
  }
  if (panels.supervisor_reload) {
    $("reload-tools").hidden = false;
    $("reload").addEventListener("click", reloadSupervisor);
  }
  if (panels.status_keys) { refreshKeys(); setInterval(refreshKeys, POLL_MS); }
  if (panels.etcd || panels.kafka || panels.route_cache) { refreshConnections(); setInterval(refreshConnections, POLL_MS); }
  if (panels.metrics) {
    $("metrics-path").textContent = panels.metrics;
    refreshMetrics();
    setInterval(refreshMetrics, POLL_MS);
  }
  if (panels.kafka_traffic && panels.kafka) {
    for (const def of KAFKA_CHARTS) chartFor(def, $("kafka-charts"));
    trafficTimer = setInterval(refreshTraffic, POLL_MS);
    refreshTraffic();
  }
}

main();
