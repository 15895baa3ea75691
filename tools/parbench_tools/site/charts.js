// Charts: Chart.js (Debian's libjs-chart.js, copied into vendor/) with two small plugins of
// our own: drag to zoom on x (the scale's min and max; "reset zoom" clears them) and
// vertical marker lines. Every control writes its state into the URL's hash.
"use strict";

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
  "#17becf", "#7f7f7f", "#bcbd22"];
const REGRESSION = "#c62828", IMPROVEMENT = "#2e7d32", DISTURBED = "#ef6c00";

function color(i) { return COLORS[i % COLORS.length]; }

// Drag across the plot to zoom into that x range.
const dragZoom = {
  id: "pbDragZoom",
  afterInit(chart) {
    const canvas = chart.canvas;
    let x0 = null;
    const clamp = (x) => Math.max(chart.chartArea.left, Math.min(chart.chartArea.right, x));
    canvas.addEventListener("mousedown", (e) => {
      if (e.offsetX < chart.chartArea.left || e.offsetX > chart.chartArea.right) return;
      x0 = e.offsetX;
      chart.$pbSel = [x0, x0];
    });
    canvas.addEventListener("mousemove", (e) => {
      if (x0 === null) return;
      chart.$pbSel = [x0, clamp(e.offsetX)];
      chart.draw();
    });
    window.addEventListener("mouseup", () => {
      if (x0 === null) return;
      const [a, b] = [Math.min(...chart.$pbSel), Math.max(...chart.$pbSel)];
      x0 = null;
      chart.$pbSel = null;
      if (b - a > 4) zoomTo(chart, chart.scales.x.getValueForPixel(a), chart.scales.x.getValueForPixel(b));
      else chart.draw();
    });
  },
  afterDraw(chart) {
    if (!chart.$pbSel) return;
    const [a, b] = chart.$pbSel;
    const {top, bottom} = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(30, 100, 200, 0.15)";
    ctx.fillRect(Math.min(a, b), top, Math.abs(b - a), bottom - top);
    ctx.restore();
  },
};

// Vertical lines: options.plugins.pbMarkers.lines = [{x, color}].
const markers = {
  id: "pbMarkers",
  afterDatasetsDraw(chart, _args, opts) {
    const lines = (opts && opts.lines) || [];
    const x = chart.scales.x, {top, bottom} = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    for (const line of lines) {
      const px = x.getPixelForValue(line.x);
      if (px < chart.chartArea.left || px > chart.chartArea.right) continue;
      ctx.strokeStyle = line.color || "#555";
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
    }
    ctx.restore();
  },
};

// Interval whiskers on bars: dataset.whiskers[i] = [low, high] (or null).
const whiskers = {
  id: "pbWhiskers",
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx, y = chart.scales.y;
    ctx.save();
    chart.data.datasets.forEach((d, k) => {
      const meta = chart.getDatasetMeta(k);
      if (!d.whiskers || meta.hidden) return;
      meta.data.forEach((bar, i) => {
        const w = d.whiskers[i];
        if (!w || w[0] === null || w[0] === undefined) return;
        const top = y.getPixelForValue(w[1]), bottom = y.getPixelForValue(w[0]), cap = Math.min(8, bar.width / 3);
        ctx.strokeStyle = "#222";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(bar.x, top); ctx.lineTo(bar.x, bottom);
        ctx.moveTo(bar.x - cap, top); ctx.lineTo(bar.x + cap, top);
        ctx.moveTo(bar.x - cap, bottom); ctx.lineTo(bar.x + cap, bottom);
        ctx.stroke();
      });
    });
    ctx.restore();
  },
};

Chart.register(dragZoom, markers, whiskers);

function zoomTo(chart, min, max) {
  chart.options.scales.x.min = min;
  chart.options.scales.x.max = max;
  chart.update();
  describeChart(chart);
  if (chart.$pbOnZoom) chart.$pbOnZoom([min, max]);
}

function resetZoom(chart) {
  delete chart.options.scales.x.min;
  delete chart.options.scales.x.max;
  chart.update();
  describeChart(chart);
  if (chart.$pbOnZoom) chart.$pbOnZoom(null);
}

function setLog(chart, on) {
  chart.options.scales.y.type = on ? "logarithmic" : "linear";
  chart.update();
  describeChart(chart);
}

// A titled panel with a toolbar and a canvas of `height` pixels.
function chartPanel(parent, title, height, id) {
  const toolbar = el("div", {class: "toolbar"});
  const canvas = el("canvas", {id: id || null});
  const panel = el("section", {class: "panel"}, el("h3", {}, title), toolbar,
    el("div", {class: "chart", style: `height:${height || 320}px`}, canvas));
  parent.appendChild(panel);
  return {panel, toolbar, canvas};
}

// Log scale and zoom controls for `chart`, kept in the hash under KEY ("log" / "zoom").
function chartControls(chart, toolbar, state, key, withLog = true) {
  const logKey = key ? "log_" + key : "log", zoomKey = key ? "zoom_" + key : "zoom";
  if (withLog) {
    const box = el("input", {type: "checkbox", class: "log-toggle"});
    box.checked = state[logKey] === "1";
    box.addEventListener("change", () => { setLog(chart, box.checked); state[logKey] = box.checked ? "1" : ""; setState(state); });
    toolbar.appendChild(el("label", {}, box, " log scale"));
    if (box.checked) setLog(chart, true);
  }
  const reset = el("button", {type: "button", class: "reset-zoom", title: "drag across the chart to zoom"}, "reset zoom");
  reset.addEventListener("click", () => resetZoom(chart));
  toolbar.appendChild(reset);
  toolbar.appendChild(el("span", {class: "hint"}, "drag across the chart to zoom"));
  chart.$pbOnZoom = (range) => { state[zoomKey] = range ? range.map((v) => +v.toPrecision(8)).join(",") : ""; setState(state); };
  if (state[zoomKey]) {
    const [a, b] = state[zoomKey].split(",").map(Number);
    if (isFinite(a) && isFinite(b) && b > a) {
      chart.options.scales.x.min = a;
      chart.options.scales.x.max = b;
      chart.update();
      describeChart(chart);
    }
  }
}

