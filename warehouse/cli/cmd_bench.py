"""``warehouse bench``: agent-steps per second of the core, or of a policy's whole fleet step on a
scenario (``--scenario``/``--policy``; see :mod:`warehouse.bench`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from warehouse.errors import InputError

from .checks import new_output_file

APIS = ("array", "pettingzoo")


def _parse_robots(text: str) -> list[int]:
    from .checks import name_list

    try:
        robots = [int(part) for part in name_list(text, "--robots")]
    except ValueError:
        raise InputError(
            None, "--robots", f"expected comma-separated integers, got {text!r}"
        ) from None
    if any(r < 1 or r > 100_000 for r in robots):
        raise InputError(None, "--robots", "each fleet size must be between 1 and 100000")
    if len(set(robots)) != len(robots):
        raise InputError(None, "--robots", f"fleet sizes repeat in {text!r}")
    return robots


def bench(
    ctx: typer.Context,
    robots: Annotated[
        str, typer.Option("--robots", help="Fleet sizes, comma-separated.")
    ] = "10,100,1000,5000",
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Time a policy's whole fleet step on this scenario (built-in name, scenario or "
            "map file) instead of the core; default with --policy: small.",
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Policies to time on --scenario, comma-separated; default: the scenario's.",
        ),
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Timed steps per size.")] = 200,
    api: Annotated[str, typer.Option("--api", help="array, pettingzoo or both.")] = "both",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every run.")] = 0,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Runs per size and API; the fastest is kept.")
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="Threads building observations (warehouse.set_threads); default: "
            "WAREHOUSE_THREADS, else 1.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the results to this JSON file.")
    ] = None,
) -> None:
    """Agent-steps per second with observations and the rule-based navigator, per fleet size;
    with --scenario/--policy, milliseconds per whole fleet step of each policy on the scenario."""
    from rich.console import Console

    from warehouse import get_threads, set_threads
    from warehouse.bench import as_dict, machine_info

    from .checks import given

    policy_mode = scenario is not None or policy is not None
    if policy_mode:
        for flag, name in (("--robots", "robots"), ("--api", "api")):
            if given(ctx, name):
                raise InputError(
                    None, flag, "not with --scenario/--policy (the scenario sets the fleet)"
                )
        sizes: list[int] = []
    else:
        sizes = _parse_robots(robots)
    if api not in (*APIS, "both"):
        raise InputError(None, "--api", f"must be array, pettingzoo or both, not {api!r}")
    apis = APIS if api == "both" else (api,)
    if out is not None and out.exists() and out.is_dir():
        raise InputError(out, "--out", "is a folder; give a .json file path")
    if out is not None:  # fail now, not after the benchmark
        new_output_file(out, "--out", ".json file path")
    if threads is not None:
        set_threads(threads)
    console = Console(stderr=True)
    if policy_mode:
        where = "small" if scenario is None else scenario  # ("" is refused, not small)
        results: list[Any] = _bench_policies(where, policy, steps, seed, repeat)
        table = _policy_table(results, get_threads(), repeat)
    else:
        results = _bench_core(sizes, apis, steps, seed, repeat, console)
        table = _core_table(results, get_threads(), repeat)
    Console().print(table)
    if out is not None:
        from .main import invoked_command

        payload = {
            "command": invoked_command(),  # (as a shell reads it)
            "repeat": repeat,
            "aggregate": AGGREGATE,
            "threads": get_threads(),
            **({"torch_threads": 1} if policy_mode else {}),  # (run_policy_bench's, as in runs)
            "machine": machine_info(),
            "results": [as_dict(r) for r in results],
        }
        _write_new(out, json.dumps(payload, indent=2) + "\n")
        typer.echo(f"wrote {out}")


#: How ``--repeat`` runs of one row become its figures (said in the table and the JSON file).
AGGREGATE = "fastest: the run with the highest wall-clock agent-steps/s, all its figures"


def _write_new(out: Path, text: str) -> None:
    """Write ``text`` to the new file ``out``: into a temporary file next to it, then linked
    into place (:func:`~warehouse.atomic.link_or_move`), so that a failed write leaves nothing
    and a file that appeared while the benchmark ran is never replaced (one-line
    :class:`InputError` for ``--out``)."""
    import contextlib
    import os
    import tempfile

    from warehouse.atomic import current_umask, link_or_move

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        link_or_move(Path(tmp), out)  # (refuses an ``out`` that exists, unlike a rename)
        tmp = None
    except FileExistsError:
        raise InputError(out, "--out", "already exists; choose another name") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InputError(out, "--out", f"cannot write: {why}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _bench_core(
    sizes: list[int], apis: tuple[str, ...], steps: int, seed: int, repeat: int, console: Any
) -> list[Any]:
    """The core benchmark of every fleet size and API (the fastest of ``repeat`` runs)."""
    from warehouse.bench import run_bench

    results = []
    for n in sizes:
        for which in apis:
            with console.status(f"{n} robots, {which} API, {steps} steps…"):
                runs = [run_bench(n, steps, which, seed=seed) for _ in range(repeat)]
            results.append(max(runs, key=lambda r: r.agent_steps_per_s))  # wall, like timeit
    return results


def _runs(repeat: int) -> str:
    """How the table's rows were aggregated, for its title."""
    return "" if repeat == 1 else f"; fastest of {repeat} runs"


