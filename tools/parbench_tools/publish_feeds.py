"""The regressions page's data and its feeds: every change point found (with the status kept in
the store, which `history mark` sets), as JSON for the page, as a JSON Feed and an Atom feed of
the open regressions, and as a plain-text list."""

from __future__ import annotations

import datetime as dt
import json
from xml.sax.saxutils import escape

from . import changes as ch
from .history import TIME_METRICS
from .publish_data import Data, change_json, key_json, _positions
from .speedup import format_seconds


def change_points(data: Data) -> list[dict]:
    """Every change point with its series, open regressions first (confirmed before
    unconfirmed), then open improvements, then the marked ones; the largest change first."""
    out = []
    for report in data.reports:
        positions = _positions(report)
        hosts = sorted({p.run.host_name for p in report.points if p.run.host_name})
        for f in report.found:
            out.append(dict(change_json(f, positions), series=key_json(report), hosts=hosts,
                            open_regression=f.open_regression,
                            first_bad_time=f.first_bad.run.commit_time
                            or f.first_bad.run.start_time))
    rank = {ch.OPEN: 0, ch.EXPECTED: 1, ch.FIXED: 2, ch.FALSE_POSITIVE: 3}
    out.sort(key=lambda c: (rank.get(c["status"], 4), not c["regression"],
                            not c["confirmed"], -abs(c["change_pct"] or 0)))
    return out


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in TIME_METRICS or metric == "metg":
        return format_seconds(value)
    return f"{value:.3g}" + ("×" if metric == "speedup" else "")


def describe(c: dict) -> str:
    """'overhead/processes/workers:1 real_time +45.2% (1.2 ms → 1.7 ms), p 3e-05, 632f47125523
    → 27edcec26f56, confirmed, open'."""
    s = c["series"]
    p = "—" if c["p"] is None else f"{c['p']:.2g}"
    return (f"{s['name']} {s['metric']} {c['change_pct']:+.1f}% ({_value(s['metric'], c['before'])}"
            f" → {_value(s['metric'], c['after'])}), p {p}, {c['last_good']} → {c['first_bad']}, "
            f"{'confirmed' if c['confirmed'] else 'unconfirmed'}, {c['status']}")


def trend_link(c: dict, base: str = "") -> str:
    return f"{base}trend.html#s={c['series']['id']}&cp={c['id'][:10]}"


def regressions_text(points: list[dict], data: Data) -> str:
    """One line per open regression (what a script greps), then the counts."""
    regressions = [c for c in points if c["regression"] and c["status"] == ch.OPEN]
    lines = [f"# {data.options.title}: {len(regressions)} open regression(s) "
             f"({sum(c['confirmed'] for c in regressions)} confirmed) in "
             f"{len(data.reports)} series of {len(data.runs)} run(s)",
             "# id  machine  build  branch  series  change (before → after), p, last good → "
             "first bad, confirmed, status"]
    for c in regressions:
        s = c["series"]
        lines.append(f"{c['id'][:10]}  {s['machine'][:8]}  {s['build'][:8]}  {s['branch']}  "
                     + describe(c))
    return "\n".join(lines) + "\n"


def _updated(points: list[dict]) -> str:
    times = [c["first_bad_time"] for c in points if c.get("first_bad_time")]
    return max(times) if times else dt.datetime.now(dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def json_feed(points: list[dict], data: Data) -> str:
    """A JSON Feed (version 1.1) of the open regressions."""
    base = (data.options.site_url or "").rstrip("/") + "/" if data.options.site_url else ""
    items = [{"id": f"parbench-change-point:{c['id']}", "url": trend_link(c, base),
              "title": f"{'Regression' if c['confirmed'] else 'Possible regression'}: "
                       f"{c['series']['label']} {c['change_pct']:+.1f}%",
              "content_text": describe(c), "date_published": c["first_bad_time"],
              "_parbench": {k: c[k] for k in ("before", "after", "change_pct", "p",
                                              "last_good", "first_bad", "confirmed",
                                              "status")}}
             for c in points if c["regression"] and c["status"] == ch.OPEN]
    feed = {"version": "https://jsonfeed.org/version/1.1",
            "title": f"{data.options.title}: open regressions", "items": items}
    if base:
        feed["home_page_url"] = base + "regressions.html"
        feed["feed_url"] = base + "feed.json"
    return json.dumps(feed, indent=1, ensure_ascii=False) + "\n"


def atom_feed(points: list[dict], data: Data) -> str:
    """An Atom feed of the open regressions (links relative to the site unless --site-url)."""
    base = (data.options.site_url or "").rstrip("/") + "/" if data.options.site_url else ""
    open_ = [c for c in points if c["regression"] and c["status"] == ch.OPEN]
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<title>{escape(data.options.title)}: open regressions</title>",
           "<id>urn:parbench:regressions</id>", f"<updated>{_updated(open_)}</updated>",
           "<author><name>parbench-tools publish</name></author>",
           f'<link rel="alternate" href="{escape(base)}regressions.html"/>']
    for c in open_:
        out += ["<entry>", f"<id>urn:parbench:change-point:{c['id']}</id>",
                f"<title>{escape(c['series']['label'])} {c['change_pct']:+.1f}%</title>",
                f"<updated>{c['first_bad_time'] or _updated(open_)}</updated>",
                f'<link rel="alternate" href="{escape(trend_link(c, base))}"/>',
                f"<summary>{escape(describe(c))}</summary>", "</entry>"]
    return "\n".join(out + ["</feed>"]) + "\n"
