// parbench's published site: what every page shares. The data are scripts (data/*.js) that
// call parbenchData(name, value): a page opened from file:// may load local scripts, not
// local JSON. No network, no server.
"use strict";

const PB = {data: {}, waiting: {}, errors: []};

// Called by each data file.
function parbenchData(name, value) {
  PB.data[name] = value;
  (PB.waiting[name] || []).forEach((f) => f(value));
  delete PB.waiting[name];
}

// Loads data/PATH.js once; resolves with the value it defines under NAME.
function loadData(name, path) {
  if (name in PB.data) return Promise.resolve(PB.data[name]);
  return new Promise((resolve, reject) => {
    (PB.waiting[name] = PB.waiting[name] || []).push(resolve);
    const s = document.createElement("script");
    s.src = path;
    s.onerror = () => reject(new Error("cannot load " + path));
    document.head.appendChild(s);
  });
}

window.addEventListener("error", (e) => pageError(e.message || String(e)));
window.addEventListener("unhandledrejection", (e) => pageError(String(e.reason)));

function pageError(text) {
  PB.errors.push(text);
  document.body.dataset.errors = PB.errors.join(" | ");
  const box = document.getElementById("errors") || document.body.appendChild(el("div", {id: "errors", class: "error"}));
  box.textContent = "Error: " + PB.errors.join("; ");
}

// --- the DOM ---------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "html") e.innerHTML = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function esc(text) {
  return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

// --- the URL: every view's state is in its hash, so a link reopens the same view ------------

function getState() {
  const out = {};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    if (!part) continue;
    const i = part.indexOf("=");
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    out[k] = i < 0 ? "1" : decodeURIComponent(part.slice(i + 1));
  }
  return out;
}

function setState(state) {
  const parts = Object.entries(state)
    .filter(([, v]) => v !== null && v !== undefined && v !== "" && v !== false)
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v === true ? "1" : v));
  history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  const link = document.getElementById("permalink");
  if (link) link.href = location.href;
}

// --- numbers ---------------------------------------------------------------------------------

function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  const a = Math.abs(s);
  const [v, u] = a >= 1 ? [s, "s"] : a >= 1e-3 ? [s * 1e3, "ms"] : a >= 1e-6 ? [s * 1e6, "µs"] : [s * 1e9, "ns"];
  return (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)) + " " + u;
}

// A value of a series: seconds (times, METG), × (speedup), a fraction (efficiency).
function fmtValue(unit, v) {
  if (v === null || v === undefined) return "—";
  if (unit === "s") return fmtSeconds(v);
  if (unit === "x") return v.toPrecision(3) + "×";
  return v.toPrecision(3);
}

function fmtPct(v) {
  if (v === null || v === undefined) return "—";
  return (v > 0 ? "+" : v < 0 ? "−" : "±") + Math.abs(v).toFixed(1) + "%";
}

function fmtP(p) {
  return p === null || p === undefined ? "—" : p < 0.001 ? p.toExponential(1) : p.toPrecision(2);
}

function fmtTime(iso) {
  return iso ? iso.replace("T", " ").replace(/:\d\dZ$|Z$/, "") : "—";
}

