"""The run's manifest (context key ``parbench_manifest``): which executors, families, axes and
counters a parbench run has, so that no tool hard-codes a name. Foreign Google Benchmark JSON
has none: FALLBACK then describes what the tools assumed before manifests existed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ToolError

CONTEXT_KEY = "parbench_manifest"
SCHEMA = 1


@dataclass(frozen=True)
class Executor:
    """One executor: its name (the second part of a benchmark name) and its traits."""

    name: str
    summary: str = ""
    traits: dict[str, bool] = field(default_factory=dict, compare=False, hash=False)
    dispatch: str = ""  # how tasks reach its workers (one at a time, or in messages: how)

    @property
    def single_worker(self) -> bool:
        """True: its names carry no /workers:W (serial)."""
        return bool(self.traits.get("single_worker", False))


@dataclass(frozen=True)
class Axis:
    """A named parameter of a family; values "" are left out of the names."""

    name: str
    values: tuple[str, ...] = ()
    executors: tuple[str, ...] | None = None  # None: the axis applies to every executor
    plain: str = ""  # what the value "" (left out of the names) stands for, when it says

    def meaning(self, value: str) -> str:
        """A value as the run means it: "" is the axis' plain value when it names one."""
        return self.plain if value == "" and self.plain else value

    def applies_to(self, executor: str | None) -> bool:
        return self.executors is None or executor in self.executors


@dataclass(frozen=True)
class Counter:
    """A user counter's unit and direction."""

    unit: str
    bigger_is_better: bool


@dataclass(frozen=True)
class Reference:
    """A benchmark FAMILY/NAME that is a floor for the `compare_to` executors (raw_pipe)."""

    name: str
    summary: str = ""
    compare_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cost:
    """What a cost family's tables show: `per` ("per task", "throughput") from `counter`, or
    from the time per iteration when `counter` is empty."""

    per: str
    counter: str = ""
    unit: str = ""  # the counter's unit when the manifest does not declare the counter


# Runs made before the manifest said which families are costs: the suite's four.
COST_FALLBACK = {"overhead": Cost("per task", "ns_per_task", "ns"),
                 "roundtrip": Cost("per round trip"),
                 "transfer": Cost("throughput", "bytes_per_second", "B/s"),
                 "startup": Cost("per start")}


# The floors of runs made before the manifest named them (family, executor) -> reference.
REFERENCE_FALLBACK = {("roundtrip", "processes"): "raw_pipe", ("startup", "processes"): "raw_spawn"}


@dataclass(frozen=True)
class Family:
    """One family: its executors, axes (in name order), counters and references; `cost` when
    it is read as a cost in its own unit rather than as a speedup."""

    name: str
    summary: str = ""
    workload: str = ""
    time_unit: str = ""
    executors: tuple[str, ...] = ()
    axes: tuple[Axis, ...] = ()
    counters: dict[str, Counter] = field(default_factory=dict, compare=False, hash=False)
    references: tuple[Reference, ...] = ()
    cost: Cost | None = None


@dataclass(frozen=True)
class Manifest:
    """Executors in table order, the baseline executor, families by name, run-wide counters."""

    executors: tuple[Executor, ...]
    baseline: str
    families: dict[str, Family] = field(default_factory=dict, compare=False, hash=False)
    counters: dict[str, Counter] = field(default_factory=dict, compare=False, hash=False)
    declared: bool = True  # False: FALLBACK, the run carried no manifest

    @property
    def executor_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.executors)

    def executor(self, name: str | None) -> Executor | None:
        return next((e for e in self.executors if e.name == name), None)

    def order(self, executor: str | None) -> int:
        """Position of an executor in table order (unknown names last)."""
        names = self.executor_names
        return names.index(executor) if executor in names else len(names)

    def family(self, name: str) -> Family | None:
        return self.families.get(name)

    def counter(self, name: str, family: str | None = None) -> Counter | None:
        """A counter's metadata: the family's own first, then the run-wide one."""
        fam = self.families.get(family) if family else None
        if fam is not None and name in fam.counters:
            return fam.counters[name]
        return self.counters.get(name)

    def reference(self, family: str, compare_to: str) -> Reference | None:
        fam = self.families.get(family)
        if fam is None:
            name = None if self.declared else REFERENCE_FALLBACK.get((family, compare_to))
            return Reference(name, compare_to=(compare_to,)) if name else None
        return next((r for r in fam.references if compare_to in r.compare_to), None)


# Foreign Google Benchmark JSON: the executors recognised by name before manifests existed.
FALLBACK = Manifest(
    executors=(Executor("serial", traits={"single_worker": True}), Executor("threads"),
               Executor("processes", traits={"transport_axis": True})),
    baseline="serial",
    declared=False,
)


