"""Audit (h3): loose ends in recording, the viewer's frames and the Mesa model.

* ``warehouse run --record FILE --no-record-preferences`` records without the navigator's
  preference arrays (the recorder could, the CLI could not, yet its "too large" errors told the
  user to record "without preferences"); such a recording replays.
* The viewer's frames ask the core for each robot's target and the KPIs for stuck and jammed
  robots (one copy of each rule), live and replayed.
* ``WarehouseModel(seed=...)`` refuses what is not a non-negative integer in one line, as the
  core does (``seed=1.5`` was silently truncated to 1).
* The move kernel leaves the evacuation mark of a reached evacuation waypoint: harmless (every
  reader checks that the robot still drives to that waypoint), pinned here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli

from warehouse import recording
from warehouse.errors import InputError
from warehouse.recording import load_recording

#: cols 0..10 of ``test_audit_evacuation.hall`` close from clock 3 to 40: the idle robot at
#: (0, 5) is sent out to col 11, reaches it (a stale mark) and stays past the reopening
LONG = [{"area": {"from": [0, 0], "to": [2, 10]}, "start_s": 3, "end_s": 40}]

RUN = ["run", str(TINY), "--policy", "rule_based", "--seeds", "0", "--robots", "4",
       "--steps", "12"]  # fmt: skip


# ------------------------------------------------------------------ 1: no preferences


def test_run_records_without_preferences_when_asked(tmp_path, capsys, monkeypatch) -> None:
    """The same episode recorded both ways: the same arrays but ``preferences``."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*RUN, "--out", "a", "--record", "with.npz"], capsys)
    assert code == 0, err
    code, _, err = run_cli(
        [*RUN, "--out", "b", "--record", "without.npz", "--no-record-preferences"], capsys
    )
    assert code == 0, err
    full, lean = load_recording(tmp_path / "with.npz"), load_recording(tmp_path / "without.npz")
    assert full.has_preferences and not lean.has_preferences
    assert set(full.arrays) - set(lean.arrays) == {"preferences"}
    for k, v in lean.arrays.items():
        assert np.array_equal(v, full.arrays[k]), k
    assert (tmp_path / "without.npz").stat().st_size < (tmp_path / "with.npz").stat().st_size
    # --record-preferences (the default, said aloud) records them
    code, _, err = run_cli(
        [*RUN, "--out", "c", "--record", "said.npz", "--record-preferences"], capsys
    )
    assert code == 0, err
    assert load_recording(tmp_path / "said.npz").has_preferences


def test_a_recording_without_preferences_replays_with_the_inspector(
    tmp_path, capsys, monkeypatch
) -> None:
    """``warehouse replay`` draws its frames, the inspector open on a robot (whose "last
    decision" panel has no scores to show)."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        [*RUN, "--out", "r", "--record", "rec.npz", "--no-record-preferences"], capsys
    )
    assert code == 0, err
    code, _, err = run_cli(
        ["replay", "rec.npz", "--select", "1", "--start", "3", "--headless-frames", "f",
         "--frames", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert len(list((tmp_path / "f").glob("*.png"))) == 3


def test_no_record_preferences_without_record_is_refused(tmp_path, capsys, monkeypatch) -> None:
    """It would be silently ignored."""
    monkeypatch.chdir(tmp_path)
    for flag in ("--no-record-preferences", "--record-preferences"):
        fails_cleanly([*RUN, "--out", "r", flag], tmp_path, capsys, f"{flag}: only with --record")


def test_the_up_front_refusal_offers_no_record_preferences(tmp_path, capsys, monkeypatch) -> None:
    """A run whose recording is too large with preferences and fits without them: refused,
    naming the option, and recorded once it is given."""
    import warehouse.runner

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.chdir(tmp_path)
    argv = ["run", str(TINY), "--policy", "rule_based", "--seeds", "0", "--robots", "8",
            "--steps", "200", "--out", "r", "--record", "r.npz"]  # fmt: skip
    # just below the planned size with preferences (8 robots × 200 steps × 5 actions × 4 bytes
    # of them), above the whole recording without
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", _planned(tmp_path, 8, 200) - 1)
    with monkeypatch.context() as m:
        m.setattr(warehouse.runner, "run_experiment", never)
        line = fails_cleanly(argv, tmp_path, capsys, "r.npz: --record: ")
    assert "--no-record-preferences" in line and "--steps" in line, line
    code, _, err = run_cli([*argv, "--no-record-preferences"], capsys)
    assert code == 0, err
    assert not load_recording(tmp_path / "r.npz").has_preferences
    # without preferences already: the option is not offered again
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 1000)
    argv = [*RUN, "--out", "s", "--record", "s.npz", "--no-record-preferences"]
    line = fails_cleanly(argv, tmp_path, capsys, "s.npz: --record: ")
    assert "preferences" not in line, line


def _planned(tmp_path: Path, robots: int, steps: int) -> int:
    """The bytes :func:`check_recording_fits` plans for a recording of ``tiny`` with
    preferences (its refusal at a bound of 1 byte states the total)."""
    import re

    from scenarios import build_floor, load_scenario
    from warehouse.recorder import check_recording_fits

    sc, source = load_scenario(str(TINY))
    floor = build_floor(sc, source)
    old = recording.MAX_RECORDING_BYTES
    recording.MAX_RECORDING_BYTES = 1
    try:
        with pytest.raises(InputError) as err:
            check_recording_fits(tmp_path / "x.npz", floor, robots, steps)
    finally:
        recording.MAX_RECORDING_BYTES = old
    m = re.search(r"inflate to ([\d,]+) bytes", err.value.message)
    assert m, err.value.message
    return int(m.group(1).replace(",", ""))


def test_saving_too_large_names_the_cli_option_only_with_preferences(tmp_path, monkeypatch):
    """:meth:`EpisodeRecorder.save`'s refusal offers recording without preferences only when
    it holds them, and says how (the CLI option)."""
    from test_visualize import make_fleet

    from warehouse.recorder import EpisodeRecorder

    for prefs in (True, False):
        fleet = make_fleet("tiny", robots=3)
        fleet.reset(0)
        rec = EpisodeRecorder(fleet.sim, meta={}, store_preferences=prefs)
        for _ in range(5):
            rec.capture(fleet.sim, fleet.step())
        monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 1000)
        with pytest.raises(InputError) as err:
            rec.save(tmp_path / "r.npz")
        monkeypatch.undo()
        assert ("--no-record-preferences" in err.value.message) is prefs, err.value.message
        assert not (tmp_path / "r.npz").exists()


# ------------------------------------------------------------------ 2: one rule per frame


def _frames_agree(frame, sim) -> None:
    """The frame's target and stalled robots are the core's and the KPIs'."""
    from warehouse.kpis import jammed_robots, stuck_robots

    assert np.array_equal(frame.target, sim.state.target)
    stuck, jammed = frame.stalled()
    assert int(stuck.sum()) == stuck_robots(sim) == frame.kpis["stuck_robots"]
    assert int(jammed.sum()) == jammed_robots(sim) == frame.kpis["jammed_robots"]