def _core_table(results: list[Any], threads: int, repeat: int = 1) -> Any:
    from rich.table import Table

    table = Table(
        title=f"warehouse bench: agent-steps per second ({threads} thread(s){_runs(repeat)})"
    )
    for col in ("robots", "cells", "API", "steps", "wall s", "agent-steps/s", "CPU agent-steps/s"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            str(r.robots),
            str(r.nodes),
            r.api,
            str(r.steps),
            f"{r.seconds:.2f}",
            f"{r.agent_steps_per_s:,.0f}",
            f"{r.cpu_agent_steps_per_s:,.0f}",
        )
    return table


def _bench_policies(
    scenario: str, policy: str | None, steps: int, seed: int, repeat: int
) -> list[Any]:
    """Every policy of ``policy`` (comma-separated; None: the scenario's) on ``scenario``, the
    fastest of ``repeat`` runs each; all input is checked before the first run."""
    from rich.console import Console

    from warehouse.bench import run_policy_bench
    from warehouse.runner import prepare

    from .checks import name_list

    names = name_list(policy, "--policy") if policy is not None else None
    # one-line errors for the scenario and policies (a file's policies.baseline, recorded by
    # `warehouse run`, is not checked: the benchmark compares no policies)
    exp = prepare(scenario, policies=names, pairs=False)
    for note in exp.notes:  # (guided without a PIBT shield: as warehouse run says it)
        typer.echo(f"warning: {note}", err=True)
    console = Console(stderr=True)
    results = []
    for i, spec in enumerate(exp.policies):
        with console.status(f"{spec.name} on {exp.scenario.name}, {steps} steps…"):
            runs = [run_policy_bench(exp, i, steps, seed=seed) for _ in range(repeat)]
        results.append(max(runs, key=lambda r: r.agent_steps_per_s))  # wall, like the core's
    return results


def _policy_table(results: list[Any], threads: int, repeat: int = 1) -> Any:
    from rich.table import Table

    first = results[0]
    table = Table(
        title=f"warehouse bench: whole fleet step, {first.scenario} ({first.robots} robots, "
        f"{first.nodes} cells; {threads} thread(s){_runs(repeat)})"
    )
    for col in ("policy", "steps", "ms/step", "CPU ms/step", "agent-steps/s", "CPU agent-steps/s"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in results:
        table.add_row(
            r.policy,
            str(r.steps),
            f"{r.ms_per_step:.2f}",
            f"{r.cpu_ms_per_step:.2f}",
            f"{r.agent_steps_per_s:,.0f}",
            f"{r.cpu_agent_steps_per_s:,.0f}",
        )
    return table


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
