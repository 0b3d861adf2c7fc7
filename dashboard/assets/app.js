// The dashboard page: plain JavaScript, no build step, nothing loaded from
// elsewhere. Every panel reads the agent's REST API; the agent panel is live
// from the GET /events stream.
"use strict";

const STATES = ["INIT", "OK", "ERROR"]; // model.OperationalState
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);

let panels = null;
let agentStart = 0;        // Unix seconds
let lastStates = new Map(); // plugin name -> state, to announce changes
let programNames = new Set();

async function api(method, path) {
  const resp = await fetch(path, { method, headers: { Accept: "application/json" }, cache: "no-store" });
  let body = null;
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    throw new Error((body && body.error) || `${method} ${path}: ${resp.status} ${resp.statusText}`);
  }
  return body;
}

function announce(text) {
  const el = $("announce");
  el.textContent = "";
  // A new text node is announced even when the text repeats.
  setTimeout(() => { el.textContent = text; }, 50);
}

function message(id, text, isError) {
  const el = $(id);
  el.textContent = text || "";
  el.classList.toggle("error", !!isError);
}

function fmtTime(unix) {
  if (!unix) return "–";
  const d = new Date(unix * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtDuration(sec) {
  if (!(sec > 0)) return "–";
  sec = Math.floor(sec);
  const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24, m = Math.floor(sec / 60) % 60, s = sec % 60;
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m ${s}s`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function setText(el, text, title) {
  if (el.textContent !== text) el.textContent = text;
  if (title !== undefined && el.title !== title) el.title = title;
}

function setBadge(el, state) {
  let b = el.firstElementChild;
  if (!b) { b = document.createElement("span"); b.className = "badge"; el.appendChild(b); }
  if (b.dataset.state !== state) b.dataset.state = state;
  setText(b, state || "–");
}

// syncRows makes the rows of tbody match items, keyed by name, updating
// cells in place so that nothing moves that did not change.
function syncRows(tbody, items, fields, update) {
  const seen = new Set();
  const rows = new Map([...tbody.rows].map((r) => [r.dataset.name, r]));
  const heads = [...tbody.closest("table").tHead.rows[0].cells].map((c) => c.textContent);
  let prev = null;
  for (const item of items) {
    seen.add(item.name);
    let row = rows.get(item.name);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.name = item.name;
      fields.forEach((f, i) => {
        const td = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) td.scope = "row";
        td.dataset.field = f;
        td.dataset.label = heads[i];
        row.appendChild(td);
      });
    }
    const at = prev ? prev.nextSibling : tbody.firstChild;
    if (at !== row) tbody.insertBefore(row, at);
    const cells = {};
    for (const c of row.cells) cells[c.dataset.field] = c;
    update(cells, item, row);
    prev = row;
  }
  for (const [name, row] of rows) if (!seen.has(name)) row.remove();
  const empty = tbody.closest("section").querySelector(".empty");
  if (empty) empty.hidden = items.length > 0;
}

// ---- agent panel -----------------------------------------------------------

function renderStatus(st) {
  if (st.start_time) agentStart = st.start_time;
  const state = STATES[st.state] || "INIT";
  setAgentBadge(state);
  const plugins = (st.plugins || []).map((p) => ({ ...p, stateName: STATES[p.state] || "INIT" }));
  syncRows($("plugins").tBodies[0], plugins, ["name", "state", "last_change", "error"], (c, p) => {
    setText(c.name, p.name, p.name);
    setBadge(c.state, p.stateName);
    setText(c.last_change, fmtTime(p.last_change));
    setText(c.error, p.error || "", p.error || "");
  });
  for (const p of plugins) {
    const before = lastStates.get(p.name);
    if (before && before !== p.stateName) {
      announce(`Plugin ${p.name} is now ${p.stateName}${p.error ? ": " + p.error : ""}`);
    }
    lastStates.set(p.name, p.stateName);
  }
  tickUptime();
}

function setAgentBadge(state) {
  const el = $("agent-state");
  el.dataset.state = state;
  setText(el, state);
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
  });
  es.onerror = () => {
    conn.dataset.conn = "reconnecting";
    setText(conn, "reconnecting");
  };
}

// ---- programs and processes ------------------------------------------------

function exitText(code, signal) {
  if (signal) return signal;
  if (code !== undefined && code !== null) return `exit ${code}`;
  return "–";
}

function renderProcs(tableId, msgId, items, act) {
  syncRows($(tableId).tBodies[0], items, ["name", "state", "pid", "restarts", "uptime", "exit", "actions"], (c, it) => {
    setText(c.name, it.name, it.title || it.name);
    setBadge(c.state, it.state);
    setText(c.pid, it.pid ? String(it.pid) : "–");
    setText(c.restarts, String(it.restarts));
    setText(c.uptime, fmtDuration(it.upSec));
    setText(c.exit, it.exit);
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
          name: p.name, title: [p.executable, ...(p.args || [])].join(" "),
          state: p.state, pid: p.pid, restarts: p.restarts, alive: p.state === "running",
          upSec: p.up_time_ns / 1e9, exit: exitText(p.last_exit_code, p.last_exit_signal),
        })), (n, a, b, m) => act(panels.program_actions || "/ui/api/programs", n, a, b, m));
      } catch (e) { message("programs-msg", e.message, true); }
    }
    if (panels.processes) {
      try {
        const list = (await api("GET", "/process/list")).filter((p) => !programNames.has(p.name));
        renderProcs("processes", "processes-msg", list.map((p) => {
          const x = p.last_exit;
          return {
            name: p.name, title: [p.command, ...(p.args || [])].join(" "),
            state: p.state, pid: p.pid, restarts: p.restarts, alive: p.alive,
            upSec: p.up_time_ns / 1e9,
            exit: x ? exitText(x.code >= 0 ? x.code : null, x.signal ? `signal ${x.signal}` : "") : "–",
          };
        }), (n, a, b, m) => act("/process", n, a, b, m));
      } catch (e) { message("processes-msg", e.message, true); }
    }
  } finally {
    procsBusy = false;
  }
}

// ---- loggers ---------------------------------------------------------------

const LEVELS = ["debug", "info", "warning", "error", "fatal", "panic"];

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
    setText(c.published, fmtTime(k.published));
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
  tickUptime();
  setInterval(tickUptime, 1000);

  if (panels.status) {
    connect();
  } else {
    setAgentBadge("–");
    setText($("conn"), "no status check");
  }
  if (panels.loggers) { refreshLoggers(); setInterval(refreshLoggers, 10 * POLL_MS); }
  if (panels.programs || panels.processes) { refreshProcs(); setInterval(refreshProcs, POLL_MS); }
  if (panels.status_keys) { refreshKeys(); setInterval(refreshKeys, POLL_MS); }
}

main();