def test_frame_target_and_stalled_are_the_core_rules(monkeypatch) -> None:
    """:attr:`Frame.target` is :func:`warehouse.core.state.drive_target` and
    :meth:`Frame.stalled` is :func:`warehouse.kpis.stalled`: replacing the shared rule changes
    what the frame says (it used to restate both)."""
    from test_visualize import make_fleet

    import warehouse.core.state as state
    import warehouse.kpis as kpis
    from visualize.frame import frame_from_sim

    fleet = make_fleet("tiny", robots=4)
    fleet.reset(0)
    fleet.step()
    frame = frame_from_sim(fleet.sim)
    monkeypatch.setattr(state, "drive_target", lambda wp, goal: np.full(wp.shape, 7))
    monkeypatch.setattr(kpis, "stalled", lambda since, physics: (since >= 0, since < 0))
    assert (frame.target == 7).all()
    stuck, jammed = frame.stalled()
    assert stuck.all() and not jammed.any()


def test_live_and_replayed_frames_agree_with_the_core_on_stalls(tmp_path) -> None:
    """A crowded run with low stall thresholds (robots stuck and jammed): every frame, live
    and replayed, gives the core's targets and the KPIs' stuck and jammed robots."""
    from test_visualize import make_fleet

    from visualize.frame import frame_from_recording, frame_from_sim
    from warehouse.recorder import EpisodeRecorder

    sets = {"physics.stuck_after": 2, "physics.jam_after": 4, "collisions": "block"}
    fleet = make_fleet("tiny", robots=16, **sets)
    fleet.reset(2)
    rec = EpisodeRecorder(fleet.sim, meta={}, store_preferences=False)
    seen_stuck = seen_jam = 0
    for _ in range(30):
        step = fleet.step()
        rec.capture(fleet.sim, step)
        frame = frame_from_sim(fleet.sim, step)
        _frames_agree(frame, fleet.sim)
        seen_stuck += frame.kpis["stuck_robots"]
        seen_jam += frame.kpis["jammed_robots"]
    assert seen_stuck > 0 and seen_jam > 0  # (the test sees stalls)
    replay = load_recording(rec.save(tmp_path / "r.npz"))
    for k in range(replay.steps + 1):
        frame = frame_from_recording(replay, k)
        _frames_agree(frame, frame.sim)


# ------------------------------------------------------------------ 3: the model's seed


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None, np.float64(2.0)])
def test_the_model_refuses_a_seed_that_is_not_a_non_negative_integer(seed) -> None:
    """Mesa's own error for -1 was "expected non-negative integer" from deep inside numpy; 1.5
    ran as seed 1, "3" as 3, True as 1 (recorded so)."""
    from warehouse.model import WarehouseModel

    with pytest.raises((TypeError, ValueError)) as err:
        WarehouseModel("tiny", seed=seed, steps=2, robots=2, policy="rule_based")
    assert str(err.value) == f"seed must be a non-negative integer, got {seed!r}"


def test_the_model_takes_a_numpy_integer_seed() -> None:
    from warehouse.model import WarehouseModel

    a = WarehouseModel("tiny", seed=np.int64(3), steps=5, robots=2, policy="rule_based")
    b = WarehouseModel("tiny", seed=3, steps=5, robots=2, policy="rule_based")
    assert type(a.seed) is int and a.run() == b.run()


# ------------------------------------------------------------------ 5: evacuation marks


def test_a_stale_evacuation_mark_changes_nothing() -> None:
    """The kernel clears a reached evacuation waypoint but not its mark (``evacuation``,
    ``evacuated_from``). The same run with every stale mark wiped after each step is the
    same, step for step: every reader of the mark checks the robot still drives to it."""
    from test_audit_closures5 import idle_inside

    from agents import make_navigator
    from warehouse.fleet import Fleet

    runs = []
    for wipe in (False, True):
        sim = idle_inside(LONG)
        fleet = Fleet(sim, None, make_navigator("rule_based"))
        s = sim.state
        stale = 0
        trace = []
        for _ in range(50):
            fleet.step()
            mark = (s.waypoint < 0) & (s.evacuation >= 0)
            stale += int(mark.sum())
            if wipe:
                s.evacuation[mark] = s.evacuated_from[mark] = -1
            trace.append((s.pos.copy(), s.waypoint.copy(), s.phase.copy()))
        runs.append((stale, trace))
    assert runs[0][0] > 0  # (the run has a stale mark to wipe)
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
