// Helpers shared by the agent page (app.js) and the fleet page (fleet.js):
// requests, times, and tables updated in place.
"use strict";

const STATES = ["INIT", "OK", "ERROR"]; // model.OperationalState
const $ = (id) => document.getElementById(id);

async function api(method, path) {
  const resp = await fetch(path, { method, headers: { Accept: "application/json" }, cache: "no-store" });
  let body = null;
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error((body && body.error) || `${method} ${path}: ${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    throw err;
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
  if (el.textContent !== (text || "")) el.textContent = text || "";
  el.classList.toggle("error", !!isError);
}

// ---- times -----------------------------------------------------------------

// The browser's time zone, named as the operator's locale abbreviates it
// ("UTC", "CET", "GMT+2").
const timeParts = new Intl.DateTimeFormat("en-GB", {
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  timeZoneName: "short",
});

// fmtTime formats Unix seconds as "2026-12-06 07:10:03 UTC".
function fmtTime(unix) {
  if (!unix) return "–";
  const v = {};
  for (const p of timeParts.formatToParts(new Date(unix * 1000))) v[p.type] = p.value;
  return `${v.year}-${v.month}-${v.day} ${v.hour}:${v.minute}:${v.second} ${v.timeZoneName}`;
}

function fmtSpan(sec) {
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h`;
  return `${Math.floor(sec / 86400)} d`;
}

// fmtAgo says how long ago Unix seconds were: "3 min ago". A time ahead of
// the browser's clock (the agent's clock is ahead) says so.
function fmtAgo(unix) {
  const sec = Math.round(Date.now() / 1000 - unix);
  if (Math.abs(sec) < 5) return "just now";
  return sec > 0 ? `${fmtSpan(sec)} ago` : `in ${fmtSpan(-sec)}`;
}

// fmtWhen is fmtTime with fmtAgo: "2026-12-06 07:10:03 UTC (3 min ago)".
function fmtWhen(unix) {
  return unix ? `${fmtTime(unix)} (${fmtAgo(unix)})` : "–";
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

// setTime shows Unix seconds in el with fmtWhen; tickTimes keeps the "ago"
// current.
function setTime(el, unix) {
  const v = unix ? String(unix) : "";
  if (el.dataset.unix !== v) el.dataset.unix = v;
  setText(el, fmtWhen(unix));
}

function tickTimes() {
  for (const el of document.querySelectorAll("[data-unix]")) {
    const unix = Number(el.dataset.unix);
    setText(el, unix ? fmtWhen(unix) : "–");
  }
}

function setBadge(el, state) {
  let b = el.firstElementChild;
  if (!b) { b = document.createElement("span"); b.className = "badge"; el.appendChild(b); }
  if (b.dataset.state !== state) b.dataset.state = state;
  setText(b, state || "–");
}

// setStateBadge sets a badge element itself.
function setStateBadge(el, state, text) {
  if (el.dataset.state !== state) el.dataset.state = state;
  setText(el, text || state || "–");
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
