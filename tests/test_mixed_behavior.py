"""Mixed behaviour fleets (DAgger-style data) and training on the union of dataset folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_network
from agents.dataset import MANIFEST, CollectConfig, collect, load_dataset, load_datasets
from agents.mixed_behavior import MixedNavigator
from agents.train import TrainConfig, train
from warehouse.config import ObservationConfig
from warehouse.errors import InputError

INTENT = ObservationConfig(radius=3, intent=True)
BASE = CollectConfig(
    targets=("tiny",), episodes=1, seeds=(5,), steps=15, epsilon=0.0, observation=INTENT
)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CQL network with the intent layout (trained for a few updates)."""
    root = tmp_path_factory.mktemp("mixed")
    collect(replace(BASE, epsilon=0.2), root / "data")
    cfg = TrainConfig(algo="cql", data=root / "data", out=root / "run", steps=30, alpha=5.0)
    train(cfg, show_progress=False)
    return root / "run" / "model.json"


class _Fixed:
    """A navigator that always returns ``action`` (a stand-in with a name and observation)."""

    observation = INTENT

    def __init__(self, action: int, name: str) -> None:
        self.action, self.name = action, name

    def reset(self, seed: int | None) -> None:
        pass

    def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
        n = mask.shape[0]
        return np.full(n, self.action), np.full(mask.shape, float(self.action))


def test_mixed_navigator_share_and_seeding() -> None:
    nav = MixedNavigator(_Fixed(0, "base"), _Fixed(3, "net"), 0.7)
    mask = np.ones((20_000, 5), dtype=bool)
    nav.reset(1)
    first, prefs = nav.act(None, None, mask)
    assert set(np.unique(first)) == {0, 3}
    assert (prefs == first[:, None]).all()  # each robot ranks like the navigator that moved it
    assert abs(np.mean(first == 3) - 0.7) < 0.02
    nav.reset(1)
    assert np.array_equal(nav.act(None, None, mask)[0], first)  # same seed, same draws
    nav.reset(2)
    assert not np.array_equal(nav.act(None, None, mask)[0], first)
    for share, expected in ((0.0, 0), (1.0, 3)):
        only = MixedNavigator(_Fixed(0, "base"), _Fixed(3, "net"), share)
        only.reset(1)
        assert (only.act(None, None, mask)[0] == expected).all()
    with pytest.raises(ValueError, match="share"):
        MixedNavigator(_Fixed(0, "base"), _Fixed(3, "net"), 1.5)