// A machine fingerprint's field as text (caches, memory in units).
function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (n >= 10 || Number.isInteger(n) ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function fieldText(name, value) {
  if (value === null || value === undefined) return "not recorded";
  if (name === "caches" && Array.isArray(value)) {
    return value.map(([level, type, size, sharing]) => `L${level}${type === "Data" ? "d" : type === "Instruction" ? "i" : ""} ${fmtBytes(size)}` + (sharing > 1 ? ` (shared by ${sharing})` : "")).join(", ");
  }
  if (name === "memory_bytes") return fmtBytes(value);
  return String(value);
}

// --- the site's shared data ------------------------------------------------------------------

function site() { return PB.data.site; }

let runIndex = null;
function runById(id) {
  if (!runIndex) {
    runIndex = new Map();
    site().runs.forEach((r, i) => { r.pos = i; runIndex.set(r.id, r); });
  }
  return runIndex.get(id);
}

let seriesIndex = null;
function seriesById(id) {
  if (!seriesIndex) seriesIndex = new Map(site().series.map((s) => [s.id, s]));
  return seriesIndex.get(id);
}

// The series of a benchmark (or executor series) on a machine, build and branch.
let seriesKeys = null;
function seriesOf(machine, build, branch, name, metric) {
  if (!seriesKeys) {
    seriesKeys = new Map(site().series.map((s) => [[s.machine, s.build, s.branch, s.name, s.metric].join("\u0001"), s]));
  }
  return seriesKeys.get([machine, build, branch, name, metric].join("\u0001"));
}

function hostOf(machine) {
  const hosts = new Set(site().runs.filter((r) => r.machine === machine && r.host).map((r) => r.host));
  return [...hosts].join(", ") || "unknown host";
}

function machineLabel(machine, build) {
  return hostOf(machine) + " · machine " + machine.slice(0, 8) + (build ? " · build " + build.slice(0, 8) : "");
}

function runLabel(r) {
  return "run " + r.id + " · " + r.label + " · " + (r.host || "?") + " · " + fmtTime(r.commit_time || r.start_time);
}

// --- the page frame --------------------------------------------------------------------------

const PAGES = [
  ["index.html", "Overview"], ["trend.html", "Trend"], ["regressions.html", "Regressions"],
  ["executors.html", "Executors"], ["machines.html", "Machines"], ["compare.html", "Compare"],
  ["run.html", "Run"],
];

function frame(title) {
  const here = location.pathname.split("/").pop() || "index.html";
  const s = site();
  const nav = el("nav", {}, el("strong", {}, s.title), ...PAGES.map(([href, name]) =>
    el("a", {href, class: href === here ? "here" : null}, name)));
  const head = el("header", {}, nav, el("div", {class: "meta"},
    `${s.runs.length} runs · ${s.series.length} series · store ${s.db} · published ${fmtTime(s.generated)}` +
    (s.pin ? ` · pinned ${s.pin.slice(0, 12)}` : ""),
    " · ", el("a", {id: "permalink", href: location.href}, "link to this view")));
  document.body.prepend(head);
  document.title = title + " · " + s.title;
  const main = document.getElementById("main");
  main.prepend(el("h1", {}, title));
  return main;
}

function done() { document.body.dataset.ready = "1"; }

function start(title, render) {
  window.addEventListener("DOMContentLoaded", () => {
    try {
      const main = frame(title);
      Promise.resolve(render(main)).then(done, (e) => { pageError(String(e)); done(); });
    } catch (e) {
      pageError(String(e && e.stack || e));
      done();
    }
  });
}

// --- data files written compactly (publish_data.py): unpacked once, into seconds -------------

// A series: points [run, value, disturbed, low, high, coverage, [repetitions]] in seconds.
async function loadSeries(id) {
  const s = await loadData("series:" + id, "data/series/" + id + ".js");
  if (!s.$unpacked) {
    const k = s.scale || 1;
    s.points = s.points.map(([run, v, d, lo, hi, cov, reps]) => [run, v === null ? null : v * k, d,
      lo === undefined || lo === null ? null : lo * k, hi === undefined || hi === null ? null : hi * k,
      cov === undefined ? null : cov, (reps || []).map((x) => x * k)]);
    s.$unpacked = true;
  }
  return s;
}

// A run: its benchmarks as objects (columns), times in seconds.
async function loadRun(id) {
  const r = await loadData("run:" + id, "data/runs/" + id + ".js");
  if (!r.$unpacked) {
    const k = r.scale || 1, times = (x) => x === null ? null : x * k;
    r.benchmarks = r.benchmarks.map((row) => {
      const b = Object.fromEntries(r.columns.map((c, i) => [c, row[i] === undefined ? null : row[i]]));
      b.median = times(b.median);
      b.reps = b.reps.map(times);
      if (b.ci) b.ci = [times(b.ci[0]), times(b.ci[1]), b.ci[2]];
      if (b.ci_change) b.ci_change = [times(b.ci_change[0]), times(b.ci_change[1]), b.ci_change[2]];
      b.disturbed = !!b.disturbed;
      return b;
    });
    r.$unpacked = true;
  }
  return r;
}
