// The fleet page: every agent that publishes its status under /vnf-agent/,
// from GET /ui/api/fleet, which the dashboard keeps from one watch of the
// key-value store. Helpers are in common.js.
"use strict";

const FLEET_POLL_MS = 2000;

let fleet = null;          // the last answer
let lastBody = "";         // its text: an unchanged fleet is not drawn again
let stateFilter = "";
const lastAgentStates = new Map(); // label -> state, to announce changes

function matches(a, q) {
  if (stateFilter && a.state !== stateFilter) return false;
  if (!q) return true;
  const hay = [a.label, a.version, a.state, a.problem,
    ...(a.errors || []).flatMap((e) => [e.plugin, e.error])].filter(Boolean).join("\n").toLowerCase();
  return hay.includes(q);
}

function render() {
  if (!fleet) return;
  const c = fleet.counts;
  setText($("count-all"), String(fleet.agents.length));
  setText($("count-ok"), String(c.ok));
  setText($("count-error"), String(c.error));
  setText($("count-init"), String(c.init));
  setText($("count-gone"), String(c.gone));
  setText($("fleet-prefix"), fleet.prefix);
  const q = $("fleet-filter").value.trim().toLowerCase();
  const shown = fleet.agents.filter((a) => matches(a, q)).map((a) => ({ ...a, name: a.label }));
  syncRows($("fleet").tBodies[0], shown, ["name", "state", "version", "last_change", "errors"], (cells, a, row) => {
    setText(cells.name, a.label, a.label);
    setBadge(cells.state, a.state);
    setText(cells.version, a.version || "–", a.version || "");
    row.classList.toggle("gone", a.state === "gone");
    if (!cells.last_change.firstChild) {
      const what = document.createElement("span");
      what.className = "what";
      const when = document.createElement("span");
      cells.last_change.append(what, when);
    }
    const gone = a.state === "gone";
    setText(cells.last_change.firstChild, gone ? "gone " : "");
    setTime(cells.last_change.lastChild, gone ? a.gone : a.last_change);
    const lines = a.problem ? [a.problem] : (a.errors || []).map((e) => `${e.plugin}: ${e.error || "ERROR"}`);
    const text = lines.join("\n");
    if (cells.errors.dataset.text !== text) {
      cells.errors.dataset.text = text;
      cells.errors.replaceChildren(...lines.map((l, i) => {
        const span = document.createElement("span");
        span.className = "plugin-error";
        span.textContent = l;
        if (a.errors && a.errors[i]) span.dataset.plugin = a.errors[i].plugin;
        return span;
      }));
    }
  });
  // The empty message is for an empty fleet; a filter that hides every
  // agent says so instead.
  $("fleet-nomatch").hidden = shown.length > 0 || fleet.agents.length === 0;
  document.querySelector("#panel-fleet .empty").hidden = fleet.agents.length > 0;
}

function announceChanges() {
  for (const a of fleet.agents) {
    const before = lastAgentStates.get(a.label);
    if (before && before !== a.state && (a.state === "gone" || a.state === "ERROR")) {
      announce(`Agent ${a.label} is now ${a.state}`);
    }
    lastAgentStates.set(a.label, a.state);
  }
}

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  const conn = $("conn");
  try {
    // no-cache: the browser revalidates with the ETag, and an unchanged
    // fleet costs a 304 without a body.
    const resp = await fetch("/ui/api/fleet", { headers: { Accept: "application/json" }, cache: "no-cache" });
    const text = await resp.text();
    if (!resp.ok) {
      let msg = `${resp.status} ${resp.statusText}`;
      try { msg = JSON.parse(text).error || msg; } catch (_) { /* not JSON */ }
      message("fleet-msg", msg, true);
      conn.dataset.conn = "reconnecting";
      setText(conn, "not available");
      return;
    }
    conn.dataset.conn = "live";
    setText(conn, "live");
    setTime($("fleet-updated"), Math.floor(Date.now() / 1000));
    if (text === lastBody) return;
    lastBody = text;
    fleet = JSON.parse(text);
    message("fleet-msg", fleet.synced ? "" : "waiting for the key-value store…");
    announceChanges();
    render();
  } catch (e) {
    conn.dataset.conn = "reconnecting";
    setText(conn, "reconnecting");
    message("fleet-msg", e.message, true);
  } finally {
    busy = false;
  }
}

function main() {
  for (const b of document.querySelectorAll(".counts button")) {
    b.addEventListener("click", () => {
      stateFilter = b.dataset.filter;
      for (const o of document.querySelectorAll(".counts button")) o.setAttribute("aria-pressed", String(o === b));
      render();
    });
  }
  $("fleet-filter").addEventListener("input", render);
  refresh();
  setInterval(refresh, FLEET_POLL_MS);
  setInterval(tickTimes, 1000);
}

main();
