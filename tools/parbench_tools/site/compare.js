// Any two stored runs, benchmark by benchmark, as `parbench-tools compare BASE NEW --threshold
// T` judges them (compare.py, ported here because a static page must compare any pair without
// Python): both medians, the change with its interval (from each median's order-statistic
// interval, computed by the publishing tools), a two-sided Mann-Whitney U test as scipy's
// mannwhitneyu computes it (exact for small samples without ties, else the normal
// approximation with tie and continuity corrections), a verdict, and the gate. Worst first.
"use strict";

function comb(n, k) {
  let r = 1;
  for (let i = 1; i <= k; i++) r = r * (n - k + i) / i;
  return r;
}

function minP(n1, n2) { return n1 < 1 || n2 < 1 ? 1 : Math.min(1, 2 / comb(n1 + n2, n1)); }

function repetitionsNeeded(alpha) {
  let n = 2;
  while (minP(n, n) >= alpha) n++;
  return n;
}

// erfc with fractional error below 1.2e-7 (Numerical Recipes' Chebyshev fit).
function erfc(x) {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

// Ranks with ties averaged (scipy.stats.rankdata's default), and the tie groups' sizes.
function rank(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const ranks = new Array(values.length), ties = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = (i + j) / 2 + 1;
    ties.push(j - i + 1);
    i = j + 1;
  }
  return {ranks, ties};
}

// P(U <= k) for samples of m and n without ties: counts of arrangements (Mann and Whitney's
// recursion f(m, n, k) = f(m-1, n, k-n) + f(m, n-1, k)), as scipy's exact method.
function uCdf(k, m, n) {
  const memo = new Map();
  const f = (a, b, c) => {
    if (c < 0 || a < 0 || b < 0 || c > a * b) return 0;
    if (c === 0) return 1;
    const key = a + "," + b + "," + c;
    if (!memo.has(key)) memo.set(key, f(a - 1, b, c - b) + f(a, b - 1, c));
    return memo.get(key);
  };
  let total = 0;
  for (let j = 0; j <= k; j++) total += f(m, n, j);
  return total / comb(m + n, m);
}

function mannWhitney(a, b) {
  const all = a.concat(b);
  if (new Set(all).size === 1) return 1;
  const n1 = a.length, n2 = b.length, n = n1 + n2;
  const {ranks, ties} = rank(all);
  const r1 = ranks.slice(0, n1).reduce((s, v) => s + v, 0);
  const u1 = r1 - n1 * (n1 + 1) / 2, u = Math.max(u1, n1 * n2 - u1);
  let p;
  if ((n1 > 8 && n2 > 8) || ties.some((t) => t > 1)) {
    const tie = ties.reduce((s, t) => s + t ** 3 - t, 0);
    const sd = Math.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))));
    p = 0.5 * erfc((u - n1 * n2 / 2 - 0.5) / sd / Math.SQRT2);
  } else {
    p = uCdf(Math.round(n1 * n2 - u), n1, n2);
  }
  return Math.min(1, Math.max(0, 2 * p));
}

function untested(side, b) {
  if (b.error !== null) return `error in ${side}: ${b.error}`;
  if (b.aggregate) return `${side} holds aggregates only (no per-repetition times)`;
  if (!b.reps.length) return `no real_time in ${side}`;
  return null;
}

// One benchmark: compare.py's compare_pair and the gate's rule for it.
function comparePair(name, b, n, alpha, threshold) {
  const row = {name, base: b.median, new: n.median, change: null, lo: null, hi: null, note: null, p: null,
    verdict: "not tested", reason: null, nb: b.reps.length, nn: n.reps.length, baseDisturbed: b.disturbed, newDisturbed: n.disturbed};
  if (b.error === null && n.error === null && b.median !== null && n.median !== null) {
    row.change = b.median > 0 ? (n.median - b.median) / b.median * 100 : (n.median === b.median ? 0 : null);
    const num = n.ci_change, den = b.ci_change;
    if (num && den && den[0] > 0) { row.lo = (num[0] / den[1] - 1) * 100; row.hi = (num[1] / den[0] - 1) * 100; row.coverage = 1 - (1 - num[2]) - (1 - den[2]); }
    else row.note = b.aggregate || n.aggregate ? "no interval: aggregates only" : `not enough repetitions (n=${Math.min(row.nb, row.nn)})`;
  }
  row.reason = untested("base", b) || untested("new", n);
  if (!row.reason) {
    const need = repetitionsNeeded(alpha);
    if (Math.min(row.nb, row.nn) < 2) row.reason = `${row.nb} vs ${row.nn} repetitions: the U test needs 2+ per side (${need}+ to reach p < ${alpha})`;
    else {
      row.p = mannWhitney(b.reps, n.reps);
      if (minP(row.nb, row.nn) >= alpha) row.reason = `${row.nb} vs ${row.nn} repetitions cannot reach p < ${alpha} (needs ${need}+ per side)`;
      else row.verdict = row.p < alpha && row.change !== null && row.change !== 0 ? (row.change > 0 ? "slower" : "faster") : "no significant change";
    }
  }
  row.gate = row.reason ? "inconclusive" : (row.verdict === "slower" && row.change > threshold ? "fail" : "pass");
  return row;
}

