"""The user guide holds: README.md and docs/*.md.

- Every fenced example marked runnable (`<!-- runnable ... -->` on the line before the fence)
  is run as written, from a fresh-clone layout in a temporary directory (tools/, docs/,
  examples/, include/, build/ reached from there; results/ copied, so no example can change it). It
  exits as the page says: `exit=` gives one status, or one per command; `needs=FILE` skips it
  where FILE is missing. Unless `output=any` says the output depends on the machine, what it
  prints is compared line by line ("..." stands for any number of lines). A block with a
  `$ tools/parbench-tools` or `$ build/...` line must say it is runnable, or why it is not
  (`<!-- not run: WHY -->`).
- Rendered tables quoted from a tool (between `<!-- output of: COMMAND -->` and
  `<!-- end of output -->`) are lines that command prints on the committed files.
- Every relative link points at a file that exists, and every #anchor at a heading there.
- Every page starts with a table of contents that links each of its sections.
- The file counts in docs/extending.md are derived from the tree.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = os.path.join(ROOT, "docs")
# The docs/ pages other helpers' branches add (the index marks them "coming" until they land).
PAGES = ["README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(DOCS) if name.endswith(".md"))
MARKER = re.compile(r"^<!-- (runnable|not run)(?::? ?(.*?))? -->$")
EXAMPLE = re.compile(r"^\$ (tools/parbench-tools|build/)")
# A line of a docs page's ```sh block that runs something of the repository, with or without a
# "$ " prompt (README.md, the lead's page, is left to its own test).
SHELL_COMMAND = re.compile(r"^(\$ )?(\w+=\S+ )*(taskset -c \S+ )?"
                           r"(tools/parbench-tools|build/|mpirun |scripts/)")


@dataclass
class Command:
    text: str          # the shell command, continuation lines joined
    expected: list     # the lines the page shows after it
    line: int          # where it starts on the page


@dataclass
class Block:
    page: str
    line: int
    marker: str | None      # "runnable", "not run" or None
    options: str            # what follows the marker's colon
    commands: list = field(default_factory=list)


def _read(page: str) -> list[str]:
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return f.read().split("\n")


def _fences(lines: list[str]):
    """(index of the opening fence, index of the closing fence) of each fenced block."""
    start = None
    for i, text in enumerate(lines):
        if text.startswith("```"):
            if start is None:
                start = i
            else:
                yield start, i
                start = None


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(body):
        if not body[i].startswith("$ "):
            if commands:
                commands[-1].expected.append(body[i])
            i += 1
            continue
        text, start = body[i][2:], i
        while text.endswith("\\") and i + 1 < len(body):
            i += 1
            text = text + "\n" + body[i]
        commands.append(Command(text, [], first_line + start))
        i += 1
    return commands


def _blocks(page: str) -> list[Block]:
    lines = _read(page)
    blocks = []
    for start, end in _fences(lines):
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        match = MARKER.match(before.strip())
        block = Block(page, start + 1, match.group(1) if match else None,
                      (match.group(2) or "") if match else "")
        block.commands = _commands(lines[start + 1:end], start + 2)
        blocks.append(block)
    return blocks


ALL_BLOCKS = [b for page in PAGES for b in _blocks(page)]
RUNNABLE = [b for b in ALL_BLOCKS if b.marker == "runnable"]


def _option(block: Block, name: str) -> str | None:
    match = re.search(rf"\b{name}=(\S+)", block.options)
    return match.group(1) if match else None


def _exits(block: Block) -> list[int]:
    stated = [int(s) for s in (_option(block, "exit") or "0").split(",")]
    if len(stated) == 1:
        return stated * len(block.commands)
    assert len(stated) == len(block.commands), \
        f"{block.page}:{block.line}: exit= names {len(stated)} statuses for " \
        f"{len(block.commands)} commands"
    return stated


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line "..." in `expected` stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and _matches(expected[1:], actual[1:])


def _trim(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


@pytest.fixture(scope="session")
def clone(tmp_path_factory) -> str:
    """A directory laid out like a fresh clone: results/ copied (examples may not change the
    committed runs), the rest reached through symbolic links."""
    where = tmp_path_factory.mktemp("clone")
    shutil.copytree(os.path.join(ROOT, "results"), where / "results")
    for name in ("tools", "docs", "examples", "include", "build"):
        os.symlink(os.path.join(ROOT, name), where / name)
    return str(where)


def test_every_example_says_whether_it_runs():
    unmarked = [f"{b.page}:{b.line}" for b in ALL_BLOCKS if b.marker is None
                and any(EXAMPLE.match("$ " + c.text) for c in b.commands)]
    assert not unmarked, "examples with neither <!-- runnable --> nor <!-- not run: WHY -->: " \
        + ", ".join(unmarked)
    unmarked_shell = [f"{page}:{start + 1}" for page in PAGES if page.startswith("docs")
                      for block, (start, end) in zip(_blocks(page), _fences(_read(page)))
                      if block.marker is None and _read(page)[start].strip() == "```sh"
                      and any(SHELL_COMMAND.match(line) for line in _read(page)[start + 1:end])]
    assert not unmarked_shell, "sh blocks with neither <!-- runnable --> nor <!-- not run: " \
        "WHY -->: " + ", ".join(unmarked_shell)
    assert all(b.options.strip() for b in ALL_BLOCKS if b.marker == "not run"), \
        "a <!-- not run: WHY --> marker says why"
    assert RUNNABLE, "no runnable example found"


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b.page}:{b.line}" for b in RUNNABLE])
def test_a_runnable_example_runs_as_written(block, clone, tmp_path):
    assert block.commands, f"{block.page}:{block.line}: a runnable block has no $ command"
    for command in block.commands:
        binary = re.match(r"(build/[\w.-]+)", command.text)
        if binary and not os.path.exists(os.path.join(ROOT, binary.group(1))):
            pytest.skip(f"{binary.group(1)} is not built (scripts/build build)")
    needs = _option(block, "needs")
    if needs and not os.path.exists(needs):
        pytest.skip(f"{needs} is missing (scripts/deps --tests installs it)")
    compare = _option(block, "output") != "any"
    for command, status in zip(block.commands, _exits(block)):
        result = subprocess.run(["bash", "-c", command.text], cwd=clone, capture_output=True,
                                text=True, timeout=600)
        where = f"{block.page}:{command.line}: {command.text}"
        assert result.returncode == status, \
            f"{where}\nexited {result.returncode}, the page says {status}\n{result.stderr[-3000:]}"
        actual = _trim(result.stdout.split("\n")) + _trim(result.stderr.split("\n"))
        if compare:
            assert _matches(_trim(command.expected), actual), \
                f"{where}\nprinted (stdout, then stderr):\n" + "\n".join(actual)


# --- rendered output ---------------------------------------------------------------------------

QUOTE = re.compile(r"^<!-- output of: (.*) -->$")


def _quotes() -> list[tuple[str, int, str, list[str]]]:
    """(page, line, command, quoted lines) for each rendered quote of a command's output."""
    found = []
    for page in PAGES:
        lines = _read(page)
        for i, text in enumerate(lines):
            match = QUOTE.match(text.strip())
            if match:
                end = lines.index("<!-- end of output -->", i)
                found.append((page, i + 1, match.group(1), lines[i + 1:end]))
    return found


