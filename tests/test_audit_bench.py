"""Audit of the benchmark commands: what their timed regions hold, what they record, and how
they refuse bad input (``warehouse bench``, ``python -m warehouse.shield.bench_pibt``,
``python -m agents.batched``, ``python -m visualize.bench``). No timing is asserted: fake
clocks and counted calls show the structure."""

from __future__ import annotations

import errno
import json
import os
import time
import types
from typing import Any

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli, snapshot

TINY_PIBT = ["--robots", "5", "--steps", "1", "--shelf-rows", "2", "--shelf-cols", "2"]


def _one_line_exit_2(main: Any, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """``main(argv)`` exits 2 with one ``error: …`` line on stderr and no traceback."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in out + err
    return err.strip()


# ---------------------------------------------------------------- python -m ...bench_pibt
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--robots", "5", "--steps", "0"], "error: --steps:"),
        ([*TINY_PIBT, "--navigator", "nope"], "error: --navigator: unknown navigator 'nope'"),
        (["--robots", "5", "--steps", "1", "--shelf-rows", "0"], "error: --shelf-rows:"),
        ([*TINY_PIBT, "--tasks", "nope"], "error: --tasks:"),
    ],
)
def test_pibt_bench_refuses_bad_options_in_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--steps 0`` divided by zero, an unknown navigator was a ``ValueError`` and a bad
    ``--tasks``/``--shelf-rows`` an ``InputError`` traceback (exit 1)."""
    from warehouse.shield import bench_pibt

    assert _one_line_exit_2(bench_pibt.main, argv, capsys).startswith(expected)


def test_pibt_whole_step_leaves_out_the_benchmarks_own_conflict_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``fleet_step_ms_mean`` ("whole fleet step, ms" in docs/benchmarks.md) timed the
    benchmark's own bookkeeping too: a second physics resolution per step to count the
    conflicts. A fake clock that jumps 1,000 s in that count shows it is left out."""
    import warehouse.core.physics as physics
    from warehouse.shield import bench_pibt

    jump = {"s": 0.0}
    real_resolve = physics.resolve_physical

    def counted(*args: Any, **kwargs: Any) -> Any:
        jump["s"] += 1000.0
        return real_resolve(*args, **kwargs)

    clock = types.SimpleNamespace(
        perf_counter=lambda: time.perf_counter() + jump["s"],
        thread_time=lambda: time.thread_time() + jump["s"],
    )
    monkeypatch.setattr(physics, "resolve_physical", counted)
    monkeypatch.setattr(bench_pibt, "time", clock)
    r = bench_pibt.bench_shield(
        robots=10, steps=3, warmup=1, shelf_rows=2, shelf_cols=2, navigator="greedy"
    )
    assert jump["s"] == 4 * 1000.0  # the count ran at every shield call (warm-up included)
    assert r["fleet_step_ms_mean"] < 1000.0 * 1000.0  # but none of its 1,000 s is a step's
    assert r["shield_ms_mean"] < 1000.0 * 1000.0


def test_pibt_bench_records_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    """The machine was ``x86_64, Linux``: no CPU model, cores or versions to compare with."""
    from warehouse.shield import bench_pibt

    bench_pibt.main(TINY_PIBT)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("machine: ")
    for key in ("cpu=", "cores=", "python=", "numpy=", "numba="):
        assert key in out[0], out[0]
    assert out[1].startswith("robots=5 ") and "fleet_step_ms_mean=" in out[1]
    assert "machine=" not in out[1]


# ---------------------------------------------------------------------- python -m visualize.bench
@pytest.mark.parametrize("argv", [["--frames", "0"], ["--bogus"]])
def test_visualize_bench_refuses_bad_options_in_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse printed a usage line and an error line (two lines, named ``bench.py``)."""
    from visualize import bench

    _one_line_exit_2(bench.main, argv, capsys)


def test_visualize_bench_records_the_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The header line named neither the CPU model nor numba's and pygame's versions."""
    from visualize import bench

    monkeypatch.setattr(bench, "bench_render", lambda **k: {"fps": 1.0})
    monkeypatch.setattr(bench, "bench_recording", lambda **k: {"slowdown_pct": 1.0})
    bench.main(["--frames", "1", "--steps", "1"])
    first = capsys.readouterr().out.splitlines()[0]
    for key in ("machine: ", "cpu=", "cores=", "numpy=", "numba=", "pygame"):
        assert key in first, first


# --------------------------------------------------------------------- python -m agents.batched
def test_batched_bench_refuses_a_negative_thread_count(capsys: pytest.CaptureFixture[str]) -> None:
    """``--threads -1`` ran on torch's default count, silently (only 0 means that)."""
    pytest.importorskip("torch")
    from agents import batched

    assert _one_line_exit_2(batched.main, ["--threads", "-1"], capsys).startswith(
        "error: --threads:"
    )


def test_batched_bench_records_the_machine_and_threads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The header named the device, torch's threads and version, not the CPU it ran on."""
    pytest.importorskip("torch")
    from agents import batched

    monkeypatch.setattr(batched, "benchmark", lambda *a, **k: [])
    batched.main(["--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("machine: cpu=") and "cores=" in lines[0]
    assert lines[1].startswith("device=cpu threads=1 torch=")


def test_batched_bench_times_no_warm_up_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock that advances 1 s per ``act``: 3 untimed warm-up calls, then 5 timed ones
    of 1 s each."""
    pytest.importorskip("torch")
    from agents import batched

    now = {"t": 0.0}
    calls: list[int] = []

    class Policy:
        def act(self, sim: Any, obs: np.ndarray, mask: np.ndarray) -> None:
            calls.append(obs.shape[0])
            now["t"] += 1.0

    clock = types.SimpleNamespace(perf_counter=lambda: now["t"], thread_time=lambda: now["t"])
    monkeypatch.setattr(batched, "time", clock)
    (row,) = batched.benchmark(Policy(), 4, 5, robots=(7,), min_seconds=1.0)  # type: ignore[arg-type]
    assert calls == [7] * 8
    assert row["ms_per_step"] == 1000.0 and row["decisions_per_s"] == 7.0


# ---------------------------------------------------------------------------- warehouse bench
BENCH = ["bench", "--robots", "5", "--steps", "2", "--api", "array"]


def test_bench_says_how_repeats_are_aggregated_and_records_torch(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--repeat`` kept the fastest run without saying so in the table or the JSON file, and
    the machine record had no torch version (the policy benchmark runs torch)."""
    import warehouse.bench as wb

    rates = iter([1.0, 3.0, 2.0])
    real = wb.run_bench

    def fake(*args: Any, **kwargs: Any) -> Any:
        r = real(*args, **kwargs)
        rate = next(rates)
        return wb.BenchResult(**{**wb.as_dict(r), "agent_steps_per_s": rate})

    monkeypatch.setattr(wb, "run_bench", fake)
    out = tmp_path / "b.json"
    code, text, err = run_cli([*BENCH, "--repeat", "3", "--out", str(out)], capsys)
    assert code == 0, err
    assert "fastest of 3" in text
    data = json.loads(out.read_text())
    assert data["repeat"] == 3 and "fastest" in data["aggregate"]
    assert data["results"][0]["agent_steps_per_s"] == 3.0
    assert {"cpu", "cores", "python", "numpy", "numba", "torch"} <= set(data["machine"])


def test_bench_out_leaves_nothing_when_the_write_fails(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON file was written in place: a write that failed half way (a full disk shows
    at the flush) left a partial file behind. Now it is written next to it and linked into
    place, or nothing is left."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "b.json"
    line = fails_cleanly([*BENCH, "--out", str(out)], tmp_path, capsys, f"{out}: --out:")
    assert "No space left" in line


def test_bench_out_never_replaces_a_file_that_appeared_during_the_run(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import warehouse.bench as wb

    out = tmp_path / "b.json"
    real = wb.run_bench

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        out.write_text("someone else's\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(wb, "run_bench", meanwhile)
    code, _, err = run_cli([*BENCH, "--out", str(out)], capsys)
    assert code == 2 and err.strip() == f"error: {out}: --out: already exists; choose another name"
    assert out.read_text() == "someone else's\n"
    assert snapshot(tmp_path) == {"b.json"}  # no temporary file left either


def test_bench_does_not_change_a_runs_results() -> None:
    """The benchmark's env is seeded like any run: the same seed twice, the same deliveries,
    and the navigator's own RNG, not the simulation's."""
    from warehouse.bench import run_bench

    a = run_bench(8, 30, "array", seed=2, warmup=2)
    b = run_bench(8, 30, "pettingzoo", seed=2, warmup=2)
    assert a.deliveries == b.deliveries