function compareRuns(a, b, alpha, threshold) {
  const byName = new Map(b.benchmarks.map((x) => [x.name, x]));
  const rows = a.benchmarks.filter((x) => byName.has(x.name)).map((x) => comparePair(x.name, x, byName.get(x.name), alpha, threshold));
  const gates = rows.map((r) => r.gate);
  const gate = gates.includes("fail") ? "fail" : gates.includes("inconclusive") || !gates.length ? "inconclusive" : "pass";
  const ratios = rows.filter((r) => r.change !== null && r.base > 0 && r.new > 0).map((r) => Math.log(r.new / r.base));
  const geomean = ratios.length ? Math.exp(ratios.reduce((s, v) => s + v, 0) / ratios.length) : null;
  const rankOf = {fail: 0, inconclusive: 1, pass: 2};
  rows.sort((x, y) => (rankOf[x.gate] - rankOf[y.gate]) || ((y.change === null ? -Infinity : y.change) - (x.change === null ? -Infinity : x.change)));
  return {rows, gate, geomean, onlyA: a.benchmarks.filter((x) => !byName.has(x.name)).length,
    onlyB: b.benchmarks.length - rows.length};
}

// What makes the two runs' times incomparable: machine and build fields, bench's settings.
function differences(a, b) {
  const out = [];
  const diff = (what, x, y) => {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const u = JSON.stringify(x[k]), v = JSON.stringify(y[k]);
      if (x[k] !== null && x[k] !== undefined && y[k] !== null && y[k] !== undefined && u !== v) out.push(`${what} ${k}: ${u} vs ${v}`);
    }
  };
  diff("machine", a.machine_fields, b.machine_fields);
  diff("build", a.build_fields, b.build_fields);
  const volatile = /^parbench_(git_revision|revision_source|noise_efficiency.*|end_time|commit_order|commit_time|mpi|affinity_cpus|.*_out)$/;
  const settings = (c) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith("parbench_") && !volatile.test(k) && !(k in {})));
  diff("workload parameter", settings(a.context), settings(b.context));
  return out;
}

function compareRow(r, unit) {
  return el("tr", {class: "cmp gate-" + r.gate, "data-name": r.name, "data-change": r.change === null ? "" : r.change.toPrecision(6),
    "data-p": r.p === null ? "" : r.p.toPrecision(6), "data-gate": r.gate, "data-verdict": r.verdict},
  el("td", {}, r.name),
  el("td", {class: "num"}, fmtSeconds(r.base) + (r.baseDisturbed ? " ⚠" : "")),
  el("td", {class: "num"}, fmtSeconds(r.new) + (r.newDisturbed ? " ⚠" : "")),
  el("td", {class: "num " + (r.verdict === "slower" ? "worse" : r.verdict === "faster" ? "better" : "")}, fmtPct(r.change)),
  el("td", {class: "num"}, r.lo === null ? (r.note || "—") : `${fmtPct(r.lo)} … ${fmtPct(r.hi)} (${(r.coverage * 100).toFixed(1)}%)`),
  el("td", {class: "num"}, fmtP(r.p)),
  el("td", {}, r.verdict),
  el("td", {class: r.gate}, r.gate + (r.reason ? ": " + r.reason : "")));
}

function runSelect(id, value) {
  const s = el("select", {id}, ...site().runs.slice().reverse().map((r) => el("option", {value: String(r.id)}, runLabel(r))));
  s.value = String(value);
  return s;
}

start("Compare two runs", async (main) => {
  const runs = site().runs;
  const state = getState();
  const last = runs[runs.length - 1];
  const sameMachine = runs.filter((r) => r.machine === last.machine && r.build === last.build);
  const a = runSelect("base-run", state.a || (sameMachine.length > 1 ? sameMachine[sameMachine.length - 2] : runs[0]).id);
  const b = runSelect("new-run", state.b || last.id);
  const t = el("input", {type: "number", id: "threshold", min: 0, step: 0.5, value: state.t || "5", size: 5});
  const alpha = el("input", {type: "number", id: "alpha", min: 0.001, max: 0.5, step: 0.01, value: state.alpha || "0.05", size: 5});
  main.append(el("div", {class: "controls"}, "base ", a, " new ", b), el("div", {class: "controls"}, "gate threshold % ", t, " U test α ", alpha));
  const out = el("div", {id: "comparison"});
  main.appendChild(out);
  const render = async () => {
    setState({a: a.value, b: b.value, t: t.value === "5" ? "" : t.value, alpha: alpha.value === "0.05" ? "" : alpha.value});
    const [ra, rb] = await Promise.all([a.value, b.value].map((id) => loadRun(id)));
    const threshold = Number(t.value), level = Number(alpha.value);
    const c = compareRuns(ra, rb, level, threshold);
    const failed = c.rows.filter((r) => r.gate === "fail").length, unsure = c.rows.filter((r) => r.gate === "inconclusive").length;
    const warn = differences(ra, rb);
    out.replaceChildren(
      ...warn.map((w) => el("div", {class: "warning"}, "Not comparable: " + w)),
      el("p", {id: "gate-line"}, "Gate (threshold ", String(threshold), "%): ", el("span", {class: c.gate}, c.gate.toUpperCase()),
        ` — ${failed} of ${c.rows.length} benchmark(s) significantly slower by more than the threshold (two-sided Mann-Whitney U, p < ${level}); ${unsure} could not be tested. ` +
        `Geometric mean of new / base: ${c.geomean === null ? "—" : c.geomean.toFixed(3)}. Only in base: ${c.onlyA}; only in new: ${c.onlyB}.`),
      el("table", {id: "compare-table"}, el("thead", {}, el("tr", {}, ...["benchmark", "base median", "new median", "change", "change's interval", "U test p", "verdict", "gate"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...c.rows.map((r) => compareRow(r)))));
  };
  [a, b, t, alpha].forEach((x) => x.addEventListener("change", () => render().catch((e) => pageError(String(e)))));
  await render();
});
