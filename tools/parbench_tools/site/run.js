// One run: what it was (revision, branch, times, host), the machine and build fingerprints, the
// noise probes before and after, every benchmark's median with its interval and the
// interference each one ran under (disturbed ones marked), and the full context.
"use strict";

function kvTable(id, rows) {
  return el("table", {id}, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

function text(v) { return v === null || v === undefined ? "not recorded" : typeof v === "object" ? JSON.stringify(v) : String(v); }

function interferenceChart(main, run) {
  const benches = run.benchmarks.filter((b) => b.interference !== null);
  if (!benches.length) { main.appendChild(el("p", {class: "note"}, "This run did not measure interference (an older or foreign file).")); return; }
  const height = Math.min(1400, 60 + 16 * benches.length);
  const {toolbar, canvas} = chartPanel(main, "Interference per benchmark: others' CPU time and steal, as a share of the usable CPUs (orange: disturbed)", height, "interference-chart");
  const chart = new Chart(canvas, {type: "bar", data: {labels: benches.map((b) => b.name), datasets: [{label: "interference", data: benches.map((b) => b.interference * 100),
    backgroundColor: benches.map((b) => b.disturbed ? DISTURBED : "#90a4ae")}]},
  options: {indexAxis: "y", plugins: {legend: {display: false}, tooltip: {callbacks: {label: (item) => `${(item.raw).toFixed(1)}% of the usable CPUs` + (benches[item.dataIndex].disturbed ? " (disturbed)" : "")}}},
    scales: {x: {title: {display: true, text: "% of the usable CPUs"}}, y: {ticks: {autoSkip: false, font: {size: 10}}}}}});
  describeChart(chart);
}

function benchTable(run) {
  return el("table", {id: "benchmarks"}, el("thead", {}, el("tr", {}, ...["benchmark", "median", "interval", "repetitions", "interference", "disturbed", "error"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...run.benchmarks.map((b) => {
      const s = seriesOf(run.machine, run.build, run.branch, b.name, "real_time");
      return el("tr", {class: b.disturbed ? "disturbed" : null},
        el("td", {}, s ? el("a", {href: "trend.html#s=" + s.id}, b.name) : b.name),
        el("td", {class: "num"}, fmtSeconds(b.median)),
        el("td", {class: "num"}, b.ci ? `${fmtSeconds(b.ci[0])} – ${fmtSeconds(b.ci[1])} (${(b.ci[2] * 100).toFixed(1)}%)` : "—"),
        el("td", {class: "num"}, b.aggregate ? "aggregate only" : String(b.reps.length)),
        el("td", {class: "num"}, b.interference === null ? "—" : (b.interference * 100).toFixed(1) + "%"),
        el("td", {}, b.disturbed ? "⚠ disturbed" : ""),
        el("td", {}, b.error || ""));
    })));
}

start("Run", async (main) => {
  const state = getState();
  const runs = site().runs;
  const id = state.run && runById(Number(state.run)) ? Number(state.run) : runs[runs.length - 1].id;
  setState({run: id});
  const select = el("select", {id: "run-picker"}, ...runs.slice().reverse().map((r) => el("option", {value: String(r.id)}, runLabel(r))));
  select.value = String(id);
  select.addEventListener("change", () => { location.hash = "run=" + select.value; location.reload(); });
  main.appendChild(el("p", {}, "Run ", select, " · ", el("a", {href: `compare.html#b=${id}`}, "compare it with another")));
  const run = await loadRun(id);
  const noise = (v) => v === null ? "not measured" : `${v.toFixed(3)}` + (v < 0.9 ? " ⚠ busy (below 0.90)" : "");
  main.appendChild(el("h2", {}, "What it was"));
  main.appendChild(kvTable("run-context", [["revision", run.label], ["branch", run.branch], ["commit order", text(run.order)], ["commit time", text(run.commit_time)],
    ["started", text(run.start_time)], ["host (a label)", text(run.host)], ["tags", text(run.tags)],
    ["noise probe before", noise(run.noise[0])], ["noise probe after", noise(run.noise[1])],
    ["benchmarks", `${run.benchmarks.length}, ${run.benchmarks.filter((b) => b.disturbed).length} disturbed`]]));
  main.appendChild(el("div", {class: "grid2"},
    el("div", {}, el("h2", {}, "Machine " + run.machine.slice(0, 8)), kvTable("machine-fields", Object.entries(run.machine_fields).map(([k, v]) => [k, fieldText(k, v)]))),
    el("div", {}, el("h2", {}, "Build " + run.build.slice(0, 8)), kvTable("build-fields", Object.entries(run.build_fields).map(([k, v]) => [k, text(v)])))));
  main.appendChild(el("h2", {}, "Benchmarks"));
  interferenceChart(main, run);
  main.appendChild(benchTable(run));
  main.appendChild(el("details", {}, el("summary", {}, "The full context (" + Object.keys(run.context).length + " keys" + (run.has_manifest ? "; the manifest aside" : "") + ")"),
    kvTable("full-context", Object.entries(run.context).map(([k, v]) => [k, text(v)]))));
});
