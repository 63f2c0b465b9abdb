"""Audit of the episode recorder: it holds a run in preallocated columns (the raw bytes a step,
not a Python object per array and step), never writes a recording that loading would refuse (the
same size rule, from the shapes, before the file is written; ``warehouse run --record`` refuses
at the start when the planned run is too large), and a failed or interrupted recorded run leaves
no file behind."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli, snapshot

import warehouse
import warehouse.recorder as recorder
import warehouse.recording as recording
from agents import make_navigator
from hierarchy import GreedyDispatcher
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.recording import EpisodeRecorder, load_recording


def _fleet(robots: int = 4, **overrides: object) -> Fleet:
    env = warehouse.make_env("tiny", **{"fleet.robots": robots, **overrides})
    fleet = Fleet(env.sim, GreedyDispatcher(), make_navigator("rule_based"))
    fleet.reset(0)
    return fleet


def _recorder(fleet: Fleet, n_steps: int, **kwargs: object) -> EpisodeRecorder:
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "tiny", "seed": 0}, **kwargs)
    for _ in range(n_steps):
        rec.capture(fleet.sim, fleet.step())
    return rec


# ------------------------------------------------------------------ memory


def test_the_recorder_holds_about_the_raw_bytes_of_the_run():
    """It used to append a small array per column and step to Python lists (about 100 bytes of
    object overhead each, some twenty a step: ~3x the data for a small fleet)."""
    fleet = _fleet(robots=12)
    steps = 300
    tracemalloc.start()
    try:
        rec = _recorder(fleet, steps, expected_steps=steps)
        # what the recorder's own code allocated and still holds
        own = tracemalloc.Filter(True, recorder.__file__)
        held = tracemalloc.take_snapshot().filter_traces([own]).statistics("filename")[0].size
    finally:
        tracemalloc.stop()
    raw = sum(a.nbytes for k, a in rec.arrays().items() if not k.startswith(("floor_", "orders")))
    assert raw > 100_000
    assert held < 1.2 * raw, (held, raw)


def test_unsized_columns_grow_and_arrays_are_the_callers_own():
    """Without the episode length the columns double as they fill; what arrays() returns is a
    copy (changing it changes neither the recorder nor the file), and recording goes on after."""
    fleet = _fleet(robots=3)
    rec = _recorder(fleet, 40)  # (past the first few doublings)
    first = rec.arrays()
    assert first["pos"].shape == (41, 3) and first["actions"].shape == (40, 3)
    assert first["closed_ptr"].tolist() == [0] * 42
    first["pos"][:] = -5
    first["preferences"][:] = 7
    again = rec.arrays()
    assert (again["pos"] >= 0).all() and not (again["preferences"] == 7).all()
    for _ in range(30):
        rec.capture(fleet.sim, fleet.step())
    later = rec.arrays()
    assert later["pos"].shape == (71, 3) and later["incidents"].shape == (70,)
    np.testing.assert_array_equal(later["pos"][:41], again["pos"])


# ------------------------------------------------------------------ too large to load again


def test_a_large_honest_order_book_loads_again(tmp_path):
    """A backlog of 600,000 orders (10,000 arrivals a step, ``max_open_orders`` raised) used
    to be saved, then refused on loading: the size bound left room for 40 orders a frame."""
    fleet = _fleet(robots=1, **{"tasks.arrival_rate": 10_000.0, "tasks.max_open_orders": 10**6})
    path = _recorder(fleet, 60, store_preferences=False).save(tmp_path / "r.npz")
    rec = load_recording(path)
    assert rec.arrays["orders_pick"].size > 500_000


def test_saving_refuses_a_recording_loading_would_refuse(tmp_path, monkeypatch):
    """It used to be written and only refused when loaded."""
    rec = _recorder(_fleet(robots=4), 30)
    size = sum(a.nbytes for a in rec.arrays().values())
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", size - 1)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InputError) as err:
        rec.save(folder / "r.npz")
    assert err.value.source is not None and Path(err.value.source).name == "r.npz"
    assert f"{size:,} bytes" in err.value.message, err.value.message
    assert "fewer steps or robots" in err.value.message and "preferences" in err.value.message
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", size)  # the same rule as loading
    load_recording(rec.save(folder / "r.npz"))


def test_run_record_refuses_a_recording_too_large_before_running(tmp_path, capsys, monkeypatch):
    """`warehouse run --record` knows the steps and robots: a recording that could not be
    loaded again is refused before any step is simulated, naming the file and what to change."""
    import warehouse.runner

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 200_000)
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(TINY), "--policy", "rule_based", "--seeds", "0", "--robots", "8",
            "--steps", "1000", "--record", "r.npz", "--out", "out"]  # fmt: skip
    with monkeypatch.context() as m:
        m.setattr(warehouse.runner, "run_experiment", never)
        line = fails_cleanly(argv, tmp_path, capsys, "r.npz: --record: ")
    assert "--steps" in line and "--robots" in line, line
    # a shorter run fits: it is recorded and loads again
    argv[argv.index("1000")] = "40"
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert load_recording(tmp_path / "r.npz").steps == 40


def test_run_record_refuses_at_saving_what_the_plan_could_not_know(tmp_path, capsys, monkeypatch):
    """The order book's size is known only at the end: a recording it makes too large is the
    same one-line error, and neither the recording nor the run's folder is left behind."""
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 2_000_000)
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(TINY), "--policy", "rule_based", "--seeds", "0", "--robots", "1",
            "--steps", "20", "--set", "tasks.arrival_rate=10000", "--set",
            "tasks.max_open_orders=1000000", "--record", "r.npz", "--out", "out"]  # fmt: skip
    line = fails_cleanly(argv, tmp_path, capsys, "r.npz: ")
    assert "not written, it could not be loaded" in line and "fewer steps or robots" in line, line


# ------------------------------------------------------------------ failures leave nothing


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_a_recorded_run_that_stops_leaves_no_file(failure, tmp_path, capsys, monkeypatch):
    """A Ctrl-C or an error in the middle of the run, or while the file is written."""
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(TINY), "--policy", "rule_based", "--seeds", "0", "--robots", "2",
            "--steps", "20", "--record", "r.npz", "--out", "out"]  # fmt: skip
    real_capture, real_savez = EpisodeRecorder.capture, np.savez_compressed

    def capture(self: EpisodeRecorder, sim: object, step: object) -> None:
        if self.steps == 10:
            raise failure("stopped")
        real_capture(self, sim, step)

    def savez(fh: object, **arrays: np.ndarray) -> None:
        real_savez(fh, **arrays)  # the whole file written, then the failure
        raise failure("stopped")

    for name in ("capture", "savez"):
        with monkeypatch.context() as m:
            if name == "capture":
                m.setattr(EpisodeRecorder, "capture", capture)
            else:
                m.setattr(np, "savez_compressed", savez)
            if failure is KeyboardInterrupt:
                code, _, err = run_cli(argv, capsys)
                assert (code, err.strip()) == (130, "interrupted"), (name, code, err)
            else:
                with pytest.raises(RuntimeError, match="stopped"):
                    run_cli(argv, capsys)
        assert snapshot(tmp_path) == set(), (name, snapshot(tmp_path))
