// One series over revisions: each run's median (clean runs joined by a line), every repetition
// or the median's interval as a band, the disturbed runs drawn hollow and left out, each change
// point as a marker with the levels before and after it. x: history order or date.
"use strict";

function seriesPicker(current) {
  const select = el("select", {id: "series-picker"});
  const groups = new Map();
  for (const s of site().series) {
    const key = machineLabel(s.machine, s.build) + " · " + s.branch;
    if (!groups.has(key)) groups.set(key, el("optgroup", {label: key}));
    groups.get(key).appendChild(el("option", {value: s.id, selected: s.id === current}, s.label + " (" + s.status + ")"));
  }
  groups.forEach((g) => select.appendChild(g));
  select.addEventListener("change", () => { location.hash = "s=" + select.value; location.reload(); });
  return select;
}

// x of the point at position i: its place in the series, or its commit (else start) time.
function xOf(series, byDate) {
  return (i) => {
    if (!byDate) return i;
    const r = runById(series.points[i][0]);
    const t = Date.parse((r && (r.commit_time || r.start_time)) || "");
    return isNaN(t) ? null : t;
  };
}

function pointInfo(series, i) {
  const [runId, value, disturbed, lo, hi, cov, reps] = series.points[i];
  return {run: runById(runId), value, disturbed, lo, hi, cov, reps};
}

function trendDatasets(series, x, showReps) {
  const median = [], band = [[], []], reps = [], disturbed = [];
  const restarts = new Set(series.restarts.map((r) => r.at));
  series.points.forEach((p, i) => {
    const info = pointInfo(series, i);
    const xi = x(i);
    if (xi === null || info.value === null) return;
    const point = {x: xi, y: info.value, i};
    if (info.disturbed) { disturbed.push(point); return; }
    if ([...restarts].some((at) => at <= i && (!median.length || median[median.length - 1].i < at))) median.push({x: xi, y: null, i: i - 0.5});
    median.push(point);
    if (info.lo !== null) { band[0].push({x: xi, y: info.lo, i}); band[1].push({x: xi, y: info.hi, i}); }
    info.reps.forEach((v) => reps.push({x: xi, y: v, i}));
  });
  const byX = (a, b) => (a.x - b.x) || (a.i - b.i);  // by date, points leave history order
  [median, band[0], band[1], disturbed].forEach((list) => list.sort(byX));
  const levels = [], marks = [];
  for (const cp of series.change_points) {
    const c = cp.regression ? REGRESSION : IMPROVEMENT;
    levels.push({x: x(cp.from), y: cp.before, cp}, {x: x(cp.at - 1), y: cp.before, cp}, {x: x(cp.at - 1), y: null},
      {x: x(cp.at), y: cp.after, cp}, {x: x(cp.to - 1), y: cp.after, cp}, {x: x(cp.to - 1), y: null});
    marks.push({x: x(cp.at), y: cp.after, cp, color: c});
  }
  const sets = [
    {label: "median (clean runs)", data: median, borderColor: "#1f77b4", backgroundColor: "#1f77b4", pointRadius: 3, borderWidth: 1.5, order: 2},
    {label: "disturbed (left out)", data: disturbed, type: "scatter", showLine: false, pointRadius: 5, pointBorderWidth: 1.5,
      borderColor: DISTURBED, backgroundColor: "rgba(0,0,0,0)", pointBackgroundColor: "rgba(0,0,0,0)", order: 1},
    {label: "level before / after", data: levels, borderColor: "#555", borderDash: [6, 3], borderWidth: 2, pointRadius: 0, spanGaps: false, order: 3},
    {label: "change points", data: marks, type: "scatter", pointStyle: "triangle", pointRadius: 9, pointHoverRadius: 11,
      backgroundColor: marks.map((m) => m.color), borderColor: marks.map((m) => m.color), order: 0},
  ];
  if (showReps) {
    sets.push({label: "repetitions", data: reps, type: "scatter", pointRadius: 1.8, backgroundColor: "rgba(31,119,180,0.35)", borderColor: "rgba(31,119,180,0.35)", order: 4});
  } else {
    sets.push({label: "interval low", data: band[0], borderColor: "rgba(0,0,0,0)", pointRadius: 0, fill: false, order: 5});
    sets.push({label: "median's interval", data: band[1], borderColor: "rgba(0,0,0,0)", backgroundColor: "rgba(31,119,180,0.18)", pointRadius: 0, fill: "-1", order: 5});
  }
  return sets;
}

