"""Offline dataset: collection matches what happened, the loader refuses tampered data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from agents.dataset import (
    FIELDS,
    MANIFEST,
    SCHEMA_VERSION,
    CollectConfig,
    EpsilonGreedyNavigator,
    collect,
    file_sha256,
    load_dataset,
)
from warehouse.errors import InputError

STEPS = 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "ds"
    cfg = CollectConfig(
        targets=("tiny",), episodes=2, seeds=(3, 4), steps=STEPS, epsilon=0.3, shard_size=50
    )
    collect(cfg, out)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def _rewrite_shard(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Replace shard 0 and update its hash, so only the content checks can catch the problem."""
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    np.savez(path, **arrays)
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))


def _shard0(folder: Path) -> dict[str, np.ndarray]:
    man = json.loads((folder / MANIFEST).read_text())
    with np.load(folder / man["shards"][0]["file"]) as z:
        return {k: z[k] for k in z.files}


def test_manifest_and_counts(dataset: Path) -> None:
    man = json.loads((dataset / MANIFEST).read_text())
    robots = 6  # tiny.yaml
    assert man["schema_version"] == SCHEMA_VERSION
    assert man["n_transitions"] == 2 * STEPS * robots
    assert [s["n"] for s in man["shards"]] == [50, 50, 44]  # shards are cut at shard_size
    assert man["seeds"] == [3, 4] and man["scenarios"] == ["tiny"]
    assert man["behavior"] == "rule_based" and man["epsilon"] == 0.3
    assert man["obs_shape"] == [4 * 7 * 7 + 12] and man["n_actions"] == 5
    for sh in man["shards"]:
        assert file_sha256(dataset / sh["file"]) == sh["sha256"]
    assert sorted(p.name for p in dataset.iterdir()) == [MANIFEST] + [
        s["file"] for s in man["shards"]
    ]


def test_transitions_chain_and_match_the_simulation(dataset: Path) -> None:
    d = load_dataset(dataset)
    n = 6
    for k, (dtype, _) in FIELDS.items():
        assert getattr(d, k).dtype == dtype
    steps = d.action.reshape(2, STEPS, n)
    # Rows are (episode, step, robot); next_obs of step t is obs of step t+1 for the same robot.
    obs = d.obs.reshape(2, STEPS, n, -1)
    nxt = d.next_obs.reshape(2, STEPS, n, -1)
    np.testing.assert_array_equal(nxt[:, :-1], obs[:, 1:])
    np.testing.assert_array_equal(
        d.next_mask.reshape(2, STEPS, n, -1)[:, :-1], d.mask.reshape(2, STEPS, n, -1)[:, 1:]
    )
    trunc = d.truncated.reshape(2, STEPS, n)
    assert trunc[:, -1].all() and not trunc[:, :-1].any()
    assert not d.terminated.any()
    # Executed actions are allowed by the logged mask, and ε = 0.3 shows up as variety.
    assert d.mask[np.arange(len(d)), d.action].all()
    assert len(np.unique(steps)) > 1

    # Replaying the same episode reproduces the logged executed actions and rewards.
    from agents.registry import make_navigator
    from hierarchy import make_dispatcher
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"collisions": "physical"}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(
        sim, make_dispatcher("greedy"), EpsilonGreedyNavigator(make_navigator("rule_based"), 0.3)
    )
    fleet.reset(3)
    for t in range(STEPS):
        st = fleet.step()
        np.testing.assert_array_equal(st.result.actions, steps[0, t])
        np.testing.assert_array_equal(st.result.reward, d.reward.reshape(2, STEPS, n)[0, t])
        np.testing.assert_allclose(st.obs, obs[0, t], atol=5e-4)


def test_epsilon_greedy_uses_its_own_rng_and_only_allowed_moves() -> None:
    class Fixed:
        name = "fixed"

        def reset(self, seed):
            pass

        def act(self, sim, obs, mask):
            return np.zeros(len(mask), np.int64), np.zeros(mask.shape, np.float32)

    mask = np.zeros((5000, 5), bool)
    mask[:, [0, 2]] = True
    nav = EpsilonGreedyNavigator(Fixed(), 0.5)
    nav.reset(7)
    state = np.random.get_state()  # noqa: NPY002 - checking the global RNG stays untouched
    a, _ = nav.act(None, None, mask)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # noqa: NPY002
    assert set(np.unique(a)) == {0, 2}
    assert 0.2 < (a == 2).mean() < 0.3  # half explore, half of those pick the other move
    nav.reset(7)
    np.testing.assert_array_equal(nav.act(None, None, mask)[0], a)