QUOTES = _quotes()


def _plain(line: str) -> str:
    """A line without its heading marks: a page may nest a tool's "### cpu" deeper."""
    return re.sub(r"^#+ ", "", line.strip())


@pytest.mark.parametrize("quote", QUOTES, ids=[f"{q[0]}:{q[1]}" for q in QUOTES])
def test_a_rendered_quote_is_what_the_command_prints(quote, clone):
    page, line, command, quoted = quote
    result = subprocess.run(["bash", "-c", command], cwd=clone, capture_output=True, text=True,
                            timeout=600)
    printed = {_plain(text) for text in (result.stdout + result.stderr).split("\n")}
    missing = [text for text in quoted if text.strip() and _plain(text) not in printed]
    assert not missing, f"{page}:{line}: {command} does not print:\n" + "\n".join(missing)


# --- links and tables of contents -----------------------------------------------------------

def _outside_code(lines: list[str]) -> list[str]:
    """The page's lines with fenced blocks and inline code blanked out."""
    inside, kept = False, []
    for text in lines:
        if text.startswith("```"):
            inside = not inside
            kept.append("")
            continue
        kept.append("" if inside else re.sub(r"`[^`]*`", "", text))
    return kept


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _headings(page: str, level: str = "#{1,6}") -> list[str]:
    """The page's headings as written (inline code kept), outside fenced blocks."""
    inside, headings = False, []
    for text in _read(page):
        if text.startswith("```"):
            inside = not inside
            continue
        match = re.match(rf"^{level} (.*)$", text)
        if match and not inside:
            headings.append(match.group(1))
    return headings


def _anchors(page: str) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _headings(page):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _links(page: str):
    for number, text in enumerate(_outside_code(_read(page)), 1):
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"^[a-z]+:", target):
                yield number, target


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_points_at_a_file_or_heading_that_exists(page):
    broken = []
    for number, target in _links(page):
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(os.path.join(ROOT, resolved)):
            broken.append(f"{page}:{number}: {target} (no file {resolved})")
        elif anchor and resolved.endswith(".md") and anchor not in _anchors(resolved):
            broken.append(f"{page}:{number}: {target} (no heading #{anchor} in {resolved})")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_starts_with_a_table_of_contents_of_its_sections(page):
    lines = _read(page)
    sections = _headings(page, "##")
    if not sections:
        return
    toc = "\n".join(lines[:lines.index("## " + sections[0])])
    missing = [h for h in sections if f"(#{_slug(h)})" not in toc]
    assert not missing, f"{page}: sections missing from the table of contents at its top: " \
        + ", ".join(missing)