function trendTooltip(series) {
  const unit = series.unit;
  return {
    filter: (item) => !["interval low", "median's interval"].includes(item.dataset.label),
    callbacks: {
      title: (items) => items.length ? items[0].dataset.label : "",
      label: (item) => {
        const raw = item.raw;
        if (raw.cp) {
          const cp = raw.cp;
          return [`${fmtPct(cp.change_pct)}: ${fmtValue(unit, cp.before)} → ${fmtValue(unit, cp.after)}, p ${fmtP(cp.p)}`,
            `last good ${cp.last_good} → first bad ${cp.first_bad}`,
            `${cp.runs_before} runs before, ${cp.runs_after} after; ${cp.confirmed ? "confirmed" : "unconfirmed"}; ${cp.status}`];
        }
        const info = pointInfo(series, raw.i);
        const r = info.run;
        const lines = [`revision ${r.label} (run ${r.id})`, `date ${fmtTime(r.commit_time || r.start_time)}`,
          `${item.dataset.label === "repetitions" ? "repetition" : "median"} ${fmtValue(unit, raw.y)}`];
        if (info.lo !== null) lines.push(`interval ${fmtValue(unit, info.lo)} – ${fmtValue(unit, info.hi)} (${(info.cov * 100).toFixed(1)}%, ${info.reps.length} repetitions)`);
        if (info.disturbed) lines.push("disturbed: left out of the series");
        return lines;
      },
    },
  };
}

function trendChart(canvas, series, state) {
  const byDate = state.x === "date";
  const x = xOf(series, byDate);
  const between = (at) => byDate ? (x(at - 1) + x(at)) / 2 : at - 0.5;
  const lines = series.change_points.map((cp) => ({x: between(cp.at), color: cp.regression ? REGRESSION : IMPROVEMENT}))
    .concat(series.restarts.map((r) => ({x: between(r.at), color: "#bbb"})));
  const chart = new Chart(canvas, {
    type: "line",
    data: {datasets: trendDatasets(series, x, state.show !== "band")},
    options: {
      parsing: false,
      interaction: {mode: "nearest", intersect: true},
      plugins: {tooltip: trendTooltip(series), pbMarkers: {lines},
        legend: {labels: {filter: (item) => item.text !== "interval low"}}},
      scales: {
        x: {type: "linear", title: {display: true, text: byDate ? "commit date (else start)" : "runs in history order (commit order, then time)"},
          ticks: {callback: function (v) { return byDate ? dateTick(v, this.max - this.min) : (Number.isInteger(v) && series.points[v] ? runById(series.points[v][0]).label.slice(0, 7) : ""); }}},
        y: {type: "linear", title: {display: true, text: series.metric + (series.unit ? " (" + series.unit + ")" : "")},
          ticks: {callback: (v) => fmtValue(series.unit, v)}},
      },
    },
  });
  describeChart(chart);
  return chart;
}