def test_failed_collection_leaves_nothing_behind(tmp_path: Path) -> None:
    def boom(n: int) -> None:
        raise RuntimeError("interrupted")

    cfg = CollectConfig(targets=("tiny",), episodes=1, steps=3)
    with pytest.raises(RuntimeError, match="interrupted"):
        collect(cfg, tmp_path / "ds", progress=boom)
    assert list(tmp_path.iterdir()) == []
    collect(cfg, tmp_path / "ds")
    with pytest.raises(InputError, match="already exists"):
        collect(cfg, tmp_path / "ds")


def test_loader_rejects_a_tampered_shard(dataset: Path, tmp_path: Path) -> None:
    folder = _copy(dataset, tmp_path)
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][1]["file"]
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="sha256") as err:
        load_dataset(folder)
    assert err.value.source == str(path)


def test_loader_rejects_object_arrays(dataset: Path, tmp_path: Path) -> None:
    folder = _copy(dataset, tmp_path)
    arrays = _shard0(folder)
    arrays["reward"] = np.array([{"x": 1}] * 50, dtype=object)
    _rewrite_shard(folder, arrays)
    with pytest.raises(InputError, match="object arrays") as err:
        load_dataset(folder)
    assert err.value.field == "reward"


def test_loader_rejects_nan(dataset: Path, tmp_path: Path) -> None:
    folder = _copy(dataset, tmp_path)
    arrays = _shard0(folder)
    arrays["next_obs"][3, 5] = np.nan
    _rewrite_shard(folder, arrays)
    with pytest.raises(InputError, match="non-finite") as err:
        load_dataset(folder)
    assert err.value.field == "next_obs"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda a: a.pop("next_mask"), "next_mask", "missing"),
        (lambda a: a.update(action=a["action"].astype(np.int64)), "action", "dtype"),
        (lambda a: a.update(obs=a["obs"][:, :-1]), "obs", "shape"),
        (lambda a: a.update(extra=np.zeros(3)), "extra", "unexpected"),
        (lambda a: a["action"].__setitem__(0, 9), "action", "must lie in"),
    ],
)
def test_loader_rejects_malformed_arrays(dataset, tmp_path, change, field, message) -> None:
    folder = _copy(dataset, tmp_path)
    arrays = _shard0(folder)
    change(arrays)
    _rewrite_shard(folder, arrays)
    with pytest.raises(InputError, match=message) as err:
        load_dataset(folder)
    assert err.value.field == field


def test_loader_rejects_schema_mismatch_and_bad_manifests(dataset: Path, tmp_path: Path) -> None:
    folder = _copy(dataset, tmp_path)
    man = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**man, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(InputError, match="schema") as err:
        load_dataset(folder)
    assert err.value.field == "schema_version"
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        load_dataset(folder)
    (folder / MANIFEST).write_text(json.dumps({**man, "n_transitions": 5}))
    with pytest.raises(InputError, match="shard counts"):
        load_dataset(folder)
    bad = {**man, "shards": [{**man["shards"][0], "file": "../elsewhere.npz"}]}
    (folder / MANIFEST).write_text(json.dumps(bad))
    with pytest.raises(InputError, match="dataset folder"):
        load_dataset(folder)


def test_cli_collect_and_exit_code_2_on_a_bad_manifest(tmp_path: Path, capsys) -> None:
    from warehouse.cli.main import main

    out = tmp_path / "ds"
    with pytest.raises(SystemExit) as ex:
        main(["collect", "tiny", "--episodes", "1", "--steps", "4", "--out", str(out)])
    assert ex.value.code in (0, None)
    assert load_dataset(out).manifest["n_transitions"] == 24
    (out / MANIFEST).write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(SystemExit) as ex:
        main(
            [
                "train-navigator",
                "--algo",
                "bc",
                "--data",
                str(out),
                "--steps",
                "2",
                "--out",
                str(tmp_path / "run"),
                "--no-progress",
            ]
        )
    assert ex.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {out / MANIFEST}: schema_version:")
    assert not (tmp_path / "run").exists()


def test_cli_collect_intent_layout_and_settings(tmp_path: Path, capsys) -> None:
    """``--intent`` logs the wider layout and ``--set`` reaches every scenario (both recorded in
    the manifest); an unknown setting is one line, exit 2, and no folder."""
    from warehouse.cli.main import main
    from warehouse.core.observe import observation_size

    out = tmp_path / "ds"
    argv = ["collect", "tiny", "--episodes", "1", "--steps", "4", "--intent"]
    with pytest.raises(SystemExit) as ex:
        main([*argv, "--set", "reward.collision=-150", "--out", str(out)])
    assert ex.value.code in (0, None)
    data = load_dataset(out)
    assert data.manifest["obs_shape"] == [observation_size(3, intent=True)]
    assert data.manifest["overrides"] == {"reward.collision": -150}
    capsys.readouterr()
    bad = tmp_path / "bad"
    with pytest.raises(SystemExit) as ex:
        main([*argv, "--set", "nosuch.key=1", "--out", str(bad)])
    assert ex.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuch.key" in err[0]
    assert not bad.exists()
