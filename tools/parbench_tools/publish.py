"""parbench-tools publish: the run store as a static site that opens from file:// with no server
and no network. The pages (HTML, JavaScript, CSS) are package data in site/; Chart.js comes
from Debian's libjs-chart.js and is copied into the site; the data are JavaScript files
(data/*.js: a browser reads local scripts from file://, not local JSON), one per series and per
run, loaded when a page needs them. The site is written into a temporary folder beside --out
and moved into place when complete: a failure leaves no partial site and no temporary files."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from .errors import ToolError

SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
CHART_JS = "/usr/share/javascript/chart.js/chart.min.js"  # Debian's libjs-chart.js (3.9)
CHART_JS_COPYRIGHT = "/usr/share/doc/libjs-chart.js/copyright"
MARKER = ".parbench-site"  # a folder publish wrote (and may replace)


def _script(name: str, value) -> str:
    """A data file: `parbenchData(NAME, {...});` (site/common.js defines parbenchData)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return f"parbenchData({json.dumps(name)},{text});\n"


def _write(folder: str, path: str, text: str) -> None:
    full = os.path.join(folder, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def _db_label(db: str) -> str:
    """The store as the site names it: a file's name, a URL without its password."""
    if "://" not in db:
        return os.path.basename(db)
    import sqlalchemy as sa
    try:
        return sa.engine.make_url(db).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "a database"


def site_json(data, db: str) -> dict:
    """data/site.js: what every page reads (the runs, the fingerprints, the overview)."""
    import datetime as dt

    from . import changepoint as cpd
    from .publish_data import overview, run_json
    return {"title": data.options.title, "db": _db_label(db), "pin": data.pin,
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "branch": data.options.branch,
            "method": {"window": cpd.WINDOW, "max_p": data.options.max_p,
                       "min_points": cpd.MIN_POINTS, "confirm_after": cpd.CONFIRM_AFTER,
                       "min_change_pct": data.options.min_change_pct},
            "runs": [run_json(r, data) for r in data.runs],
            "builds": data.builds, "machines": data.machines, "series": overview(data)}


def _static(folder: str) -> None:
    """The pages, and Chart.js (with its copyright) from Debian's package."""
    if not os.path.isfile(CHART_JS):
        raise ToolError("publish", f"needs Chart.js ({CHART_JS} is missing: apt-get install "
                                   "libjs-chart.js)")
    shutil.copytree(SITE, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    os.makedirs(os.path.join(folder, "vendor"), exist_ok=True)
    shutil.copyfile(CHART_JS, os.path.join(folder, "vendor", "chart.min.js"))
    if os.path.isfile(CHART_JS_COPYRIGHT):
        shutil.copyfile(CHART_JS_COPYRIGHT, os.path.join(folder, "vendor", "chart.js.copyright"))


def build_site(store, options, folder: str) -> dict:
    """Writes the whole site into `folder`; what it holds, counted."""
    from .publish_data import load, run_pages, series_json
    from .publish_executors import executors
    from .publish_feeds import atom_feed, change_points, json_feed, regressions_text
    from .publish_machines import machines_page
    data = load(store, options)
    _static(folder)
    _write(folder, "data/site.js", _script("site", site_json(data, store.db)))
    for report in data.reports:
        body = series_json(report, data)
        _write(folder, f"data/series/{body['id']}.js", _script("series:" + body["id"], body))
    for run_id, body in run_pages(store, data):
        _write(folder, f"data/runs/{run_id}.js", _script(f"run:{run_id}", body))
    points = change_points(data)
    _write(folder, "data/regressions.js", _script("regressions", points))
    _write(folder, "data/executors.js", _script("executors", executors(data)))
    _write(folder, "data/machines.js", _script("machines", machines_page(store, data)))
    _write(folder, "feed.json", json_feed(points, data))
    _write(folder, "feed.atom", atom_feed(points, data))
    _write(folder, "regressions.txt", regressions_text(points, data))
    _write(folder, MARKER, "written by parbench-tools publish; publish may replace this "
                           "folder\n")
    return {"runs": len(data.runs), "series": len(data.reports), "change_points": len(points),
            "open_regressions": sum(c["regression"] and c["status"] == "open" for c in points),
            "confirmed": sum(c["open_regression"] for c in points)}


def check_db(db: str | None) -> str:
    """The store to read: it must exist (publish never creates an empty one)."""
    from .store import default_path
    db = db or default_path()
    path = db[len("sqlite:///"):] if db.startswith("sqlite:///") else db
    if "://" not in path and not os.path.isfile(path):
        what = "is a directory, not a store" if os.path.isdir(path) else "does not exist"
        raise ToolError(db, f"{what} (make a store with `parbench-tools history add` or "
                            "`history import`; --db names it)")
    return db


def check_out(out: str) -> str:
    """--out: a new folder, an empty one, or a site publish wrote before (replaced)."""
    out = os.path.abspath(out)
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise ToolError(out, "is a file, not a folder for the site")
        if os.listdir(out) and not os.path.isfile(os.path.join(out, MARKER)):
            raise ToolError(out, "is a folder that publish did not write and is not empty: "
                                 "give a new or empty folder")
    return out


def _move_into_place(tmp: str, out: str) -> None:
    """The finished site replaces --out (a previous site is removed only after the move)."""
    os.chmod(tmp, 0o755)
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=".parbench-old-", dir=os.path.dirname(out))
        os.rename(out, os.path.join(old, "site"))
    os.rename(tmp, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def publish(db: str | None, out: str, options) -> dict:
    """Checks --db and --out, builds the site in a temporary folder beside --out, moves it
    into place."""
    from .store import open_store
    db = check_db(db)
    out = check_out(out)
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".parbench-site-", dir=parent)
    except OSError as e:
        raise ToolError(out, f"cannot write there ({e.strerror or e})") from None
    try:
        with open_store(db, create=False) as store:
            counts = build_site(store, options, tmp)
        _move_into_place(tmp, out)
    except OSError as e:
        raise ToolError(out, f"cannot write the site ({e.strerror or e}"
                             f"{': ' + e.filename if e.filename else ''})") from None
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return counts


def cmd_publish(args) -> int:
    from .history_cli import _min_change
    from .publish_data import Options
    if not 0 < args.max_p < 1:
        raise ToolError("--max-p", f"must be between 0 and 1, not '{args.max_p}'")
    lookup, default = _min_change(args)
    options = Options(branch=args.branch, pin=args.pin, thresholds=lookup,
                      min_change_pct=default, max_p=args.max_p, title=args.title,
                      site_url=args.site_url)
    counts = publish(args.db, args.out, options)
    print(f"wrote {args.out}: {counts['runs']} run(s), {counts['series']} series, "
          f"{counts['change_points']} change point(s), {counts['open_regressions']} open "
          f"regression(s) ({counts['confirmed']} confirmed); open index.html")
    return 0


def add_parser(sub, make_parser) -> None:
    from .history_cli import DB_HELP, _threshold_options, cpd_max_p
    s = make_parser(
        sub, "publish", "the run store as a static site (opens from file://, no network)",
        "A static site of the store: an overview of every series (latest value, change against "
        "its baseline and a pinned revision, a sparkline, a status), each series' trend with "
        "its change points, the regressions (with a JSON and an Atom feed and a plain-text "
        "list), the executors (speedup, efficiency, METG, where threads overtake processes, "
        "over revisions), the machines side by side, any two runs compared, and each run. "
        "Finds and keeps the change points as `history changes` does. Open SITE/index.html.")
    s.add_argument("--db", help=DB_HELP)
    s.add_argument("--out", required=True, metavar="SITE/",
                   help="the site's folder: new, empty, or a site publish wrote (replaced)")
    s.add_argument("--pin", metavar="REV", help="compare each series' latest value with its "
                                                "value at this revision too (a unique prefix "
                                                "is enough)")
    s.add_argument("--branch", help="only this branch's runs (default: every branch)")
    s.add_argument("--title", default="parbench", help="the site's title (default %(default)s)")
    s.add_argument("--site-url", metavar="URL", help="where the site will be served: the feeds' "
                                                     "links become absolute")
    _threshold_options(s, "the smallest change that counts, in percent, for series no "
                          "thresholds-file line matches (default %(default)s)")
    s.add_argument("--max-p", type=float, default=cpd_max_p(), metavar="P",
                   help="the change points' significance level (default %(default)s)")
    s.set_defaults(func=cmd_publish)
