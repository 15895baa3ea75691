"""Functions stay short enough to read at once: no Python function of the tools (the package,
the anchors, the publishing helper, scripts/regenerate and scripts/hosts) is longer than ~80
lines, the project's bound."""

import ast
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIMIT = 80  # lines, from `def` to the last line of the body
SOURCES = ("tools/parbench_tools", "tools/anchors", "tools/bench_publish.py",
           "scripts/regenerate", "scripts/hosts")


def python_files() -> list[str]:
    files = []
    for source in SOURCES:
        path = os.path.join(ROOT, source)
        if os.path.isfile(path):
            files.append(path)
        for folder, _, names in os.walk(path):
            files += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    return files


def function_lengths(path: str) -> list[tuple[int, str]]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    rel = os.path.relpath(path, ROOT)
    return [(node.end_lineno - node.lineno + 1, f"{rel}:{node.lineno} {node.name}")
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_the_sources_are_found():
    files = python_files()
    assert any(f.endswith("cli.py") for f in files)
    assert any(f.endswith("regenerate") for f in files)


def test_no_python_function_is_longer_than_the_bound():
    lengths = [row for path in python_files() for row in function_lengths(path)]
    too_long = sorted((row for row in lengths if row[0] > LIMIT), reverse=True)
    assert not too_long, f"functions over {LIMIT} lines: {too_long}"


def test_the_measure_counts_a_whole_function(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("def f():\n    x = 1\n\n    return x\n\n\ndef g():\n    pass\n")
    assert sorted(n for n, _ in function_lengths(str(path))) == [2, 4]
