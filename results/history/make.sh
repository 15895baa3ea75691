#!/bin/sh
# Regenerates results/history/ from the runs of the project's own past revisions: the store
# (store.sqlite) and what `history changes` finds in it, at this tool's default significance
# (changes.md) and at Apache Otava's (changes-otava.md, changes-otava.json). Run from the
# repository's top folder: results/history/make.sh RUNS_FOLDER. The runs were made by
# building each listed revision (Release, bench only) and running overhead and roundtrip at 5
# repetitions on the reference machine (runs.md lists them). RUNS_FOLDER is required.
set -eu
runs=${1:?usage: results/history/make.sh RUNS_FOLDER}
out=results/history
rm -f "$out/store.sqlite"
tools/parbench-tools history import "$runs" --db "$out/store.sqlite" --branch main --git .
tools/parbench-tools history runs --db "$out/store.sqlite" > "$out/runs.md"
# Exit 1 means an open regression: that is the finding, not a failure of this script.
tools/parbench-tools history changes --db "$out/store.sqlite" --out "$out/changes.md" || [ $? = 1 ]
tools/parbench-tools history changes --db "$out/store.sqlite" --max-p 0.001 \
  --out "$out/changes-otava.md" || [ $? = 1 ]
tools/parbench-tools history changes --db "$out/store.sqlite" --max-p 0.001 --points \
  --no-executor-series --filter '^overhead/(serial|threads|processes)' --format json \
  --out "$out/changes-otava.json" || [ $? = 1 ]
