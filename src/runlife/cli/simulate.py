"""``runlife simulate``: many runs through the real engine, in virtual time, seeded.

Standard output is the report, byte-identical for the same seed and options (``--json``:
identical but for its ``timing`` key); wall-clock figures go to standard error, with a
progress bar when standard error is a terminal and the simulation is long.
``--store URL`` simulates on a durable store instead, with ``--workers`` processes: the same
report (seed, status table with durations, moves, tool calls) and the store's own counts.
Exit codes (``runlife.cli.shared.EXIT_CODES``): 0 done; 1 violations or store problems found,
or a store that cannot be used; 2 usage errors (a bad option or policy value, an option that
does not apply, an unreadable or malformed ``--policy`` file, a bad store URL, a store that
already holds runs), with one message line per problem; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, TextIO

from runlife import simulation
from runlife.simulation import CHECKS, FIELDS, Policy, PolicyError, Stats, StoreReport

from .shared import Command, UsageError, count, error

__all__ = ["COMMAND", "add_arguments", "run", "store_report"]

_PROG = "runlife simulate"
#: Show a progress bar (on a terminal) from this many runs on.
_LONG = 20_000

_METAVARS = {
    "probability": "P",
    "rate": "RATE",
    "seconds": "SECONDS",
    "count": "N",
    "limit": "TOKENS",
    "range": "LO..HI",
    "weights": "CODE=W,...",
}

_EPILOG = """\
Each run is created, started, asks for tool calls, gets outputs (sometimes too late, so it
expires), is cancelled, fails or runs out of tokens as the policy says, through the real engine
and its guards, on its own virtual timeline; runs share nothing. A run's random choices come
from (seed, its block of 2,000 runs) alone, so --processes does not change any result.

Policy: the defaults above, then --policy FILE (TOML, or JSON for a .json file: the keys are
the option names with underscores, e.g. cancel_after = [0, 60]; an optional [policy] table
holds them too), then the options given here. Ranges are LO..HI (whole virtual seconds or
tokens, drawn uniformly, bounds included) or one int.

Output: a table of terminal statuses (runs, share, duration percentiles p50/p95/p99 by
nearest rank, and the maximum, in virtual seconds from creation to the end), the moves made,
the steps the runs ended with (by type and status; --no-steps: none kept, the same runs),
and the number of violations found (--check final: the eight invariants on every run's final
state; moves: after every move; full: all of runlife.check, structure, invariants and rules,
on every final state, with its steps; none).

--store URL: the runs are created in an empty store and moved by --workers processes; each
run's fate comes from (seed, its index), so the counts do not depend on --workers. The same
report, with wall-clock durations, plus: claims (a worker took a queued run), illegal (moves
the lifecycle refused because the run changed under its worker: none in a healthy run) and
problems (stored runs still active, failing runlife.check, or whose history does not chain:
there must be none). --runs, --seed, --workers and --json apply; the policy options,
--processes, --check, --progress and --steps do not, and are refused.