def test_share_one_logs_the_networks_own_moves(network: Path, tmp_path: Path) -> None:
    """Learned share 1 and a tiny temperature: every logged move is the network's masked argmax
    on the logged observation (the fleet really runs the network), and the manifest says so."""
    cfg = replace(BASE, learned=network, learned_share=1.0, learned_temperature=1e-6)
    collect(cfg, tmp_path / "d")
    data = load_dataset(tmp_path / "d")
    net, _ = load_network(network)
    with torch.no_grad():
        q = net.scores(torch.from_numpy(data.obs.astype(np.float32))).numpy()
    q[data.mask == 0] = -np.inf
    top2 = np.sort(q, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-4  # skip near-ties (float16 observations)
    assert clear.mean() > 0.9
    assert np.array_equal(data.action[clear], q.argmax(axis=1)[clear])
    learned = data.manifest["learned"]
    assert learned["share"] == 1.0
    assert (tmp_path / "d" / learned["checkpoint"]).resolve() == network.resolve()
    assert len(learned["sha256"]) == 64


def test_share_zero_logs_the_behaviour_fleet(network: Path, tmp_path: Path) -> None:
    plain = collect(BASE, tmp_path / "plain")
    mixed = collect(replace(BASE, learned=network, learned_share=0.0), tmp_path / "mixed")
    a, b = load_dataset(tmp_path / "plain"), load_dataset(tmp_path / "mixed")
    assert np.array_equal(a.action, b.action) and np.array_equal(a.obs, b.obs)
    assert "learned" not in plain and mixed["learned"]["share"] == 0.0


def test_layout_mismatch_is_refused(network: Path, tmp_path: Path) -> None:
    cfg = replace(BASE, learned=network, learned_share=0.5, observation=ObservationConfig())
    with pytest.raises(InputError, match="observation"):
        collect(cfg, tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_union_of_folders(network: Path, tmp_path: Path) -> None:
    collect(BASE, tmp_path / "a")
    collect(replace(BASE, seeds=(6,), targets=("small",), steps=3), tmp_path / "b")
    a, b = load_dataset(tmp_path / "a"), load_dataset(tmp_path / "b")
    union = load_datasets([tmp_path / "a", tmp_path / "b"])
    assert np.array_equal(union.obs, np.concatenate([a.obs, b.obs]))
    assert np.array_equal(union.action, np.concatenate([a.action, b.action]))
    man = union.manifest
    assert man["n_transitions"] == len(a) + len(b) == len(union)
    assert man["scenarios"] == ["tiny", "small"] and len(man["parts"]) == 2
    assert len(load_datasets([tmp_path / "a", tmp_path / "b"], limit=10)) == 10
    # another observation layout cannot join the union
    collect(replace(BASE, observation=ObservationConfig()), tmp_path / "c")
    with pytest.raises(InputError, match="obs_shape") as ex:
        load_datasets([tmp_path / "a", tmp_path / "c"])
    source = str(tmp_path / "c" / MANIFEST)
    assert ex.value.source == source and f"in {tmp_path / 'c'} differs" in str(ex.value)


def test_cli_mixed_collection_and_union_training(network: Path, tmp_path: Path, capsys) -> None:
    from warehouse.cli.main import main

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as ex:
            main(list(args))
        return 0 if ex.value.code is None else int(ex.value.code)

    base = ["collect", "tiny", "--seeds", "7", "--steps", "5", "--intent"]
    assert cli(*base, "--out", str(tmp_path / "a")) == 0
    mixed = [*base, "--learned", str(network), "--learned-share", "0.5"]
    assert cli(*mixed, "--out", str(tmp_path / "b")) == 0
    assert load_dataset(tmp_path / "b").manifest["learned"]["share"] == 0.5
    capsys.readouterr()
    # a share without a network, or a network without a share: one line, exit 2, no folder
    assert cli(*base, "--learned-share", "0.5", "--out", str(tmp_path / "x")) == 2
    assert "--learned-share: needs --learned" in capsys.readouterr().err
    assert cli(*base, "--learned", str(network), "--out", str(tmp_path / "x")) == 2
    assert "--learned-share" in capsys.readouterr().err
    assert cli(*base, "--learned", str(tmp_path / "none.json"), "--learned-share", "1",
               "--out", str(tmp_path / "x")) == 2  # fmt: skip
    assert not (tmp_path / "x").exists()
    data = f"{tmp_path / 'a'},{tmp_path / 'b'}"
    run = tmp_path / "run"
    train_args = ["train-navigator", "--algo", "bc", "--steps", "3", "--no-progress"]
    assert cli(*train_args, "--data", data, "--out", str(run), "--device", "cpu") == 0
    meta = json.loads((run / "model.json").read_text())
    assert meta["extra"]["train"]["data"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert meta["extra"]["data"] == ["tiny"]
    capsys.readouterr()
    missing = f"{tmp_path / 'a'},{tmp_path / 'nope'}"
    assert cli(*train_args, "--data", missing, "--out", str(tmp_path / "r2")) == 2
    assert "nope" in capsys.readouterr().err and not (tmp_path / "r2").exists()


def test_round_data_mixes_the_previous_rounds_network(tmp_path: Path) -> None:
    from agents.rounds import RECIPES, data_folders, round_data

    cfg = RECIPES["wide"]
    first, second = round_data(cfg, 1, tmp_path), round_data(cfg, 2, tmp_path)
    assert first.learned == tmp_path / "cql_r0" / "model.json"
    assert second.learned == tmp_path / "cql_r1" / "model.json"
    assert first.learned_share == cfg.share and cfg.data.learned is None
    seeds = [set(cfg.data.seeds or ()), set(first.seeds or ()), set(second.seeds or ())]
    assert all(len(s) == cfg.data.episodes for s in seeds)
    assert not (seeds[0] & seeds[1]) and not (seeds[1] & seeds[2]) and not (seeds[0] & seeds[2])
    assert first.targets == cfg.data.targets and first.overrides == cfg.data.overrides
    assert data_folders(2, tmp_path) == (
        tmp_path / "data",
        tmp_path / "data_r1",
        tmp_path / "data_r2",
    )


def test_two_rounds_end_to_end(tmp_path: Path) -> None:
    """The loop collects round 0, trains, collects round 1 from a fleet running that network,
    and trains the final CQL and BC networks on the union."""
    from agents.rounds import RoundsConfig, run

    cfg = RoundsConfig(data=replace(BASE, epsilon=0.1, episodes=1), rounds=1, steps=5)
    lines: list[str] = []
    run(cfg, tmp_path, log=lines.append)
    r1 = load_dataset(tmp_path / "data_r1")
    assert r1.manifest["learned"]["checkpoint"] == "../cql_r0/model.json"
    assert r1.manifest["seeds"] == [1]
    for algo in ("cql", "bc"):
        meta = json.loads((tmp_path / algo / "model.json").read_text())
        assert meta["extra"]["train"]["data"] == [str(tmp_path / "data"), str(tmp_path / "data_r1")]
    assert len(lines) == 3
    run(cfg, tmp_path, log=lines.append)  # everything exists: nothing is redone
    assert len(lines) == 3


def test_final_networks_as_ensembles(tmp_path: Path) -> None:
    from agents.rounds import RoundsConfig, run

    cfg = RoundsConfig(
        data=replace(BASE, epsilon=0.1, episodes=1), rounds=1, steps=4, members=2, final_steps=6
    )
    run(cfg, tmp_path, log=lambda _: None)
    for algo in ("cql", "bc"):
        meta = json.loads((tmp_path / algo / "model.json").read_text())
        assert meta["config"]["network"]["members"] == 2 and meta["algo"] == algo
        seeds = []
        for member in meta["extra"]["ensemble"]:
            train = json.loads(Path(member["checkpoint"]).read_text())["extra"]["train"]
            assert train["steps"] == 6 and len(train["data"]) == 2
            seeds.append(train["seed"])
        assert seeds == [0, 1]
