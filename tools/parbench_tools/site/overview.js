// Every series: its latest clean value, the change against its baseline (the clean runs before
// it since its last change point) and against the pinned revision, a sparkline, a status.
// Regressions first; "changed only" keeps the series that moved.
"use strict";

const METRICS = [["", "every metric"], ["real_time", "times"], ["speedup", "speedup"], ["efficiency", "efficiency"], ["metg", "METG"]];
const STATUSES = ["regressed", "improved", "disturbed", "too few runs", "stable"];

function changed(s) {
  const min = s.min_change_pct === null ? Infinity : s.min_change_pct;
  return s.status === "regressed" || s.status === "improved" ||
    (s.base !== null && Math.abs(s.base) >= min) || (s.pin !== null && Math.abs(s.pin) >= min);
}

// Worse or better, for a change of a series whose direction is known.
function changeClass(s, pct) {
  if (pct === null || s.min_change_pct === null || Math.abs(pct) < s.min_change_pct) return null;
  return (pct > 0) === s.bigger_is_better ? "better" : "worse";
}

function overviewRow(s) {
  const spark = el("canvas", {class: "spark", width: 120, height: 26, "data-series": s.id});
  const latest = s.latest_run !== null ? runById(s.latest_run) : null;
  return el("tr", {class: "series-row", "data-status": s.status},
    el("td", {}, el("span", {class: "status " + s.status.replace(/ /g, "-")}, s.status)),
    el("td", {}, el("a", {href: "trend.html#s=" + s.id}, s.name), " ", el("span", {class: "note"}, s.metric)),
    el("td", {class: "note"}, (s.hosts.join(", ") || "?") + " · " + s.machine.slice(0, 8) + " · " + s.branch),
    el("td", {class: "num", title: latest ? "run " + latest.id + ", " + latest.label : ""}, fmtValue(s.unit, s.latest)),
    el("td", {class: "num " + (changeClass(s, s.base) || ""), title: s.base_runs + " baseline runs"}, fmtPct(s.base)),
    el("td", {class: "num " + (changeClass(s, s.pin) || "")}, fmtPct(s.pin)),
    el("td", {}, spark),
    el("td", {class: "num"}, s.clean + " / " + s.runs),
    el("td", {class: "num"}, s.change_points || ""));
}

function drawSparks(table) {
  const draw = (canvas) => {
    if (canvas.$drawn) return;
    canvas.$drawn = true;
    const s = seriesById(canvas.dataset.series);
    if (s.spark.length > 1) sparkline(canvas, s.spark);
  };
  if (!("IntersectionObserver" in window)) { table.querySelectorAll("canvas.spark").forEach(draw); return; }
  const seen = new IntersectionObserver((entries) => entries.forEach((e) => { if (e.isIntersecting) { draw(e.target); seen.unobserve(e.target); } }));
  table.querySelectorAll("canvas.spark").forEach((c) => seen.observe(c));
}

function counts(series) {
  const n = {};
  series.forEach((s) => { n[s.status] = (n[s.status] || 0) + 1; });
  return STATUSES.filter((k) => n[k]).map((k) => `${n[k]} ${k}`).join(", ");
}

start("Overview", (main) => {
  const state = getState();
  const q = el("input", {type: "search", id: "filter", placeholder: "filter: a regular expression on the name", size: 40, value: state.q || ""});
  const only = el("input", {type: "checkbox", id: "changed-only"});
  only.checked = state.changed === "1";
  const metric = el("select", {id: "metric"}, ...METRICS.map(([v, t]) => el("option", {value: v}, t)));
  metric.value = state.metric || "";
  const status = el("select", {id: "status"}, el("option", {value: ""}, "every status"), ...STATUSES.map((v) => el("option", {value: v}, v)));
  status.value = state.status || "";
  const summary = el("p", {id: "summary"});
  const body = el("tbody");
  const pin = site().pin ? "vs " + site().pin.slice(0, 12) : "vs pinned (--pin)";
  const table = el("table", {id: "overview"}, el("thead", {}, el("tr", {}, ...["status", "series", "host · machine · branch", "latest", "vs baseline", pin, "last 30 clean runs", "clean / runs", "change points"].map((h) => el("th", {}, h)))), body);
  main.append(el("div", {class: "controls"}, q, el("label", {}, only, " changed only"), metric, status), summary, table);
  const render = () => {
    let re = null;
    try { re = q.value ? new RegExp(q.value, "i") : null; q.classList.remove("bad"); } catch (e) { q.classList.add("bad"); }
    const rows = site().series.filter((s) => (!re || re.test(s.label)) && (!only.checked || changed(s)) &&
      (!metric.value || s.metric === metric.value) && (!status.value || s.status === status.value));
    summary.textContent = `${rows.length} of ${site().series.length} series shown: ${counts(rows) || "none"}. Baseline: the clean runs before the latest since its last change point (at most 30, at least 5).`;
    body.replaceChildren(...rows.map(overviewRow));
    drawSparks(body);
    setState({q: q.value, changed: only.checked, metric: metric.value, status: status.value});
  };
  [q, only, metric, status].forEach((c) => c.addEventListener(c === q ? "input" : "change", render));
  render();
});