Exit codes: 0 ok, 1 violations or store problems found, 2 usage error.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``runlife simulate`` on *parser*."""
    parser.add_argument(
        "--runs", metavar="N", default="10000", help="runs to simulate (default: 10000)"
    )
    parser.add_argument(
        "--seed", metavar="N", default="0", help="the seed, an int >= 0 (default: 0)"
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        default=None,
        help="read policy values from a TOML or JSON file (options given here win)",
    )
    parser.add_argument(
        "--check",
        choices=CHECKS,
        default=None,
        help="what is checked when (default: final, the invariants of every run's final state)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (timing under 'timing')"
    )
    parser.add_argument(
        "--steps",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep each run's steps, the driver writing messages in them; --no-steps "
        "simulates the same runs without, to compare (default: on)",
    )
    execution = parser.add_argument_group("execution")
    execution.add_argument(
        "--processes",
        metavar="N",
        default=None,
        help="shard the runs over N local processes, at most one a block of 2,000 runs; "
        "same results (default: 1)",
    )
    execution.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help="simulate on a durable store (sqlite:///..., postgresql://...) with --workers "
        "processes claiming and moving the runs; the store must hold no runs",
    )
    execution.add_argument(
        "--workers",
        metavar="N",
        default=None,
        help="worker processes sharing the --store; only with --store (default: 2)",
    )
    execution.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar on standard error (default: on a terminal, from {_LONG:,} runs)",
    )
    policy = parser.add_argument_group("policy (virtual seconds; P is a probability)")
    for name, field in FIELDS.items():
        kind = field.metadata["kind"]
        policy.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"policy_{name}",
            metavar=_METAVARS[kind],
            default=None,
            help=f"{field.metadata['help']} (default: {simulation.value_text(field.default)})",
        )


def run(args: argparse.Namespace) -> int:
    """Simulate and print the report; the exit code."""
    try:
        runs = count(args.runs, "--runs", least=1)
        seed = count(args.seed, "--seed", least=0)
        if args.store is not None:
            _refuse_with_store(args)
            workers = count("2" if args.workers is None else args.workers, "--workers", least=1)
            return _on_store(args.store, workers=workers, runs=runs, seed=seed, as_json=args.json)
        _refuse_without_store(args)
        processes = count("1" if args.processes is None else args.processes, "--processes", least=1)
        policy = _policy(args)
    except UsageError as exc:
        for line in str(exc).splitlines():
            error(_PROG, line)
        return 2
    processes = _processes(processes, runs)
    show = args.progress
    if show is None:
        show = runs >= _LONG and sys.stderr.isatty()
    bar = _Bar(runs, sys.stderr) if show else None
    try:
        report = simulation.simulate(
            runs=runs,
            seed=seed,
            policy=policy,
            check=args.check or "final",
            processes=processes,
            progress=bar,
            steps=args.steps is not False,
        )
    except KeyboardInterrupt:
        sys.stderr.write(f"{_PROG}: interrupted\n")
        return 130
    finally:
        if bar is not None:
            bar.close()
    _print(report, as_json=args.json)
    return 1 if report.stats.violations else 0


def _print(report: simulation.Report | StoreReport, *, as_json: bool) -> None:
    """The report on standard output; its wall-clock figures on standard error (text only)."""
    if as_json:
        sys.stdout.write(simulation.format_json(report))
    else:
        sys.stdout.write(simulation.format_text(report))
        sys.stdout.flush()  # the report first, then the wall-clock line, on a shared terminal
        sys.stderr.write(simulation.timing_text(report))
    sys.stdout.flush()


def _processes(asked: int, runs: int) -> int:
    """The processes to start: at most one a block of runs; a warning above the CPUs here."""
    used = simulation.used_processes(asked, runs)
    if used < asked:
        blocks = -(-runs // simulation.BLOCK)
        s = "" if blocks == 1 else "s"
        sys.stderr.write(
            f"{_PROG}: --processes {asked}: {runs:,} runs are {blocks:,} block{s} of "
            f"{simulation.BLOCK:,}, so {used} process{'' if used == 1 else 'es'}\n"
        )
    cpus = os.cpu_count() or 1
    if used > cpus:
        sys.stderr.write(
            f"{_PROG}: warning: --processes {used} is more than the {cpus} CPUs here: "
            f"they share them, and are no faster than {cpus}\n"
        )
    return used


def _refuse_without_store(args: argparse.Namespace) -> None:
    """A UsageError for --workers without --store (it would be silently ignored)."""
    if args.workers is not None:
        raise UsageError(
            "--workers: only with --store URL (the worker processes sharing the store); "
            "to shard an in-memory simulation, use --processes N"
        )


def _refuse_with_store(args: argparse.Namespace) -> None:
    """A UsageError naming the options given that a simulation on a store does not take."""
    given = [
        option
        for option, value in (
            ("--processes", args.processes),
            ("--policy", args.policy),
            ("--check", args.check),
            ("--progress" if args.progress else "--no-progress", args.progress),
            ("--steps" if args.steps else "--no-steps", args.steps),
        )
        if value is not None
    ]
    given += [
        "--" + name.replace("_", "-")
        for name in FIELDS
        if getattr(args, f"policy_{name}") is not None
    ]
    if given:
        raise UsageError(
            f"--store: {', '.join(given)} do{'es' if len(given) == 1 else ''} not apply to a "
            "simulation on a store (it takes --runs, --seed, --workers and --json)"
        )


def _on_store(url: str, *, workers: int, runs: int, seed: int, as_json: bool) -> int:
    """``--store``: N worker processes share one store; print the report."""
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    from runlife import RunlifeError  # noqa: PLC0415
    from runlife.store import StoreError, StoreURLError, simulate_on_store  # noqa: PLC0415

    try:
        stats = simulate_on_store(url, workers=workers, runs=runs, seed=seed)
    except StoreURLError as exc:
        error(_PROG, f"--store: {exc}")
        return 2
    except ValueError as exc:
        if isinstance(exc, RunlifeError):
            raise
        error(_PROG, f"--store: {exc}")
        return 2
    except (StoreError, BrokenProcessPool) as exc:
        error(_PROG, str(exc))
        return 1
    report = store_report(url, stats)
    _print(report, as_json=as_json)
    return 1 if report.problems else 0


def store_report(url: str, stats: dict[str, Any]) -> StoreReport:
    """The report of ``simulate_on_store``'s statistics (the store simulation's dict)."""
    counts = Stats(runs=stats["runs"])
    for status, durations in stats["durations"].items():
        counts.durations[status].update({int(k): v for k, v in durations.items()})
    for trigger, sources in stats["transitions"].items():
        for source, n in sources.items():
            counts.moves[source, trigger] += n
    counts.tool_calls = stats["tool_calls"]
    return StoreReport(
        url=url,
        seed=stats["seed"],
        policy=stats["policy"],
        stats=counts,
        claims=stats["claims"],
        illegal=stats["illegal"],
        problems=tuple(stats.get("problems", ())),
        workers=stats["workers"],
        elapsed=stats["elapsed_s"],
        conflicts=stats["conflicts"],
        lease_lost=stats["lease_lost"],
    )


def _policy(args: argparse.Namespace) -> Policy:
    policy = simulation.DEFAULT_POLICY
    if args.policy is not None:
        name, values = _read_policy(args.policy)
        try:
            policy = Policy.from_mapping(values)
        except PolicyError as exc:
            raise UsageError(
                "\n".join(f"{name}: {key}: {problem}" for key, problem in exc.problems)
            ) from None
    given: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, field in FIELDS.items():
        text = getattr(args, f"policy_{name}")
        if text is None:
            continue
        try:
            given[name] = _parse(field.metadata["kind"], text)
        except ValueError as exc:
            problems.append((name, str(exc)))
    if not problems:
        try:
            policy = Policy.from_mapping(given, base=policy)
        except PolicyError as exc:
            problems = exc.problems
    if problems:
        raise UsageError(
            "\n".join(f"--{key.replace('_', '-')}: {problem}" for key, problem in problems)
        )
    return policy


def _parse(kind: str, text: str) -> Any:
    """A command-line value as the JSON value a policy file would hold."""
    if kind in {"probability", "rate"}:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if kind in {"seconds", "count", "limit"}:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an int, got {text!r}") from None
    if kind == "range":
        lo, sep, hi = text.partition("..")
        try:
            return [int(lo), int(hi)] if sep else int(lo)
        except ValueError:
            raise ValueError(f"expected LO..HI (two ints) or one int, got {text!r}") from None
    weights: dict[str, float] = {}
    for part in text.split(","):
        code, sep, weight = part.partition("=")
        try:
            weights[code.strip()] = float(weight if sep else "?")
        except ValueError:
            msg = f"expected CODE=WEIGHT,... (e.g. server_error=3,invalid_prompt=1), got {text!r}"
            raise ValueError(msg) from None
    return weights


def _read_policy(path_text: str) -> tuple[str, dict[str, Any]]:
    path = Path(path_text)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--policy {path_text}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except UnicodeDecodeError:
        raise UsageError(f"{path_text}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path_text}: invalid JSON: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path_text}: invalid TOML: {exc}") from None
    if isinstance(data, dict) and list(data) == ["policy"] and isinstance(data["policy"], dict):
        data = data["policy"]
    if not isinstance(data, dict):
        raise UsageError(
            f"{path_text}: expected an object of policy keys, got {type(data).__name__}"
        )
    return path_text, data


class _Bar:
    """A one-line progress bar on a terminal, redrawn at most five times a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.began = time.monotonic()
        self.drawn = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.2 and done < self.total:
            return
        self.drawn = now
        elapsed = now - self.began
        share = done / self.total
        left = f", ~{elapsed / share - elapsed:.0f} s left" if 0 < share < 1 else ""
        filled = int(share * 30)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
            f"{done:,}/{self.total:,} runs, {elapsed:.0f} s{left}\x1b[K"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


COMMAND = Command(
    name="simulate",
    help="simulate many runs in virtual time (seeded, deterministic) and report on them",
    description="Simulate many runs through the real engine, in virtual time, seeded.",
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
    # Later options (--store, --workers) must not change what an abbreviation means.
    allow_abbrev=False,
)
