"""Q-ensembles: one checkpoint whose scores are the mean of its members' scores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_network, save_checkpoint
from agents.cql import CQL, CQLConfig
from agents.ensemble import build_ensemble
from agents.finetune_ppo import make_critic
from agents.networks import NavigatorNet, NetworkConfig, Workspace
from warehouse.errors import InputError

NET = NetworkConfig(radius=2, intent=True, heads=2, window_dim=16, hidden=(16,))


def _member(
    path: Path, seed: int, network: NetworkConfig = NET, data_id: str | None = None
) -> Path:
    torch.manual_seed(seed)
    algo = CQL(CQLConfig(network=network))
    extra = {} if data_id is None else {"data_id": data_id}
    return save_checkpoint(path, algo, step=0, training=False, extra=extra)


def _obs(n: int = 64) -> torch.Tensor:
    return torch.rand(n, NET.obs_dim, generator=torch.Generator().manual_seed(5)) * 2 - 1


def test_ensemble_scores_are_the_mean_of_its_members(tmp_path: Path) -> None:
    stems = [_member(tmp_path / f"m{i}", seed=i) for i in range(3)]
    out = build_ensemble([f"{s}.json" for s in stems], tmp_path / "ens")
    ens, meta = load_network(f"{out}.json")
    members = [load_network(f"{s}.json")[0] for s in stems]
    x = _obs()
    with torch.no_grad():
        expected = (members[0].scores(x) + members[1].scores(x) + members[2].scores(x)) / 3
        plain = ens.scores(x)
        heads = ens(x)
    with torch.inference_mode():
        buffered = ens.scores(x, Workspace()).clone()
    torch.testing.assert_close(plain, expected)
    assert torch.equal(plain, buffered)  # the same sum in the same order with buffers
    assert heads.shape == (64, 3 * NET.heads, NET.n_actions)
    assert ens.cfg.members == 3 and meta["config"]["network"]["members"] == 3
    recorded = meta["extra"]["ensemble"]
    assert [m["checkpoint"] for m in recorded] == [f"{s}.json" for s in stems]
    for m, s in zip(recorded, stems, strict=True):
        assert m["weights_sha256"] == json.loads(Path(f"{s}.json").read_text())["weights_sha256"]


def test_ensemble_records_its_members_shared_data_id(tmp_path: Path) -> None:
    """Members trained on one dataset pass its id on (``make_weights --check`` compares it);
    members of different data give the ensemble no data id."""
    same = [_member(tmp_path / f"s{i}", seed=i, data_id="d1") for i in range(2)]
    meta = json.loads(
        build_ensemble([f"{s}.json" for s in same], tmp_path / "a").with_suffix(".json").read_text()
    )
    assert meta["extra"]["data_id"] == "d1"
    mixed = [
        _member(tmp_path / "m0", seed=0, data_id="d1"),
        _member(tmp_path / "m1", seed=1, data_id="d2"),
    ]
    meta = json.loads(
        build_ensemble([f"{s}.json" for s in mixed], tmp_path / "b")
        .with_suffix(".json")
        .read_text()
    )
    assert "data_id" not in meta["extra"]


def test_ensemble_drives_a_fleet_like_any_navigator(tmp_path: Path) -> None:
    from agents.learned import load_learned_navigator
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.core.observe import Observer

    stems = [_member(tmp_path / f"m{i}", seed=i) for i in range(2)]
    out = build_ensemble([f"{s}.json" for s in stems], tmp_path / "ens")
    nav = load_learned_navigator("cql", f"{out}.json", device="cpu")
    sc, src = load_scenario("tiny")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=1)
    obs = Observer(sim, nav.observation)()
    actions, scores = nav.act(sim, obs, sim.action_mask())
    members = [load_learned_navigator("cql", f"{s}.json", device="cpu") for s in stems]
    mean = (members[0].act(sim, obs, sim.action_mask())[1] + members[1].act(
        sim, obs, sim.action_mask())[1]) / 2  # fmt: skip
    np.testing.assert_allclose(scores, mean, rtol=1e-6)
    assert np.array_equal(actions, np.argmax(scores, axis=1))


def test_ensemble_refuses_mismatched_or_too_few_members(tmp_path: Path) -> None:
    a = _member(tmp_path / "a", seed=0)
    wide = _member(tmp_path / "b", seed=1, network=replace(NET, hidden=(32,)))
    with pytest.raises(InputError, match="network"):
        build_ensemble([f"{a}.json", f"{wide}.json"], tmp_path / "ens")
    with pytest.raises(InputError, match="at least two"):
        build_ensemble([f"{a}.json"], tmp_path / "ens")
    ens = build_ensemble([f"{a}.json", f"{a}.json"], tmp_path / "ens")
    with pytest.raises(InputError, match="network"):
        build_ensemble([f"{ens}.json", f"{wide}.json"], tmp_path / "ens2")
    assert not (tmp_path / "ens2.json").exists()


def test_ensembles_of_ensembles_average_every_network(tmp_path: Path) -> None:
    """Members that are ensembles bring their own members: the result scores the mean of all."""
    nets = [_member(tmp_path / f"m{i}", seed=i) for i in range(4)]
    ab = build_ensemble([f"{nets[0]}.json", f"{nets[1]}.json"], tmp_path / "ab")
    cd = build_ensemble([f"{nets[2]}.json", f"{nets[3]}.json"], tmp_path / "cd")
    nested = build_ensemble([f"{ab}.json", f"{cd}.json"], tmp_path / "abcd")
    flat = build_ensemble([f"{n}.json" for n in nets], tmp_path / "flat")
    x = _obs(16)
    a, meta = load_network(f"{nested}.json")
    b, _ = load_network(f"{flat}.json")
    assert a.cfg.members == b.cfg.members == 4
    torch.testing.assert_close(a.scores(x), b.scores(x), rtol=0, atol=0)
    assert [m["members"] for m in meta["extra"]["ensemble"]] == [2, 2]


def test_ppo_critic_of_an_ensemble_is_one_network() -> None:
    actor = NavigatorNet(replace(NET, members=2))
    critic = make_critic(actor)
    assert critic.cfg.members == 1 and critic(_obs(4)).shape == (4, 1, 1)


def test_cli_ensemble_and_refusals(tmp_path: Path, capsys) -> None:
    from warehouse.cli.main import main

    a, b = _member(tmp_path / "a", seed=0), _member(tmp_path / "b", seed=1)

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as ex:
            main(["ensemble", *args])
        return 0 if ex.value.code is None else int(ex.value.code)

    assert cli(f"{a}.json", f"{b}.json", "--out", str(tmp_path / "e")) == 0
    assert "ensemble of 2 networks from 2 checkpoints" in capsys.readouterr().out
    assert cli(f"{a}.json", f"{b}.json", "--out", str(tmp_path / "e")) == 2  # exists
    assert cli(f"{a}.json", str(tmp_path / "nope.json"), "--out", str(tmp_path / "f")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert not (tmp_path / "f.json").exists()


def test_ppo_fine_tunes_an_ensemble_and_resumes(tmp_path: Path) -> None:
    """Online fine-tuning starts from an ensemble like from any network: every member learns,
    the result is an ensemble again, and a resumed run matches an uninterrupted one."""
    from agents.finetune import finetune
    from agents.finetune_ppo import FinetuneConfig

    stems = [_member(tmp_path / f"m{i}", seed=i) for i in range(2)]
    init = build_ensemble([f"{s}.json" for s in stems], tmp_path / "ens")
    cfg = FinetuneConfig(
        updates=2, scenarios=("tiny",), rollout_steps=16, critic_warmup=0, ckpt_every=1,
        collision_rise=None,
    )  # fmt: skip
    full = finetune(cfg, tmp_path / "a", init=f"{init}.json", show_progress=False, log=str)
    one = replace(cfg, updates=1)
    finetune(one, tmp_path / "b", init=f"{init}.json", show_progress=False, log=str)
    rest = finetune(cfg, tmp_path / "b", resume=True, show_progress=False, log=str)
    tuned, _ = load_network(tmp_path / "a" / "model.json")
    start, _ = load_network(f"{init}.json")
    assert tuned.cfg.members == 2
    for before, after in zip(start.members, tuned.members, strict=True):
        pairs = zip(before.parameters(), after.parameters(), strict=True)
        assert any(not torch.equal(p, q) for p, q in pairs)
    again, _ = load_network(tmp_path / "b" / "model.json")
    for p, q in zip(tuned.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    assert full.last == rest.last


def test_make_weights_ships_the_seeded_fine_tunings_as_one_ensemble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``agents.make_weights.finetune_all`` runs every seed of every shipped fine-tuning once
    (skipping runs already there) and writes the seeded ones' Q-ensemble, recording the recipe."""
    import agents.make_weights as mw

    calls: list[tuple[str, int]] = []

    def fake_finetune(cfg, out: Path, init: Path) -> str:  # type: ignore[no-untyped-def]
        calls.append((out.name, cfg.seed))
        stem = _member(out / "model", seed=100 + cfg.seed)  # a distinct network per seed
        meta = json.loads(Path(f"{stem}.json").read_text())
        meta["extra"]["finetune"] = {"config": cfg.to_json(), "init": str(init),
                                     "init_sha256": "ab" * 32}  # fmt: skip
        Path(f"{stem}.json").write_text(json.dumps(meta))
        return str(out / "model.json")

    monkeypatch.setattr(mw, "_finetune_quietly", fake_finetune)
    monkeypatch.setattr(mw, "ProcessPoolExecutor", _InlinePool)
    _member(tmp_path / "cql_pibt_seed1" / "model", seed=101)  # already there: not run again
    src = json.loads((tmp_path / "cql_pibt_seed1" / "model.json").read_text())
    src["extra"]["finetune"] = {"config": {}, "init": "x", "init_sha256": "ab" * 32}
    (tmp_path / "cql_pibt_seed1" / "model.json").write_text(json.dumps(src))
    mw.finetune_all(tmp_path, tmp_path / "init.json")

    cfg, seeds = mw.FINETUNED["cql_pibt"]
    assert sorted(calls) == sorted(
        [(f"cql_pibt_seed{s}", s) for s in seeds if s != 1] + [("cql_physical", 0)]
    )
    net, meta = load_network(tmp_path / "cql_pibt" / "model.json")
    assert net.cfg.members == len(seeds)  # one (plain, here) network per seed
    assert meta["extra"]["finetune"]["seeds"] == list(seeds)
    assert meta["extra"]["finetune"]["config"] == cfg.to_json()
    assert [e["checkpoint"] for e in meta["extra"]["ensemble"]] == [
        str(tmp_path / f"cql_pibt_seed{s}" / "model.json") for s in seeds
    ]
    # the transposed floors are part of the shipped recipe, and they exist
    assert all(Path(f).is_file() for f in mw.TRANSPOSED)
    assert set(mw.TRANSPOSED) <= set(cfg.scenarios)


class _InlinePool:
    """A stand-in for ProcessPoolExecutor that runs each task when submitted."""

    def __init__(self, max_workers: int, mp_context: object = None) -> None:
        pass

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, fn, *args):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn(*args))
        return future
