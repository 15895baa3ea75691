#!/bin/sh
# Regenerates results/history/ from the runs of the project's own past revisions: the runs,
# packed (runs.tar.xz: the committed source, without machine paths), what `history changes`
# finds in them at this tool's default significance (changes.md; changes.json: the two series
# of the thread pool's overhead, every run; and a plot of one of them), and the stored runs'
# list (runs.md). The store is made in a temporary folder and not kept: `history import
# results/history/runs.tar.xz` makes it again. Run from the repository's top folder:
#   results/history/make.sh RUNS_FOLDER [MORE_RUNS_FOLDER...]
# The runs were made by building each listed revision (Release, bench only) and running
# overhead and roundtrip at 5 repetitions (with --profile=full where bench has --profile) on
# the reference machine; a second run of the
# revisions whose first was disturbed came from results/history/rerun.sh (two reruns: the six
# of the first 15 revisions, then the five later ones). At least one folder
# is required.
set -eu
[ $# -gt 0 ] || { echo "usage: results/history/make.sh RUNS_FOLDER [MORE_RUNS_FOLDER...]" >&2; exit 2; }
out=results/history
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
db=$work/store.sqlite
/usr/bin/python3 "$out/pack.py" "$out/runs.tar.xz" "$@"
tools/parbench-tools history import "$out/runs.tar.xz" --db "$db" --branch main --git . > /dev/null
tools/parbench-tools history runs --db "$db" | sed "s|$db|store.sqlite|" > "$out/runs.md"
# Exit 1 means an open regression: that is the finding, not a failure of this script.
tools/parbench-tools history changes --db "$db" --out "$out/changes.md" || [ $? = 1 ]
tools/parbench-tools history changes --db "$db" --points --no-executor-series \
  --filter '^overhead/threads/workers:(1|2)$' --format json --out "$out/changes.json" || [ $? = 1 ]
tools/parbench-tools history changes --db "$db" --no-executor-series \
  --filter '^overhead/threads/workers:2$' --plot "$out" > /dev/null || [ $? = 1 ]
