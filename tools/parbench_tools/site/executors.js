// What none of the general dashboards show: per family and group, each executor's speedup and
// efficiency at each worker count, its METG per payload, and the worker count from which
// threads overtake processes, at the latest run and as trends over revisions with change
// points.
"use strict";

function pick(select, options, value) {
  select.replaceChildren(...options.map(([v, t]) => el("option", {value: v}, t)));
  select.value = options.some(([v]) => v === value) ? value : (options[0] || [""])[0];
}

function latestChart(parent, group, metric) {
  const {canvas} = chartPanel(parent, `${metric} at each worker count, latest run of each series`, 300, "latest-chart");
  const executors = Object.keys(group.series);
  const datasets = executors.map((exe, k) => {
    const cells = Object.entries(group.series[exe]).filter(([, c]) => c[metric] && c[metric].latest && c[metric].latest[0] !== null)
      .map(([w, c]) => ({x: +w, y: c[metric].latest[0], run: runById(c[metric].latest[1]), disturbed: c[metric].latest[2]}))
      .sort((a, b) => a.x - b.x);
    return {label: exe, data: cells, borderColor: color(k), backgroundColor: color(k), pointRadius: 4,
      pointBackgroundColor: cells.map((p) => p.disturbed ? "rgba(0,0,0,0)" : color(k))};
  });
  const ws = datasets.flatMap((d) => d.data.map((p) => p.x));
  if (metric === "speedup" && ws.length) {
    const top = Math.max(...ws);
    datasets.push({label: "linear (speedup = workers)", data: [{x: 1, y: 1}, {x: top, y: top}], borderColor: "#aaa", borderDash: [4, 4], pointRadius: 0});
  }
  const chart = new Chart(canvas, {type: "line", data: {datasets}, options: {parsing: false,
    plugins: {tooltip: {callbacks: {label: (item) => item.raw.run ? [`${item.dataset.label} at ${item.raw.x} workers: ${fmtValue(metric === "speedup" ? "x" : "", item.raw.y)}`,
      `revision ${item.raw.run.label}, ${fmtTime(item.raw.run.commit_time || item.raw.run.start_time)}` + (item.raw.disturbed ? " (disturbed)" : "")] : item.dataset.label}}},
    scales: {x: {type: "logarithmic", title: {display: true, text: "workers"}, ticks: {callback: (v) => Number.isInteger(Math.log2(v)) || v === 1 ? v : ""}},
      y: {title: {display: true, text: metric}}}}});
  describeChart(chart);
}

async function trendOf(parent, title, entries, unit, state, key, log) {
  if (!entries.length) return;
  const list = await Promise.all(entries.map(async ({id, label}) => ({series: await loadSeries(id), label})));
  const {toolbar, canvas} = chartPanel(parent, title, 340, key + "-chart");
  if (log && state["log_" + key] === undefined) state["log_" + key] = "1";  // METG spans decades
  const chart = seriesOverRuns(canvas, list, {unit, title: unit === "s" ? "seconds" : unit === "x" ? "speedup" : "efficiency", log: false});
  chartControls(chart, toolbar, state, key);
  const found = list.reduce((n, x) => n + x.series.change_points.length, 0);
  parent.appendChild(el("p", {class: "note"}, `${found} change point(s) in these ${list.length} series. Each series: `,
    ...list.flatMap(({series, label}, i) => [i ? ", " : "", el("a", {href: "trend.html#s=" + series.id}, label)])));
}

function crossoverChart(parent, group, state) {
  const cross = group.crossover;
  if (!cross || !cross.points.length) {
    parent.appendChild(el("p", {class: "note", id: "crossover"}, "No crossover: this group was not measured under both threads and processes."));
    return;
  }
  const {toolbar, canvas} = chartPanel(parent, "Worker count from which threads overtake processes (speedup above processes' at it and every larger count), over revisions, with its change points", 260, "crossover-chart");
  const data = cross.points.filter(([, at]) => at !== null).map(([runId, at, top]) => ({x: runById(runId).pos, y: at, run: runById(runId), top}));
  const never = cross.points.filter(([, at]) => at === null).map(([runId, , top]) => ({x: runById(runId).pos, y: top, run: runById(runId), top, never: true}));
  const marks = cross.change_points.map((c) => ({x: runById(c.first_bad).pos - 0.5, y: c.after, cp: c}));
  const datasets = [{label: "threads overtake processes from (workers)", data, stepped: true, borderColor: color(3), backgroundColor: color(3), pointRadius: 4},
    {label: "processes still ahead at the largest count (drawn at it, left out)", data: never, showLine: false, pointRadius: 5, borderColor: color(1), backgroundColor: "rgba(0,0,0,0)"},
    {label: "change point", data: marks, showLine: false, pointStyle: "triangle", pointRadius: 9, borderColor: "#c00", backgroundColor: "#c00"}];
  const chart = new Chart(canvas, {type: "line", data: {datasets},
  options: {parsing: false, plugins: {tooltip: {callbacks: {label: (item) => {
    const p = item.raw;
    if (p.cp) {
      const c = p.cp;
      return [`change point: ${c.before} → ${c.after} workers (${c.change_pct > 0 ? "+" : ""}${c.change_pct}%), p = ${c.p_value}`,
        `bisect: last good ${runById(c.last_good).label}, first bad ${runById(c.first_bad).label}`, `${c.n_before} run(s) before, ${c.n_after} after` + (c.confirmed ? ", confirmed" : ", not yet confirmed")];
    }
    return [p.never ? `processes ahead at ${p.top} workers (the most measured): no crossover` : `threads ahead from ${p.y} workers (up to ${p.top})`,
      `revision ${p.run.label}, ${fmtTime(p.run.commit_time || p.run.start_time)}`];
  }}}},
  scales: {x: {type: "linear", ticks: {callback: (v) => Number.isInteger(v) && site().runs[v] ? site().runs[v].label.slice(0, 7) : ""}, title: {display: true, text: "runs in history order"}},
    y: {type: "linear", beginAtZero: true, title: {display: true, text: "workers"}, ticks: {precision: 0}}}}});
  describeChart(chart);
  chartControls(chart, toolbar, state, "crossover", false);
  const cps = cross.change_points.map((c) => `${c.before} → ${c.after} workers between ${runById(c.last_good).label} (last good) and ${runById(c.first_bad).label} (first bad), p = ${c.p_value}` + (c.confirmed ? ", confirmed" : ", not yet confirmed"));
  parent.appendChild(el("p", {class: "note", id: "crossover"}, `${cross.points.length} run(s); in ${never.length} of them processes stay ahead at the largest worker count (hollow, left out of the change points). ` +
    (cps.length ? `${cps.length} change point(s): ${cps.join("; ")}.` : (cross.note || "No change point.")) ));
}

