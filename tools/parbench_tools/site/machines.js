// Every machine fingerprint side by side, a warning where one host name stands for machines
// that differ, and the machines summary of each machine's latest run against the reference:
// per family the geometric-mean time ratio (with its interval), each executor's speedup at
// workers = usable CPUs, METG per executor and payload.
"use strict";

function fingerprintTable(page) {
  const ms = page.machines;
  const head = el("tr", {}, el("th", {}, "machine"), ...ms.map((m) => el("th", {}, (m.hosts.join(", ") || "?") + " · " + m.fingerprint.slice(0, 8))));
  const rows = page.fields.map((f) => {
    const first = fieldText(f, ms[0].fields[f]);
    return el("tr", {}, el("th", {}, f.replace(/_/g, " ")), ...ms.map((m) => {
      const text = fieldText(f, m.fields[f]);
      return el("td", {class: text !== first ? "differs" : null}, text);
    }));
  });
  const more = [
    ["runs", (m) => String(m.runs)],
    ["builds", (m) => m.builds.map((b) => b.slice(0, 8)).join(", ")],
    ["latest run", (m) => el("a", {href: "run.html#run=" + m.latest_run}, runLabel(runById(m.latest_run)))],
    // A multi-host MPI run: its hosts, each with its ranks, CPUs, interfaces and clock offset.
    ["MPI hosts (latest run)", (m) => (m.mpi_hosts || []).length ? el("ul", {class: "mpi-hosts"}, ...m.mpi_hosts.map((h) => el("li", {}, hostText(h)))) : "—"],
  ].map(([name, f]) => el("tr", {}, el("th", {}, name), ...ms.map((m) => el("td", {}, f(m)))));
  return el("table", {id: "fingerprints"}, el("thead", {}, head), el("tbody", {}, ...rows, ...more));
}

function hostText(h) {
  const cpus = h.cpus.join(",") || "?";
  const faces = h.interfaces.join("; ") || "no interface recorded";
  return `${h.host}: ranks ${h.ranks.join(",")}, CPUs ${cpus}, ${faces}, clock offset ${(h.clock_offset_ns / 1e3).toFixed(1)} ± ${(h.clock_uncertainty_ns / 1e3).toFixed(1)} µs`;
}

function words(text) {
  const p = el("p", {});
  text.split("**").forEach((part, i) => p.appendChild(i % 2 ? el("strong", {}, part) : document.createTextNode(part)));
  return p;
}

function intervalText(r, unit) {
  const v = unit === "ns" ? fmtSeconds(r.value * 1e-9) : r.value === null ? "—" : r.value.toPrecision(3) + "×";
  return r.low === null || r.low === undefined ? v : `${v} [${r.low.toPrecision(3)}, ${r.high.toPrecision(3)}]`;
}

// A bar per machine (and group) at its value, the interval as a whisker.
function intervalChart(parent, title, id, groups, machines, rowsOf, opts) {
  const {toolbar, canvas} = chartPanel(parent, title, 300, id);
  const datasets = machines.map((m, k) => {
    const rows = groups.map((g) => rowsOf(g, m));
    return {type: "bar", label: m, data: rows.map((r) => r ? r.value : null), backgroundColor: color(k) + "99", borderColor: color(k), borderWidth: 1,
      whiskers: rows.map((r) => r && r.low !== null && r.low !== undefined ? [r.low, r.high] : null)};
  });
  if (opts.one) datasets.push({type: "line", label: opts.one, data: groups.map(() => 1), borderColor: "#777", borderDash: [4, 4], pointRadius: 0});
  const chart = new Chart(canvas, {data: {labels: groups, datasets}, options: {
    plugins: {tooltip: {callbacks: {label: (item) => {
      const r = item.dataset.type === "bar" ? rowsOf(groups[item.dataIndex], machines[item.datasetIndex]) : null;
      return r ? `${r.machine}: ${r.text || intervalText(r, opts.unit)}` : item.dataset.label;
    }}}},
    scales: {y: {type: opts.log ? "logarithmic" : "linear", title: {display: true, text: opts.y},
      ticks: {callback: (v) => opts.unit === "ns" ? fmtSeconds(v * 1e-9) : v}}}}});
  describeChart(chart);
  const state = getState();
  if (opts.log && state["log_" + id] === undefined) state["log_" + id] = "1";
  chartControls(chart, toolbar, state, id, true);
  return chart;
}

function summaryTable(rows, cols) {
  return el("table", {class: "summary"}, el("thead", {}, el("tr", {}, ...cols.map(([h]) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {class: r.comparable === false ? "not-compared" : null}, ...cols.map(([, f]) => el("td", {}, f(r)))))));
}

