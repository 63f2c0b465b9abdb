"""Reproducibility across entry points: one scenario, policy and seed give the same KPIs whichever
entry point drives the simulation core (``warehouse run`` with one and two processes, its
recording, ``warehouse sweep``, the Mesa model, the PettingZoo env driven by the same parts,
``hierarchy.evaluate.run_one``), and the files of a run do not depend on ``PYTHONHASHSEED``, the
working folder, the order of ``--policy`` names or what ran before in the process."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli

SEED, STEPS = 1, 40
REPO = Path(__file__).resolve().parents[1]

#: read CSV floats bit for bit: pandas 2 needs the round-trip parser, pandas 3 reads them
#: exactly by default and deprecates the option
EXACT_FLOATS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


def comparable(kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs as plain numbers (an undefined one, NaN or ``None``, as ``None``), for equality."""
    out: dict[str, Any] = {}
    for name, value in kpis.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            out[name] = value
            continue
        out[name] = None if math.isnan(number) else number
    return out


def same_kpis(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Every KPI both name is equal (bit for bit); they share at least the core ones."""
    a, b = comparable(a), comparable(b)
    common = a.keys() & b.keys()
    assert {"deliveries", "distance_m", "shield_interventions", "cycle_time_p50"} <= common
    assert {k: a[k] for k in common} == {k: b[k] for k in common}


def env_kpis(policy: str) -> dict[str, Any]:
    """The PettingZoo env (array API) stepped by the policy's own navigator, with its dispatcher
    attached and its collision mode, seeded like a run."""
    import warehouse
    from scenarios import apply_overrides, load_scenario
    from warehouse.core import Observer
    from warehouse.kpis import compute_kpis
    from warehouse.policies import build_policy, resolve_policy

    sc, src = load_scenario("tiny")
    spec = resolve_policy(policy, sc)
    over = {"episode.steps": STEPS, "physics.collisions": spec.collisions_for(sc)}
    sc = apply_overrides(sc, over, src)
    env = warehouse.make_env("tiny", **over)
    dispatcher, navigator = build_policy(spec, sc, src, env.floor)
    env.set_dispatcher(dispatcher)
    observe = Observer(env.sim, getattr(navigator, "observation", None))
    env.reset_arrays(SEED)
    navigator.reset(env.sim.seed)
    for _ in range(STEPS):
        obs = observe() if navigator.needs_observation else None
        actions, prefs = navigator.act(env.sim, obs, env.sim.action_mask())
        env.step_arrays(np.asarray(actions), prefs)
    return compute_kpis(env.sim)


@pytest.mark.parametrize("policy", ["rule_based", "hierarchical"])
def test_every_entry_point_gives_the_same_kpis(policy: str, tmp_path: Path, capsys) -> None:
    from hierarchy.evaluate import run_one
    from warehouse.model import WarehouseModel
    from warehouse.policies import PRESETS
    from warehouse.recording import kpis_from_recording, load_recording

    model = WarehouseModel("tiny", seed=SEED, policy=policy, steps=STEPS).run()
    assert model["deliveries"] > 0  # something to compare

    jobs = ["1", "2"] if policy == "hierarchical" else ["1"]  # (rule_based: test_cli_run)
    for j in jobs:
        out, rec = tmp_path / f"run{j}", tmp_path / f"run{j}.npz"
        argv = ["run", "tiny", "--policy", policy, "--seeds", f"{SEED},{SEED + 1}"]
        argv += ["--steps", str(STEPS), "--jobs", j, "--out", str(out), "--record", str(rec)]
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        rows = pd.read_csv(out / "kpis.csv", **EXACT_FLOATS)  # (bit for bit)
        final = rows[(rows["seed"] == SEED) & (rows["step"] == STEPS)]
        assert len(final) == 1
        same_kpis(final.iloc[0].to_dict(), model)
        same_kpis(kpis_from_recording(load_recording(rec)), model)

    out = tmp_path / "sweep"
    argv = ["sweep", "tiny", "--set", "fleet.robots=6", "--seeds", str(SEED)]
    argv += ["--steps", str(STEPS), "--policy", policy, "--out", str(out)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    sweep = pd.read_csv(out / "sweep.csv", **EXACT_FLOATS)
    same_kpis(sweep.iloc[0].to_dict(), model)

    dispatcher, navigator, mode = PRESETS[policy]
    same_kpis(run_one("tiny", dispatcher, navigator, mode or "block", SEED, STEPS), model)
    same_kpis(env_kpis(policy), model)


def test_run_files_do_not_depend_on_hash_seed_or_working_folder(tmp_path: Path) -> None:
    """Two processes with other ``PYTHONHASHSEED`` values, started in other folders, write the
    same series, per-robot counters, scenario and recording, byte for byte."""
    outs = []
    for hash_seed, cwd in (("0", tmp_path), ("4321", REPO)):
        out, rec = tmp_path / f"h{hash_seed}", tmp_path / f"h{hash_seed}.npz"
        code = (
            "from warehouse.cli.main import main; main(['run', 'tiny', '--policy', "
            f"'rule_based,hierarchical', '--seeds', '0,1', '--steps', '{STEPS}', "
            f"'--out', {str(out)!r}, '--record', {str(rec)!r}])"
        )
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outs.append((out, rec))
    (a, rec_a), (b, rec_b) = outs
    for name in ("kpis.csv", "robots.csv", "scenario.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert rec_a.read_bytes() == rec_b.read_bytes()


def test_policy_order_and_earlier_runs_change_no_result(tmp_path: Path, capsys) -> None:
    """``--policy hierarchical,random,rule_based`` gives each policy the rows it gets alone."""
    frames = {}
    for names in ("hierarchical,random,rule_based", "rule_based", "random"):
        out = tmp_path / names.replace(",", "_")
        argv = ["run", "tiny", "--policy", names, "--seeds", "0,3", "--steps", str(STEPS)]
        code, _, err = run_cli([*argv, "--out", str(out)], capsys)
        assert code == 0, err
        frames[names] = pd.read_csv(out / "kpis.csv")
    together = frames["hierarchical,random,rule_based"]
    for alone in ("rule_based", "random"):
        rows = together[together["policy"] == alone].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, frames[alone], check_exact=True)


def test_parts_used_again_repeat_their_episode() -> None:
    """A fleet's parts, reset with a seed after other episodes, repeat that seed's episode bit
    for bit, as fresh parts do (no state left over from an episode, every dispatch feature on)."""
    from hierarchy import DISPATCHERS
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.policies import PolicySpec, build_policy

    sc, src = load_scenario("tiny")
    extra = {
        "policies.anticipate": True, "policies.task_swaps": True, "policies.park_idle": 5,
        "policies.max_order_age": 30, "faults.breakdown_prob": 0.02, "faults.closure_prob": 0.1,
    }  # fmt: skip
    sc = apply_overrides(sc, extra, src)
    floor = build_floor(sc, src)

    def fleet(dispatcher: str) -> Fleet:
        spec = PolicySpec(f"{dispatcher}+rule_based", dispatcher, "rule_based")
        return Fleet(Simulation(floor, sc.sim_config()), *build_policy(spec, sc, src, floor))

    def episode(f: Fleet, seed: int) -> list[bytes]:
        f.reset(seed)
        out = []
        for _ in range(60):
            step = f.step()
            out.append(f.sim.state.pos.tobytes() + step.proposed.tobytes())
        return out

    for name in sorted(DISPATCHERS):
        used = fleet(name)
        first = episode(used, 3)
        episode(used, 5)
        assert episode(used, 3) == first == episode(fleet(name), 3), name