function changePointTable(series, highlight) {
  const unit = series.unit;
  const rows = series.change_points.map((cp) => el("tr", {class: "cp " + (cp.regression ? "regression" : "improvement") + (highlight && cp.id.startsWith(highlight) ? " highlight" : "")},
    el("td", {}, el("code", {}, cp.id.slice(0, 10))),
    el("td", {}, el("code", {}, cp.last_good), " → ", el("code", {}, cp.first_bad)),
    el("td", {}, fmtValue(unit, cp.before) + " → " + fmtValue(unit, cp.after)),
    el("td", {class: cp.regression ? "worse" : "better"}, fmtPct(cp.change_pct)),
    el("td", {}, fmtP(cp.p)),
    el("td", {}, cp.runs_before + " / " + cp.runs_after),
    el("td", {}, (cp.regression ? "regression" : "improvement") + ", " + (cp.confirmed ? "confirmed" : "unconfirmed") + ", " + cp.status + (cp.note ? ": " + cp.note : ""))));
  return el("table", {id: "changepoints"},
    el("thead", {}, el("tr", {}, ...["id", "last good → first bad (bisect here)", "before → after", "change", "p", "runs before / after", "status"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", {colspan: 7}, "No change point in this series."))));
}

function disturbedList(series) {
  const items = [];
  series.points.forEach((p, i) => {
    const info = pointInfo(series, i);
    if (info.disturbed) items.push(el("li", {class: "disturbed-run"}, `${info.run.label} (run ${info.run.id}, ${fmtTime(info.run.commit_time || info.run.start_time)}): ${fmtValue(series.unit, info.value)}`));
  });
  return el("div", {id: "disturbed"}, el("h2", {}, `Disturbed runs: ${items.length}`),
    el("p", {}, "Runs whose benchmark ran while other processes took more than its run's interference limit of the CPUs: drawn hollow, left out of the line, the levels and the change points."),
    items.length ? el("ul", {}, items) : el("p", {}, "None."));
}

start("Trend", async (main) => {
  const state = getState();
  if (!site().series.length) { main.appendChild(el("p", {}, "The store has no series.")); return; }
  const id = state.s && seriesById(state.s) ? state.s : site().series[0].id;
  state.s = id;
  const series = await loadSeries(id);
  const row = seriesById(id);
  main.appendChild(el("p", {}, "Series ", seriesPicker(id)));
  main.appendChild(el("p", {class: "subtitle"}, el("strong", {}, series.label), ` on ${machineLabel(series.machine, series.build)}, branch ${series.branch}: `,
    el("span", {class: "status " + row.status.replace(/ /g, "-")}, row.status), ` · ${row.clean} clean of ${row.runs} runs · minimum change ${series.min_change_pct}%` + (series.note ? " · " + series.note : "")));
  const {toolbar, canvas} = chartPanel(main, "Each run's median", 420, "trend-chart");
  const xSel = el("select", {id: "x-axis"}, el("option", {value: "order"}, "x: history order"), el("option", {value: "date"}, "x: date"));
  xSel.value = state.x === "date" ? "date" : "order";
  const showSel = el("select", {id: "show"}, el("option", {value: "reps"}, "every repetition"), el("option", {value: "band"}, "the median's interval (band)"));
  showSel.value = state.show === "band" ? "band" : "reps";
  toolbar.append(xSel, showSel);
  let chart = trendChart(canvas, series, state);
  const redraw = () => {
    state.x = xSel.value === "date" ? "date" : "";
    state.show = showSel.value === "band" ? "band" : "";
    state.zoom = "";
    setState(state);
    location.reload();
  };
  xSel.addEventListener("change", redraw);
  showSel.addEventListener("change", redraw);
  chartControls(chart, toolbar, state, "");
  setState(state);
  main.appendChild(el("h2", {}, `Change points: ${series.change_points.length}`));
  const m = site().method;
  main.appendChild(el("p", {}, `E-divisive with Student's t-test at p ≤ ${m.max_p}, on the log of each clean run's median; at least ${m.min_points} clean runs; confirmed after ${m.confirm_after} runs past it. The marker sits on the first run of the new level; the dashed lines are the levels before and after.`));
  main.appendChild(changePointTable(series, state.cp));
  if (series.restarts.length) {
    main.appendChild(el("p", {}, "The workload parameters changed (grey lines: the series restarts, no change point): " +
      series.restarts.map((r) => runById(series.points[r.at][0]).label + " (" + r.changed.join(", ") + ")").join("; ")));
  }
  main.appendChild(disturbedList(series));
});