function summarySection(main, s) {
  main.appendChild(el("h2", {}, `Each machine's latest undisturbed run against ${s.reference}`));
  main.appendChild(el("p", {class: "note", id: "summary-runs"}, `Runs: ` + s.machines.map((m, i) => `${m.label}: run ${s.runs[i]} (${m.file}; ${s.chosen[i]})`).join("; ") + `. Intervals at ${s.confidence * 100}%.`));
  s.in_words.forEach((t) => main.appendChild(words(t)));
  s.warnings.forEach((t) => main.appendChild(el("div", {class: "warning"}, t)));
  const others = s.machines.slice(1).map((m) => m.label);
  const time = s.summary.filter((r) => r.section === "time_ratio");
  const families = [...new Set(time.map((r) => r.family))];
  intervalChart(main, "Geometric-mean time ratio per family (machine / reference; above 1: slower)", "ratio", families, others,
    (f, m) => time.find((r) => r.family === f && r.machine === m), {y: "time ratio", one: s.reference + " = 1"});
  main.appendChild(summaryTable(time, [["family", (r) => r.family], ["machine", (r) => r.machine], ["time ratio [interval]", (r) => intervalText(r)], ["benchmarks", (r) => String(r.count)], ["in words", (r) => r.text], ["compared", (r) => r.comparable ? "yes" : "no: settings differ"]]));
  const speed = s.summary.filter((r) => r.section === "speedup");
  const state = getState();
  const sf = [...new Set(speed.map((r) => r.family))];
  if (sf.length) {
    const fSel = el("select", {id: "speedup-family"}, ...sf.map((f) => el("option", {value: f}, f)));
    fSel.value = sf.includes(state.f) ? state.f : sf[0];
    fSel.addEventListener("change", () => { setState(Object.assign(getState(), {f: fSel.value})); location.reload(); });
    main.appendChild(el("h2", {}, "Speedup at workers = usable CPUs, per executor and machine: ", fSel));
    const rows = speed.filter((r) => r.family === fSel.value);
    const executors = [...new Set(rows.map((r) => r.executor))];
    intervalChart(main, `${fSel.value}: speedup against each machine's own baseline`, "speedup", executors, s.machines.map((m) => m.label),
      (e, m) => rows.find((r) => r.executor === e && r.machine === m), {y: "speedup", one: "speedup 1"});
    main.appendChild(summaryTable(speed, [["family", (r) => r.family], ["executor", (r) => r.executor], ["machine", (r) => r.machine], ["workers", (r) => String(r.workers)], ["speedup [interval]", (r) => intervalText(r)]]));
  }
  const metg = s.summary.filter((r) => r.section === "metg");
  if (metg.length) {
    main.appendChild(el("h2", {}, "METG per executor and payload (at workers = usable CPUs)"));
    const keys = [...new Set(metg.map((r) => r.family + " " + r.executor + (r.payload && r.payload !== "none" ? " " + r.payload : "")))];
    intervalChart(main, "METG(50%): from which task duration the executor pays off (lower is better)", "metg", keys, s.machines.map((m) => m.label),
      (k, m) => metg.find((r) => r.family + " " + r.executor + (r.payload && r.payload !== "none" ? " " + r.payload : "") === k && r.machine === m), {y: "METG", unit: "ns", log: true});
    main.appendChild(summaryTable(metg, [["family", (r) => r.family], ["executor", (r) => r.executor], ["payload", (r) => r.payload || ""], ["machine", (r) => r.machine], ["workers", (r) => String(r.workers)], ["METG", (r) => r.text]]));
  }
}

start("Machines", (main) => {
  const page = PB.data.machines;
  const box = el("div", {id: "machine-warnings"});
  page.warnings.forEach((w) => box.appendChild(el("div", {class: "warning same-host"}, el("strong", {}, "Same name, different hardware: "), w.text)));
  main.appendChild(box);
  main.appendChild(el("h2", {}, `${page.machines.length} machine fingerprint(s), side by side`));
  main.appendChild(el("p", {class: "note"}, "A fingerprint is what bench measured of the machine (never the host name, a label only); a run of an older bench that recorded fewer fields joins the machine it agrees with. Cells that differ from the first column are marked."));
  main.appendChild(fingerprintTable(page));
  if (page.summary) summarySection(main, page.summary);
  else main.appendChild(el("p", {}, "One machine only (or none whose latest run shares a benchmark with another's): nothing to compare."));
  if (page.summary && page.summary.not_compared.length) main.appendChild(el("p", {class: "note"}, "Not in the summary (their latest run shares no benchmark with the reference's): " + page.summary.not_compared.map((f) => f.slice(0, 8)).join(", ")));
});
