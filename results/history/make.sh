#!/bin/sh
# Regenerates results/history/ from the runs of the project's own past revisions: the store
# (store.sqlite) and what `history changes` finds in it at this tool's default significance
# (changes.md; changes.json: the two series of the thread pool's overhead, every run; and a
# plot of one of them). Run from the repository's top folder:
#   results/history/make.sh RUNS_FOLDER [MORE_RUNS_FOLDER...]
# The runs were made by building each listed revision (Release, bench only) and running
# overhead and roundtrip at 5 repetitions on the reference machine; a second run of the
# revisions whose first was disturbed came from results/history/rerun.sh (runs.md lists them
# all). At least one folder is required.
set -eu
[ $# -gt 0 ] || { echo "usage: results/history/make.sh RUNS_FOLDER [MORE_RUNS_FOLDER...]" >&2; exit 2; }
out=results/history
rm -f "$out/store.sqlite"
tools/parbench-tools history import "$@" --db "$out/store.sqlite" --branch main --git .
tools/parbench-tools history runs --db "$out/store.sqlite" > "$out/runs.md"
# Exit 1 means an open regression: that is the finding, not a failure of this script.
tools/parbench-tools history changes --db "$out/store.sqlite" --out "$out/changes.md" || [ $? = 1 ]
tools/parbench-tools history changes --db "$out/store.sqlite" --points --no-executor-series \
  --filter '^overhead/threads/workers:(1|2)$' --format json --out "$out/changes.json" || [ $? = 1 ]
tools/parbench-tools history changes --db "$out/store.sqlite" --no-executor-series \
  --filter '^overhead/threads/workers:2$' --plot "$out" > /dev/null || [ $? = 1 ]