// What a chart draws, for the page's tests and readers of the DOM: dataset label -> points,
// the y scale's type, the x range it is zoomed to.
function describeChart(chart) {
  const out = {};
  for (const d of chart.data.datasets) out[d.label] = (out[d.label] || 0) + d.data.filter((p) => p !== null && p !== undefined && (typeof p !== "object" || Array.isArray(p) || (p.y !== null && p.y !== undefined))).length;
  chart.canvas.dataset.datasets = JSON.stringify(out);
  chart.canvas.dataset.yScale = chart.options.scales.y.type || "linear";
  const x = chart.options.scales.x || {};
  chart.canvas.dataset.xRange = x.min !== undefined && x.max !== undefined ? [x.min, x.max].join(",") : "";
}

// A date tick: the day, with the time when the axis spans less than three days.
function dateTick(ms, span) {
  const iso = new Date(ms).toISOString();
  return span < 3 * 86400e3 ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10);
}

// A small line without axes (the overview's sparkline).
function sparkline(canvas, values) {
  return new Chart(canvas, {
    type: "line",
    data: {labels: values.map((_, i) => i), datasets: [{data: values, borderColor: "#1f77b4", borderWidth: 1.2, pointRadius: 0, tension: 0}]},
    options: {responsive: false, events: [], plugins: {legend: {display: false}, tooltip: {enabled: false}},
      scales: {x: {display: false}, y: {display: false}}},
  });
}

// Several stored series over revisions on one chart: x is each run's place in the site's
// history order, so that series of one machine line up. Clean runs joined by a line, disturbed
// runs hollow, change points as triangles (red: a regression, green: an improvement).
function seriesOverRuns(canvas, list, opts) {
  const datasets = [], lines = [];
  list.forEach(({series, label}, k) => {
    const c = color(k);
    const clean = [], disturbed = [];
    series.points.forEach(([runId, value, dist, lo, hi], i) => {
      if (value === null) return;
      const r = runById(runId);
      (dist ? disturbed : clean).push({x: r.pos, y: value, run: r, lo, hi, label});
    });
    datasets.push({label, data: clean, borderColor: c, backgroundColor: c, pointRadius: 2.5, borderWidth: 1.5});
    if (disturbed.length) {
      datasets.push({label: label + " disturbed (left out)", data: disturbed, type: "scatter", pointRadius: 4.5,
        borderColor: c, backgroundColor: "rgba(0,0,0,0)", pointBackgroundColor: "rgba(0,0,0,0)"});
    }
    const marks = series.change_points.map((cp) => {
      const r = runById(series.points[cp.at][0]);
      lines.push({x: r.pos - 0.5, color: cp.regression ? REGRESSION : IMPROVEMENT});
      return {x: r.pos, y: cp.after, cp, run: r, label};
    });
    if (marks.length) {
      datasets.push({label: label + " change points", data: marks, type: "scatter", pointStyle: "triangle", pointRadius: 8,
        backgroundColor: marks.map((m) => m.cp.regression ? REGRESSION : IMPROVEMENT), borderColor: "#333"});
    }
  });
  const unit = opts.unit;
  const chart = new Chart(canvas, {
    type: "line",
    data: {datasets},
    options: {
      parsing: false,
      interaction: {mode: "nearest", intersect: true},
      plugins: {pbMarkers: {lines}, legend: {labels: {boxWidth: 12, filter: (item) => !/disturbed|change points/.test(item.text)}},
        tooltip: {callbacks: {label: (item) => {
          const p = item.raw;
          if (p.cp) return [`${p.label}: change point ${fmtPct(p.cp.change_pct)}`, `${fmtValue(unit, p.cp.before)} → ${fmtValue(unit, p.cp.after)}, p ${fmtP(p.cp.p)}`, `${p.cp.last_good} → ${p.cp.first_bad}; ${p.cp.confirmed ? "confirmed" : "unconfirmed"}, ${p.cp.status}`];
          const lines = [`${p.label}: ${fmtValue(unit, p.y)}`, `revision ${p.run.label} (run ${p.run.id})`, `date ${fmtTime(p.run.commit_time || p.run.start_time)}`];
          if (p.lo !== null && p.lo !== undefined) lines.push(`interval ${fmtValue(unit, p.lo)} – ${fmtValue(unit, p.hi)}`);
          if (item.dataset.label.endsWith("(left out)")) lines.push("disturbed: left out");
          return lines;
        }}}},
      scales: {
        x: {type: "linear", title: {display: true, text: "runs in history order"},
          ticks: {callback: (v) => Number.isInteger(v) && site().runs[v] ? site().runs[v].label.slice(0, 7) : ""}},
        y: {type: opts.log ? "logarithmic" : "linear", title: {display: true, text: opts.title || ""},
          ticks: {callback: (v) => fmtValue(unit, v)}},
      },
    },
  });
  describeChart(chart);
  return chart;
}