class _Reader:
    """Typed access to the manifest's JSON; every problem is one ToolError naming the field."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, problem: str):
        raise ToolError(self.path, f"has a malformed {CONTEXT_KEY}: {where} {problem}")

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "must be an object")
        return value

    def text(self, obj: dict, key: str, where: str, default: str | None = None) -> str:
        value = obj.get(key, default)
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", "must be a string")
        return value

    def name(self, obj: dict, where: str) -> str:
        value = self.text(obj, "name", where)
        if not value or "/" in value:
            self.fail(f"{where}.name", f"must be a non-empty name without '/', not {value!r}")
        return value

    def array(self, obj: dict, key: str, where: str, default: list | None = None) -> list:
        value = obj.get(key, default)
        if not isinstance(value, list):
            self.fail(f"{where}.{key}", "must be a list")
        return value

    def names(self, obj: dict, key: str, where: str, known: tuple[str, ...]) -> tuple[str, ...]:
        values = self.array(obj, key, where)
        for v in values:
            if v not in known:
                self.fail(f"{where}.{key}", f"names {v!r}, which is not an executor")
        return tuple(values)

    def counters(self, obj: dict, where: str) -> dict[str, Counter]:
        value = self.obj(obj.get("counters", {}), f"{where}.counters")
        out = {}
        for key, meta in value.items():
            meta = self.obj(meta, f"{where}.counters.{key}")
            better = meta.get("bigger_is_better")
            if not isinstance(better, bool):
                self.fail(f"{where}.counters.{key}.bigger_is_better", "must be true or false")
            out[key] = Counter(self.text(meta, "unit", f"{where}.counters.{key}", ""), better)
        return out


def _executor(r: _Reader, value: Any, where: str) -> Executor:
    obj = r.obj(value, where)
    traits = r.obj(obj.get("traits", {}), f"{where}.traits")
    for key, flag in traits.items():
        if not isinstance(flag, bool):
            r.fail(f"{where}.traits.{key}", "must be true or false")
    return Executor(r.name(obj, where), r.text(obj, "summary", where, ""), dict(traits),
                    r.text(obj, "dispatch", where, ""))


def _family(r: _Reader, value: Any, where: str, executors: tuple[str, ...]) -> Family:
    obj = r.obj(value, where)
    name = r.name(obj, where)
    where = f"family {name!r}"
    axes = []
    for i, axis in enumerate(r.array(obj, "axes", where, [])):
        axis = r.obj(axis, f"{where}.axes[{i}]")
        values = r.array(axis, "values", f"{where}.axes[{i}]", [])
        if not all(isinstance(v, str) for v in values):
            r.fail(f"{where}.axes[{i}].values", "must be strings")
        applies = (r.names(axis, "executors", f"{where}.axes[{i}]", executors)
                   if "executors" in axis else None)
        axes.append(Axis(r.name(axis, f"{where}.axes[{i}]"), tuple(values), applies,
                         r.text(axis, "plain", f"{where}.axes[{i}]", "")))
    references = []
    for i, ref in enumerate(r.array(obj, "references", where, [])):
        ref = r.obj(ref, f"{where}.references[{i}]")
        # One executor's name, or (as bench writes it) the list of the run's executors the
        # reference is a floor for.
        compare_to = ref.get("compare_to")
        names = [compare_to] if isinstance(compare_to, str) else compare_to
        if compare_to is None:
            names = []
        elif not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            r.fail(f"{where}.references[{i}].compare_to", "must be an executor's name or a "
                                                          "list of them")
        for n in names:
            if n not in executors:
                r.fail(f"{where}.references[{i}].compare_to", f"names {n!r}, which is not "
                                                              "an executor")
        references.append(Reference(r.name(ref, f"{where}.references[{i}]"),
                                    r.text(ref, "summary", where, ""), tuple(names)))
    return Family(
        name=name, summary=r.text(obj, "summary", where, ""),
        workload=r.text(obj, "workload", where, name),
        time_unit=r.text(obj, "time_unit", where, ""),
        executors=r.names(obj, "executors", where, executors) if "executors" in obj else executors,
        axes=tuple(axes), counters=r.counters(obj, where), references=tuple(references),
        cost=_cost(r, obj, where, name))


def _cost(r: _Reader, obj: dict, where: str, name: str) -> Cost | None:
    """The family's cost reading (bench writes "reading" and "cost"); runs from before that
    read the suite's four cost families by name."""
    if "reading" not in obj:
        return COST_FALLBACK.get(name)
    reading = r.text(obj, "reading", where)
    if reading == "speedup":
        return None
    if reading != "cost":
        r.fail(f"{where}.reading", f"must be 'speedup' or 'cost', not {reading!r}")
    cost = r.obj(obj.get("cost"), f"{where}.cost")
    return Cost(r.text(cost, "per", f"{where}.cost"), r.text(cost, "counter", f"{where}.cost", ""))


def parse_manifest(path: str, context: dict) -> Manifest:
    """The run's manifest from its context, validated; FALLBACK when the run has none."""
    raw = context.get(CONTEXT_KEY)
    if raw is None:
        return FALLBACK
    r = _Reader(path)
    if isinstance(raw, str):  # bench writes it with AddCustomContext: JSON text in a string
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as e:
            r.fail("text", f"is not JSON ({e.__class__.__name__})")
    data = r.obj(raw, "the manifest")
    schema = data.get("schema")
    if schema != SCHEMA:
        r.fail("schema", f"is {schema!r}; these tools read schema {SCHEMA}")
    executors = tuple(_executor(r, e, f"executors[{i}]")
                      for i, e in enumerate(r.array(data, "executors", "the manifest")))
    names = tuple(e.name for e in executors)
    if not names:
        r.fail("executors", "is empty")
    if len(set(names)) != len(names):
        r.fail("executors", f"lists a name twice: {', '.join(names)}")
    baseline = r.text(data, "baseline", "the manifest")
    if baseline not in names:
        r.fail("baseline", f"{baseline!r} is not one of the executors ({', '.join(names)})")
    families: dict[str, Family] = {}
    for i, fam in enumerate(r.array(data, "families", "the manifest", [])):
        family = _family(r, fam, f"families[{i}]", names)
        if family.name in families:
            r.fail("families", f"lists {family.name!r} twice")
        families[family.name] = family
    return Manifest(executors, baseline, families, r.counters(data, "the manifest"))