function latestTable(group, metric) {
  const executors = Object.keys(group.series);
  const workers = [...new Set(executors.flatMap((e) => Object.keys(group.series[e]).map(Number)))].sort((a, b) => a - b);
  return el("table", {id: "latest-table"}, el("thead", {}, el("tr", {}, el("th", {}, metric + " (latest run)"), ...workers.map((w) => el("th", {class: "num"}, "workers " + w)))),
    el("tbody", {}, ...executors.map((e) => el("tr", {}, el("th", {}, e), ...workers.map((w) => {
      const c = group.series[e][w] && group.series[e][w][metric];
      if (!c) return el("td", {}, "");
      return el("td", {class: "num"}, el("a", {href: "trend.html#s=" + c.id}, fmtValue(metric === "speedup" ? "x" : "", c.latest && c.latest[0])), c.latest && c.latest[2] ? " ⚠" : "", c.change_points ? ` (${c.change_points} cp)` : "");
    })))));
}

start("Executors", async (main) => {
  const all = PB.data.executors;
  const state = getState();
  if (!all.length) { main.appendChild(el("p", {}, "No executor series in the store (runs with a baseline executor and others: speedup, efficiency, METG).")); return; }
  const mSel = el("select", {id: "machine"}), fSel = el("select", {id: "family"}), gSel = el("select", {id: "group"});
  const metric = el("select", {id: "metric-select"}, el("option", {value: "speedup"}, "speedup"), el("option", {value: "efficiency"}, "efficiency"));
  pick(mSel, all.map((m, i) => [String(i), `${m.hosts.join(", ") || "?"} · machine ${m.machine.slice(0, 8)} · build ${m.build.slice(0, 8)} · ${m.branch}`]), state.m || "0");
  const m = all[+mSel.value];
  pick(fSel, m.families.map((f) => [f.family, f.family]), state.f);
  const fam = m.families.find((f) => f.family === fSel.value);
  pick(gSel, fam.groups.map((g) => [g.group, g.group]), state.g);
  metric.value = state.metric === "efficiency" ? "efficiency" : "speedup";
  const group = fam.groups.find((g) => g.group === gSel.value);
  const reopen = () => { setState({m: mSel.value, f: fSel.value, g: gSel.value === fSel.value ? "" : gSel.value, metric: metric.value === "speedup" ? "" : metric.value}); location.reload(); };
  [mSel, fSel, gSel, metric].forEach((s) => s.addEventListener("change", () => { if (s !== gSel && s !== metric) gSel.value = ""; if (s === mSel) fSel.value = ""; reopen(); }));
  Object.assign(state, {m: mSel.value, f: fSel.value, g: gSel.value, metric: metric.value});
  setState(state);
  main.append(el("div", {class: "controls"}, "machine ", mSel, " family ", fSel, " group ", gSel, " ", metric));
  if (group) {
    main.appendChild(el("h2", {}, `${group.group}: ${metric.value} of each executor against the baseline`));
    latestChart(main, group, metric.value);
    main.appendChild(latestTable(group, metric.value));
    const entries = [];
    for (const [exe, byW] of Object.entries(group.series)) {
      for (const [w, c] of Object.entries(byW)) if (c[metric.value]) entries.push({id: c[metric.value].id, label: `${exe} workers:${w}`});
    }
    await trendOf(main, `${metric.value} over revisions, each executor and worker count`, entries, metric.value === "speedup" ? "x" : "", state, "trend", false);
    crossoverChart(main, group, state);
  }
  main.appendChild(el("h2", {}, `${fam.family}: METG (the smallest task at which an executor reaches 50% efficiency) over revisions`));
  if (fam.metg.length) {
    await trendOf(main, "METG per executor, workers and payload", fam.metg.map((x) => ({id: x.id, label: `${x.executor} workers:${x.workers}` + (x.payload ? ` payload:${x.payload}` : "")})), "s", state, "metg", true);
  } else {
    main.appendChild(el("p", {class: "note", id: "no-metg"}, "No METG in this family: only a family that sweeps task durations (granularity) has one."));
  }
});
