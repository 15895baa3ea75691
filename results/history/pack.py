#!/usr/bin/python3
"""Packs runs into results/history/runs.tar.xz, the committed source of the history store:
every RUN.json of the folders given (trace files aside), named as in its folder, in name
order, with fixed times and owners (the same runs give the same archive) and without the
paths of the machine they ran on (the context's `executable` and `parbench_timeline_out` keep
their file names only). Each run carries its commit's order and time from this checkout's git
(parbench_commit_order, parbench_commit_time), so that `history import` orders the runs
without a checkout. Run from the repository's top folder:
Usage: results/history/pack.py OUT.tar.xz FOLDER [FOLDER...]"""

import io
import json
import os
import subprocess
import sys
import tarfile


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def scrubbed(path: str) -> bytes:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    context = data.get("context", {})
    for key in ("executable", "parbench_timeline_out"):
        if isinstance(context.get(key), str):
            context[key] = os.path.basename(context[key])
    revision = context.get("parbench_git_revision", "").removesuffix("-dirty")
    context["parbench_commit_order"] = git("rev-list", "--count", revision + "^{commit}")
    context["parbench_commit_time"] = git("show", "-s", "--format=%cI", revision + "^{commit}")
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.rsplit("Usage: ", 1)[1], file=sys.stderr)
        return 2
    out, folders = argv[0], argv[1:]
    runs = sorted((name, os.path.join(folder, name)) for folder in folders
                  for name in os.listdir(folder)
                  if name.endswith(".json") and not name.endswith(".trace.json"))
    with tarfile.open(out, "w:xz", format=tarfile.PAX_FORMAT) as archive:
        for name, path in runs:
            body = scrubbed(path)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), 0, 0o644
            archive.addfile(info, io.BytesIO(body))
    print(f"{len(runs)} runs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