def test_the_readme_fits_on_a_few_screens():
    assert len(_read("README.md")) <= 250


# --- what adding a workload or an executor takes ---------------------------------------------

def _cmake_files() -> list[str]:
    found = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(("build", ".")) and d != "results"]
        found += [os.path.relpath(os.path.join(top, f), ROOT) for f in files
                  if f == "CMakeLists.txt"]
    return found


def _listed_in(sources: list[str]) -> set[str]:
    """The CMake files that name any of these source files (the build globs nothing)."""
    names = [os.path.basename(s) for s in sources]
    listed = set()
    for cmake in _cmake_files():
        with open(os.path.join(ROOT, cmake), encoding="utf-8") as f:
            text = f.read()
        if any(re.search(rf"(^|[\s/]){re.escape(n)}\b", text, re.M) for n in names):
            listed.add(cmake)
    return listed


def _help_block() -> str:
    """The help block that tests/bench/flags_test.cc holds against the binary's --help."""
    text = "\n".join(_read("docs/flags.md"))
    match = re.search(r"```\n(parbench: when do threads.*?)\n```", text, re.S)
    assert match, "docs/flags.md holds the help block"
    return match.group(1)


def _needs(sources: list[str], section: str, name: str) -> set[str]:
    """The files one family or executor touches: its sources, the CMake files that list
    them, and docs/flags.md when the tested help block names it in `section`."""
    files = {s for s in sources if os.path.exists(os.path.join(ROOT, s))}
    assert files == set(sources), f"the model's files exist: {sorted(set(sources) - files)}"
    block = _help_block()
    part = block[block.index(section):].split("\n\n")[0]
    if re.search(rf"^  {re.escape(name)} ", part, re.M):
        files.add("docs/flags.md")
    return files | _listed_in(sources)


def _stated(heading: str, stem: str, model: str) -> tuple[int, set[str]]:
    """The count in docs/extending.md's heading and the files its numbered steps name, with
    the page's example name replaced by the model's."""
    lines = _read("docs/extending.md")
    start = next(i for i, text in enumerate(lines) if text.startswith(f"## {heading}"))
    count = int(re.search(r"\((\d+) files", lines[start]).group(1))
    files = set()
    for text in lines[start + 1:]:
        if text.startswith("## "):
            break
        step = re.match(r"^\d+\. (.*)", text)
        if step:
            named = re.findall(r"`([\w/.]+\.\w+)`", step.group(1).split(":")[0])
            files |= {f.replace(stem, model) for f in named}
    return count, files


def test_adding_a_workload_takes_the_files_extending_states():
    # granularity is a workload of the plain shape: a header for its tests, the .cc with its
    # family row, a test file; its flags and family line are in the tested help block.
    needed = _needs(["workloads/granularity.h", "workloads/granularity.cc",
                     "tests/workloads/granularity_test.cc"], "\nFamilies", "granularity")
    count, files = _stated("Adding a workload", "sha", "granularity")
    assert files == needed and count == len(needed), (count, sorted(files), sorted(needed))


def test_adding_an_executor_takes_the_files_extending_states():
    # The toy executor is one file: its class and registry row build into bench_toy with
    # nothing else; inside bench the same file is listed in executors/CMakeLists.txt and named
    # in the tested help block. async is such a one-file executor of bench's.
    with open(os.path.join(ROOT, "examples/toy_executor/toy_executor.cc"), encoding="utf-8") as f:
        assert "RegisterExecutor(" in f.read()
    assert _listed_in(["toy_executor.cc"]) == {"examples/CMakeLists.txt"}
    needed = _needs(["executors/async_executor.cc"], "\nExecutors", "async")
    count, files = _stated("Adding an executor", "fibers", "async_executor")
    assert files == needed and count == len(needed), (count, sorted(files), sorted(needed))


def test_a_remote_transport_is_one_file_as_extending_says():
    # The test double transport holds the parent's end, the worker's end and its registry row
    # in one file, listed in one CMake file: the remote-worker core does the rest.
    path = "tests/executors/remote/loopback_link.cc"
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    for part in ("public remote::Link", "public remote::WorkerLink", "RegisterExecutor(",
                 "remote::RemoteExecutor"):
        assert part in text, part
    assert _listed_in(["loopback_link.cc"]) == {"tests/CMakeLists.txt"}
    assert f"`{path}`" in "\n".join(_read("docs/extending.md"))
