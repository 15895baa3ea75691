#!/usr/bin/python3
"""Drops the paths of the machine the runs were made on from run.sh's files (gzipped JSON),
in place: the executable by its name, the trace by its file name."""
import gzip
import json
import os
import sys

for path in sys.argv[1:]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    context = data["context"]
    context["executable"] = os.path.basename(context["executable"])
    if "parbench_timeline_out" in context:
        context["parbench_timeline_out"] = os.path.basename(context["parbench_timeline_out"])
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
