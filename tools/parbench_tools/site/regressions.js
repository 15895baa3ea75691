// The change points of every series with the status kept in the store (`parbench-tools history
// mark ID expected|false-positive|fixed|open` sets it), open regressions first; the feeds.
"use strict";

function regressionRow(c) {
  const s = c.series;
  const kind = (c.regression ? "regression" : "improvement") + (c.confirmed ? ", confirmed" : ", unconfirmed");
  return el("tr", {class: "cp " + (c.regression ? "regression" : "improvement"), "data-status": c.status},
    el("td", {}, el("span", {class: "status " + (c.status === "open" ? (c.regression ? "regressed" : "improved") : "stable")}, c.status), c.note ? el("div", {class: "note"}, c.note) : null),
    el("td", {}, kind),
    el("td", {}, el("a", {href: `trend.html#s=${s.id}&cp=${c.id.slice(0, 10)}`}, s.name), " ", el("span", {class: "note"}, s.metric)),
    el("td", {class: "note"}, c.hosts.join(", ") + " · " + s.machine.slice(0, 8) + " · " + s.build.slice(0, 8) + " · " + s.branch),
    el("td", {}, el("code", {}, c.last_good), " → ", el("code", {}, c.first_bad)),
    el("td", {class: "num"}, fmtValue(s.unit, c.before) + " → " + fmtValue(s.unit, c.after)),
    el("td", {class: "num " + (c.regression ? "worse" : "better")}, fmtPct(c.change_pct)),
    el("td", {class: "num"}, fmtP(c.p)),
    el("td", {class: "num"}, c.runs_before + " / " + c.runs_after),
    el("td", {}, el("code", {title: "mark it: expected, false-positive, fixed or open"}, `history mark ${c.id.slice(0, 10)} …`)));
}

start("Regressions", (main) => {
  const points = PB.data.regressions;
  const state = getState();
  const open = points.filter((c) => c.regression && c.status === "open");
  main.append(
    el("p", {id: "regression-summary"}, `${open.length} open regression(s) (${open.filter((c) => c.confirmed).length} confirmed, needing ${site().method.confirm_after} runs past the change), ${points.length} change point(s) in all. `,
      "Feeds of the open regressions: ", el("a", {href: "feed.json"}, "JSON Feed"), ", ", el("a", {href: "feed.atom"}, "Atom"), ", ", el("a", {href: "regressions.txt"}, "plain text"), "."),
    el("p", {class: "note"}, "A status is kept in the store: ", el("code", {}, "parbench-tools history mark ID expected|false-positive|fixed|open [--note WHY]"),
      " (expected restarts the baseline there; false-positive and fixed close it). Publish again to show it."));
  const which = el("select", {id: "which"}, el("option", {value: "open"}, "open (regressions and improvements)"), el("option", {value: "regressions"}, "open regressions"), el("option", {value: "all"}, "every change point, marked ones too"));
  which.value = state.which || "open";
  const q = el("input", {type: "search", id: "filter", placeholder: "filter: a regular expression", value: state.q || "", size: 30});
  const body = el("tbody");
  const table = el("table", {id: "regressions"}, el("thead", {}, el("tr", {}, ...["status", "kind", "series", "host · machine · build · branch", "last good → first bad", "before → after", "change", "p", "runs before / after", "mark"].map((h) => el("th", {}, h)))), body);
  main.append(el("div", {class: "controls"}, which, q), table);
  const render = () => {
    let re = null;
    try { re = q.value ? new RegExp(q.value, "i") : null; } catch (e) { re = null; }
    const rows = points.filter((c) => (which.value === "all" || (c.status === "open" && (which.value === "open" || c.regression))) && (!re || re.test(c.series.label)));
    body.replaceChildren(...(rows.length ? rows.map(regressionRow) : [el("tr", {}, el("td", {colspan: 10}, "None."))]));
    setState({which: which.value === "open" ? "" : which.value, q: q.value});
  };
  which.addEventListener("change", render);
  q.addEventListener("input", render);
  render();
});
