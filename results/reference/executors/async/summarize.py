"""Medians of run.sh's repetitions, old build against new: summary.json (what docs quote)."""
import glob
import json
import os
import statistics
import sys

COUNTERS = ("cpu_per_request_us", "server_cpu_per_request_us", "ideal_fraction",
            "interference_cpu_frac", "steal_frac")


def rows(out_dir):
    """{(config, side, benchmark): {counter: [values per repetition]}}."""
    table = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "*.*.*.json"))):
        config, side, _ = os.path.basename(path).split(".", 2)
        with open(path) as f:
            run = json.load(f)
        for b in run["benchmarks"]:
            cell = table.setdefault((config, side, b["run_name"]), {})
            for counter in COUNTERS:
                if counter in b:
                    cell.setdefault(counter, []).append(b[counter])
            ms = b["real_time"] / 1e6 if b["time_unit"] == "ns" else b["real_time"]
            cell.setdefault("real_time_ms", []).append(ms)
    return table


def wrk(out_dir):
    """wrk's lines by body size: medians of each field."""
    result = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "wrk_*B.txt"))):
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if lines:
            result[os.path.basename(path)[4:-4]] = {
                key: statistics.median(line[key] for line in lines) for key in lines[0]} | {
                "repetitions": len(lines)}
    return result


def main(argv=None):
    out_dir = (argv or sys.argv[1:])[0]
    summary = {"benchmarks": [], "wrk": wrk(out_dir)}
    for (config, side, name), cell in sorted(rows(out_dir).items()):
        summary["benchmarks"].append({
            "config": config, "build": side, "benchmark": name,
            "repetitions": len(cell["real_time_ms"]),
            "median": {k: statistics.median(v) for k, v in cell.items()},
            "values": cell})
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
