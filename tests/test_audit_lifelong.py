"""Lifelong operation: long runs of the core, its KPIs, the Mesa model and recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from warehouse.core.state import N_PHASES, Charge, Phase
from warehouse.model import WarehouseModel
from warehouse.recording import Recording, kpis_from_recording, load_recording

BATTERY = Path(__file__).resolve().parents[1] / "docs" / "results_battery" / "small_battery.yaml"


@pytest.fixture(scope="module")
def battery_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, dict]:
    """A recorded run with the battery model on, robots charging and depleting."""
    model = WarehouseModel(
        BATTERY,
        source=BATTERY,
        seed=3,
        steps=400,
        per_robot=False,
        last_only=True,
        recorder=True,
        policy="rule_based",
        robots=8,
        **{"battery.capacity_wh": 12.0, "battery.initial_soc_min": 0.2},
    )
    kpis = model.run()
    path = tmp_path_factory.mktemp("lifelong") / "battery.npz"
    model.recorder.save(path)
    return load_recording(path), kpis


def _rescanned_counters(rec: Recording, k: int) -> dict[str, np.ndarray]:
    """The time and battery counters of frame ``k`` summed over the whole log up to it."""
    a = rec.arrays
    stepping = rec.stepping_phase[:k]
    driving = np.isin(stepping, (Phase.TO_PICK, Phase.TO_DROP, Phase.TO_GOAL))
    charge, soc = a["battery_charge"], a["battery_soc"]
    began = charge[:k]
    charging = (began == Charge.QUEUED) | (began == Charge.TO_CHARGER)
    charging |= began == Charge.CHARGING
    dead = (charge[1 : k + 1] == Charge.DEPLETED) & (began != Charge.DEPLETED)
    blocked = np.count_nonzero(driving & (a["pos"][1 : k + 1] == a["pos"][:k]))
    return {
        "phase_steps": np.bincount(stepping.ravel(), minlength=N_PHASES),
        "blocked_steps": np.array([blocked]),
        "soc_min_wh": soc[: k + 1].min(axis=0),
        "charge_steps": charging.sum(axis=0),
        "depletions": dead.sum(axis=0),
    }


def test_recording_frame_counters_exact_without_rescanning_the_log(
    battery_recording: tuple[Recording, dict],
) -> None:
    """A frame's time-share and battery counters come from running totals built once, not from
    a rescan of every earlier frame (the replay viewer reads a frame per draw: the rescan made
    each frame cost O(frame × robots), 13 ms at 10 simulated hours of ``small``), and they are
    exactly the sums the live run kept."""
    rec, live = battery_recording
    assert kpis_from_recording(rec) == live
    assert live["battery_depletions"] and live["charging_share"]  # the counters are exercised
    frames = (0, 1, 57, 200, rec.steps - 1, rec.steps)
    expected = {k: _rescanned_counters(rec, k) for k in frames}
    for k in frames:
        state = rec.frame_state(k)
        for name, want in expected[k].items():
            np.testing.assert_array_equal(getattr(state, name), want, err_msg=f"{name} @ {k}")
    # rows before the last two frames are no longer read: a frame's counters are running totals
    k = rec.steps
    for name in ("pos", "battery_charge", "battery_soc"):
        spoiled = rec.arrays[name].copy()
        spoiled[: k - 1] = spoiled[k - 1]
        rec.arrays[name] = spoiled
    state = rec.frame_state(k)
    for name, want in expected[k].items():
        np.testing.assert_array_equal(getattr(state, name), want, err_msg=name)
