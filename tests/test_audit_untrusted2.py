"""Untrusted input, second round: outputs written through links planted in an output folder,
recordings and datasets that honestly decompress to far more than they can hold, shards
changed between their hash check and their loading, and the ``terminated`` column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from dataset_helpers import collect_tiny, copy_dataset

import warehouse
from agents.dataset import MANIFEST, file_sha256, load_datasets
from hierarchy import GreedyDispatcher
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.recording import EpisodeRecorder, load_recording


def _victim(tmp_path: Path, name: str) -> Path:
    victim = tmp_path / "elsewhere" / name
    victim.parent.mkdir(exist_ok=True)
    victim.write_text("precious")
    return victim


def _plant(folder: Path, name: str, tmp_path: Path) -> Path:
    """A link ``folder/name`` to a file outside it; returns that file."""
    folder.mkdir(parents=True, exist_ok=True)
    victim = _victim(tmp_path, name)
    (folder / name).symlink_to(victim)
    return victim


def _replaced(folder: Path, name: str, victim: Path) -> None:
    assert victim.read_text() == "precious"
    assert not (folder / name).is_symlink() and (folder / name).is_file()


# ------------------------------------------------------------- lead 1: links in output folders
def test_train_dispatcher_replaces_links_to_config_and_eval_json(tmp_path: Path) -> None:
    from hierarchy.ppo import PPOConfig
    from hierarchy.train import TrainConfig, train

    cfg = TrainConfig(
        scenarios=("tiny",), collisions="pibt", total_steps=60, n_envs=1, horizon=60, hidden=8,
        ppo=PPOConfig(epochs=1, minibatches=1), imitation_episodes=0, eval_every=1,
        eval_seeds=(0,), eval_steps=5,
    )  # fmt: skip
    out = tmp_path / "run"
    victims = {name: _plant(out, name, tmp_path) for name in ("config.json", "eval.json")}
    train(cfg, out, log_tensorboard=False)
    for name, victim in victims.items():
        _replaced(out, name, victim)
    assert json.loads((out / "config.json").read_text())["seed"] == cfg.seed


def test_hierarchy_evaluate_replaces_links_to_its_results(tmp_path: Path, monkeypatch) -> None:
    import hierarchy.evaluate as ev

    monkeypatch.setattr(ev, "SCENARIOS", [("tiny", "tiny", False, {})])
    out = tmp_path / "out"
    victims = {name: _plant(out, name, tmp_path) for name in ("results.json", "summary.md")}
    ev.main(["--out", str(out), "--seeds", "1", "--steps", "5", "--scenarios", "tiny",
             "--configs", "rule_based (block)"])  # fmt: skip
    for name, victim in victims.items():
        _replaced(out, name, victim)
    assert json.loads((out / "results.json").read_text())[0]["scenario"] == "tiny"


def test_agents_evaluate_json_replaces_a_link_made_during_the_run(tmp_path: Path) -> None:
    # (--json must not exist when the run starts; a link made meanwhile is not written through)
    from agents.evaluate import report

    victim = _plant(tmp_path / "o", "rows.json", tmp_path)
    report("table", [{"a": 1}], 0.0, tmp_path / "o" / "rows.json")
    _replaced(tmp_path / "o", "rows.json", victim)
    assert json.loads((tmp_path / "o" / "rows.json").read_text()) == [{"a": 1}]


def test_shadow_report_replaces_links_to_its_files(tmp_path: Path) -> None:
    from hierarchy.shadow import ShadowLog, write_report

    sim = warehouse.make_env("tiny").sim
    out = tmp_path / "sh"
    names = ("shadow.json", "divergences.csv", "divergence.png")
    victims = {name: _plant(out, name, tmp_path) for name in names}
    write_report(ShadowLog(), sim, out, {"note": "x"})
    for name, victim in victims.items():
        _replaced(out, name, victim)
    assert (out / "divergence.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "divergences.csv").read_text().startswith("step,kind,robot")


def test_report_plots_replace_links(tmp_path: Path) -> None:
    import pandas as pd

    from warehouse.plots import plot_deliveries

    victim = _plant(tmp_path / "o", "deliveries.png", tmp_path)
    series = pd.DataFrame({"policy": ["a", "a"], "seed": [0, 0], "step": [1, 2],
                           "deliveries": [0, 1]})  # fmt: skip
    plot_deliveries(series, tmp_path / "o" / "deliveries.png")
    _replaced(tmp_path / "o", "deliveries.png", victim)
    assert (tmp_path / "o" / "deliveries.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------ lead 2: recordings that inflate
@pytest.fixture(scope="module")
def small_recording(tmp_path_factory) -> Path:
    from agents import make_navigator

    env = warehouse.make_env("tiny", **{"fleet.robots": 2})
    fleet = Fleet(env.sim, GreedyDispatcher(), make_navigator("rule_based"))
    fleet.reset(0)
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "tiny", "seed": 0})
    for _ in range(5):
        rec.capture(fleet.sim, fleet.step())
    return rec.save(tmp_path_factory.mktemp("rec") / "run.npz")


def _inflated(src: Path, dst: Path, **changes: np.ndarray) -> Path:
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez_compressed(dst, **arrays)
    return dst


def test_a_recording_member_far_larger_than_the_run_is_refused_unread(
    small_recording: Path, tmp_path: Path, monkeypatch
) -> None:
    # 5 steps x 2 robots, with "preferences" honestly holding 64 MB of zeros (64 KB deflated)
    big = np.zeros((5, 2, 1 << 22), dtype=np.float64)
    path = _inflated(small_recording, tmp_path / "big.npz", preferences=big)
    del big
    assert path.stat().st_size < 1 << 20
    loads = []
    monkeypatch.setattr(np, "load", lambda *a, **k: loads.append(a) or pytest.fail("read"))
    with pytest.raises(InputError) as info:
        load_recording(path)
    text = str(info.value)
    assert "big.npz" in text and ": preferences:" in text and "\n" not in text, text
    assert not loads


def test_a_recording_over_the_global_cap_is_refused(small_recording: Path, monkeypatch) -> None:
    import warehouse.recording as recording

    load_recording(small_recording)  # within both bounds
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 1000)
    with pytest.raises(InputError) as info:
        load_recording(small_recording)
    text = str(info.value)
    assert "run.npz" in text and "at most 1,000 bytes" in text and "\n" not in text, text


# --------------------------------------------------------------------------- leads 3-5: datasets
@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return collect_tiny(tmp_path_factory.mktemp("data") / "ds")


def _refused(folder: Path, file: str, field: str) -> str:
    with pytest.raises(InputError) as info:
        load_datasets([folder])
    text = str(info.value)
    assert file in text and f": {field}:" in text and "\n" not in text, text
    return text


def test_a_manifest_claiming_more_rows_than_the_shard_holds_is_refused_before_allocating(
    dataset: Path, tmp_path: Path, monkeypatch
) -> None:
    import agents.dataset as ds

    folder = copy_dataset(dataset, tmp_path / "d")
    man = json.loads((folder / MANIFEST).read_text())
    man["shards"][0]["n"] += 10**12
    man["n_transitions"] += 10**12
    (folder / MANIFEST).write_text(json.dumps(man))
    real = ds.np.empty

    def empty(shape, *args, **kwargs):
        assert np.prod(shape) < 10**9, "allocated what the manifest claims"
        return real(shape, *args, **kwargs)

    monkeypatch.setattr(ds.np, "empty", empty)
    text = _refused(folder, MANIFEST, "n_transitions")
    assert "the shards hold" in text, text


def test_a_shard_holding_fewer_rows_than_listed_is_refused_before_loading(
    dataset: Path, tmp_path: Path, monkeypatch
) -> None:
    from agents.dataset import load_shard

    folder = copy_dataset(dataset, tmp_path / "d")
    sh = json.loads((folder / MANIFEST).read_text())["shards"][0]
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("read"))
    with pytest.raises(InputError) as info:
        load_shard(folder / sh["file"], sh["sha256"], 10**12, 8, 5)
    assert "shard_00000.npz: 1,000,000,000,000 transitions need" in str(info.value)


def test_the_bytes_hashed_are_the_bytes_loaded(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    """A shard swapped after its hash was checked (here: right before numpy reads it) is
    never loaded: the bytes hashed are the bytes loaded."""
    import agents.dataset as ds

    folder = copy_dataset(dataset, tmp_path / "d")
    first = folder / json.loads((folder / MANIFEST).read_text())["shards"][0]["file"]
    with np.load(first) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["reward"] = arrays["reward"] + 1000.0
    swapped = tmp_path / "swapped.npz"
    np.savez(swapped, **arrays)
    real = np.load

    def swap_then_load(*args, **kwargs):
        shutil.copyfile(swapped, first)
        return real(*args, **kwargs)

    monkeypatch.setattr(ds.np, "load", swap_then_load)
    data = load_datasets([folder])
    assert data.reward.max() < 1000.0


def _edit_shard(folder: Path, **changes: np.ndarray) -> str:
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez(path, **arrays)
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))
    return str(man["shards"][0]["file"])


def test_a_terminated_transition_is_refused(dataset: Path, tmp_path: Path) -> None:
    # the format says terminated is always False (the warehouse is lifelong); a True would
    # silently stop CQL's bootstrapping there
    folder = copy_dataset(dataset, tmp_path / "d")
    with np.load(folder / "shard_00000.npz") as z:
        terminated = z["terminated"].copy()
    terminated[0] = True
    name = _edit_shard(folder, terminated=terminated)
    _refused(folder, name, "terminated")


@pytest.mark.parametrize("key", ["terminated", "truncated"])
def test_a_flag_byte_other_than_0_or_1_is_refused(dataset: Path, tmp_path: Path, key) -> None:
    folder = copy_dataset(dataset, tmp_path / "d")
    with np.load(folder / "shard_00000.npz") as z:
        raw = z[key].view(np.uint8).copy()
    raw[1] = 7
    name = _edit_shard(folder, **{key: raw.view(np.bool_)})
    _refused(folder, name, key)


def test_an_ordinary_dataset_still_loads(dataset: Path) -> None:
    data = load_datasets([dataset])
    assert len(data) == json.loads((dataset / MANIFEST).read_text())["n_transitions"]
    assert not data.terminated.any()
    limited = load_datasets([dataset], limit=1)
    assert len(limited) == 1
