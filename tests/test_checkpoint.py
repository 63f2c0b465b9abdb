"""Checkpoints: safetensors + JSON round trips, and every kind of damage is an InputError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from learner_helpers import trained_cql

from agents.batched import BatchedPolicy, NetworkScorer
from agents.bc import BC, BCConfig
from agents.checkpoint import load_algorithm, load_network, read_checkpoint, save_checkpoint
from agents.cql import CQL
from agents.learned import load_learned_navigator
from agents.networks import NetworkConfig
from warehouse.errors import InputError

torch.set_num_threads(1)
NET = NetworkConfig(radius=2, heads=2, window_dim=16, hidden=(16,))


def _trained_cql(updates: int = 3) -> CQL:
    return trained_cql(NET, updates)


def test_round_trip_gives_identical_actions(tmp_path: Path) -> None:
    algo = _trained_cql()
    stem = save_checkpoint(tmp_path / "ck", algo, step=3, rng={"sampler": {"x": 1}})
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (500, NET.obs_dim)).astype(np.float32)
    mask = rng.random((500, 5)) < 0.6
    mask[:, 0] = True
    before = BatchedPolicy(NetworkScorer(algo.net, device="cpu"), name="a").act(None, obs, mask)
    for path in (stem, tmp_path / "ck.json", tmp_path / "ck.safetensors"):
        nav = load_learned_navigator("cql", path, device="cpu")
        after = nav.act(None, obs, mask)
        np.testing.assert_array_equal(before[0], after[0])
        np.testing.assert_array_equal(before[1], after[1])
    # Training state (target network, Adam moments) comes back bit for bit.
    again, meta = load_algorithm(stem)
    assert meta["step"] == 3 and meta["rng"] == {"sampler": {"x": 1}}
    assert again.config == algo.config
    for a, b in zip(again.target.parameters(), algo.target.parameters(), strict=True):
        assert torch.equal(a, b)
    sa, sb = again.optim.state_dict()["state"], algo.optim.state_dict()["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        for key in sa[k]:
            assert torch.equal(torch.as_tensor(sa[k][key]), torch.as_tensor(sb[k][key]))


def test_weights_only_checkpoint_is_small_and_loads(tmp_path: Path) -> None:
    algo = _trained_cql()
    save_checkpoint(tmp_path / "full", algo, step=3)
    save_checkpoint(tmp_path / "w", algo, step=3, training=False)
    meta, tensors = read_checkpoint(tmp_path / "w")
    assert meta["kind"] == "weights"
    assert all(k.startswith("model.") for k in tensors)
    assert (tmp_path / "w.safetensors").stat().st_size * 3 < (
        tmp_path / "full.safetensors"
    ).stat().st_size
    with pytest.raises(InputError, match="not a training checkpoint"):
        load_algorithm(tmp_path / "w")
    net, _ = load_network(tmp_path / "w")
    assert not net.training
    with pytest.raises(InputError, match="expected 'bc'"):
        load_learned_navigator("bc", tmp_path / "w")


def _damage(stem: Path, how: str) -> None:
    w, j = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    meta = json.loads(j.read_text())
    if how == "truncated":
        w.write_bytes(w.read_bytes()[:-40])
    elif how == "garbled":
        blob = b"\x00garbage" * 20
        w.write_bytes(blob)
        import hashlib

        j.write_text(json.dumps({**meta, "weights_sha256": hashlib.sha256(blob).hexdigest()}))
    elif how == "bad_json":
        j.write_text("{'step': 3")
    elif how == "repeated_key":  # plain json would keep the second value
        j.write_text(json.dumps(meta)[:-1] + ', "weights_sha256": "0"}')
    elif how == "missing_key":
        del meta["config"]
        j.write_text(json.dumps(meta))
    elif how == "wrong_shape":
        meta["config"]["network"]["hidden"] = [32]
        j.write_text(json.dumps(meta))
    elif how in ("negative_actions", "text_hidden", "bool_radius", "zero_width"):
        key, value = {
            "negative_actions": ("n_actions", -1),
            "text_hidden": ("hidden", "abc"),
            "bool_radius": ("radius", True),
            "zero_width": ("hidden", [0]),
        }[how]
        meta["config"]["network"][key] = value
        j.write_text(json.dumps(meta))
    elif how == "missing_file":
        w.unlink()
    elif how == "unknown_algo":
        j.write_text(json.dumps({**meta, "algo": "ppo"}))


@pytest.mark.parametrize(
    ("how", "match"),
    [
        ("truncated", "do not match"),
        ("garbled", "cannot read safetensors"),
        ("bad_json", "line 1: invalid JSON"),
        ("repeated_key", "weights_sha256: key given twice"),
        ("missing_key", "config"),
        ("wrong_shape", "shape"),
        ("negative_actions", r"network\.n_actions"),
        ("text_hidden", r"network\.hidden"),
        ("bool_radius", r"network\.radius"),
        ("zero_width", r"network\.hidden"),
        ("missing_file", "not found"),
        ("unknown_algo", "unknown algorithm"),
    ],
)
def test_damaged_checkpoint_is_an_input_error(tmp_path: Path, how: str, match: str) -> None:
    stem = save_checkpoint(tmp_path / "ck", _trained_cql(1), step=1)
    _damage(stem, how)
    with pytest.raises(InputError, match=match):
        load_algorithm(stem)
    with pytest.raises(InputError, match=match):
        load_network(stem)


def test_bc_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    algo = BC(BCConfig(network=NetworkConfig(radius=2, heads=1, window_dim=8, hidden=(8,))))
    save_checkpoint(tmp_path / "bc", algo, step=0)
    again, meta = load_algorithm(tmp_path / "bc")
    assert meta["algo"] == "bc" and isinstance(again, BC)
    for a, b in zip(again.net.parameters(), algo.net.parameters(), strict=True):
        assert torch.equal(a, b)


def test_shipped_weights_load_through_the_registry() -> None:
    from agents.learned import DEFAULT_WEIGHTS
    from agents.registry import make_navigator

    for name, algo in (("cql", "cql"), ("bc", "bc"), ("cql_pibt", "cql"), ("cql_physical", None)):
        if not (DEFAULT_WEIGHTS / f"{name}.json").is_file():
            pytest.fail(f"shipped weights agents/weights/{name}.json missing")
        nav = make_navigator(name, device="cpu")
        assert nav.name == (algo or name) and nav.needs_observation
        obs = np.zeros((3, getattr(nav, "base", nav).scorer.net.cfg.obs_dim), np.float32)
        actions, prefs = nav.act(None, obs, np.ones((3, 5), bool))
        assert actions.shape == (3,) and np.isfinite(prefs).all()


def test_shipped_weights_bring_their_observation_layout() -> None:
    """The shipped navigators record the layout they were trained on; a fleet built around
    them observes with it, whatever the scenario's own ``observation`` section says."""
    from agents.learned import DEFAULT_WEIGHTS
    from agents.registry import make_navigator
    from scenarios import build_floor, load_scenario
    from warehouse.config import ObservationConfig
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    sc, src = load_scenario("tiny")
    for algo in ("cql", "bc", "cql_pibt", "cql_physical"):
        meta = json.loads((DEFAULT_WEIGHTS / f"{algo}.json").read_text())
        nav = make_navigator(algo, device="cpu")
        assert nav.observation == ObservationConfig.model_validate(meta["observation"])
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        fleet = Fleet(sim, None, nav)
        fleet.reset(0)
        step = fleet.step()
        assert (
            step.obs is not None
            and step.obs.shape[1] == getattr(nav, "base", nav).scorer.net.cfg.obs_dim
        )


def test_shipped_finetuned_navigators_match_their_recipe() -> None:
    """``cql_pibt`` and ``cql_physical`` are the shipped CQL network fine-tuned with the recipes
    ``agents.make_weights`` runs: each checkpoint records that init and that config, and its
    weights differ from the init's (fine-tuning changed them)."""
    import hashlib

    from agents.finetune_ppo import FinetuneConfig
    from agents.learned import DEFAULT_WEIGHTS
    from agents.make_weights import FINETUNED

    init_sha = hashlib.sha256((DEFAULT_WEIGHTS / "cql.safetensors").read_bytes()).hexdigest()
    init_layout = json.loads((DEFAULT_WEIGHTS / "cql.json").read_text())["observation"]
    init_members = json.loads((DEFAULT_WEIGHTS / "cql.json").read_text())["config"]["network"]
    assert [cfg.collisions for cfg, _ in FINETUNED.values()] == ["pibt", "physical"]
    for name, (cfg, seeds) in FINETUNED.items():
        meta = json.loads((DEFAULT_WEIGHTS / f"{name}.json").read_text())
        ft = meta["extra"]["finetune"]
        assert FinetuneConfig.from_json(ft["config"]) == cfg
        assert ft["init_sha256"] == init_sha
        assert meta["weights_sha256"] != init_sha
        assert meta["observation"] == init_layout
        # several seeds ship as their Q-ensemble: every fine-tuned member network in one file
        members = meta["config"]["network"]["members"]
        assert members == init_members["members"] * len(seeds)
        if len(seeds) > 1:
            assert ft["seeds"] == list(seeds)
            assert len(meta["extra"]["ensemble"]) == len(seeds)


def test_shipped_offline_networks_are_the_recipes_ensembles() -> None:
    """``cql`` and ``bc`` are the ``agents.make_weights`` recipe's Q-ensembles (members trained
    on one data union), and every shipped navigator names that union's data id."""
    from agents.learned import DEFAULT_WEIGHTS
    from agents.make_weights import FINETUNED, RECIPE

    metas = {
        name: json.loads((DEFAULT_WEIGHTS / f"{name}.json").read_text())
        for name in ("cql", "bc", *FINETUNED)
    }
    assert RECIPE.members == 2
    for name in ("cql", "bc"):
        assert metas[name]["algo"] == name
        assert metas[name]["config"]["network"]["members"] == RECIPE.members
        assert len(metas[name]["extra"]["ensemble"]) == RECIPE.members
    data_ids = {meta["extra"]["data_id"] for meta in metas.values()}
    assert len(data_ids) == 1


@pytest.mark.parametrize(
    ("mode", "expected"), [("pibt", "cql_pibt"), ("physical", "cql_physical"), ("block", "cql")]
)
def test_hierarchy_navigator_matches_the_collision_mode(mode: str, expected: str) -> None:
    """``cql_tuned`` acts exactly like the network tuned for the floor's shield: the
    PIBT-fine-tuned one under PIBT, the one fine-tuned without a shield (sampled) in
    ``physical`` mode, the offline CQL network under ``block``."""
    from agents.registry import make_navigator
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.core.observe import Observer

    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"physics.collisions": mode}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=3)
    for _ in range(30):  # a few steps so robots have tasks and neighbours
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    tuned = make_navigator("cql_tuned", device="cpu")
    obs, mask = Observer(sim, tuned.observation)(), sim.action_mask()
    results = {}
    for name in ("cql_tuned", "cql_pibt", "cql_physical", "cql"):
        nav = tuned if name == "cql_tuned" else make_navigator(name, device="cpu")
        nav.reset(7)  # the sampled navigator draws from its own seeded RNG
        results[name] = nav.act(sim, obs, mask)
    for got, want in zip(results["cql_tuned"], results[expected], strict=True):
        np.testing.assert_array_equal(got, want)
    others = [n for n in ("cql_pibt", "cql_physical", "cql") if n != expected]
    assert all(not np.array_equal(results[n][1], results[expected][1]) for n in others)


def test_make_weights_check_compares_weights_and_data(tmp_path, capsys) -> None:
    """``make_weights --check`` passes only when every rebuilt network has the shipped weights'
    sha256 and was trained on the shipped dataset."""
    from agents.make_weights import compare_with_shipped

    def write(path, sha: str, data: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights_sha256": sha, "extra": {"data_id": data}}))
        path.with_suffix(".safetensors").write_text(sha)  # (--check hashes the file itself)

    write(tmp_path / "ship" / "cql.json", "a" * 64, "d1")
    write(tmp_path / "ship" / "bc.json", "b" * 64, "d1")
    write(tmp_path / "work" / "cql" / "model.json", "a" * 64, "d1")
    write(tmp_path / "work" / "bc" / "model.json", "b" * 64, "d1")
    runs = ["cql", "bc"]
    assert compare_with_shipped(tmp_path / "work", tmp_path / "ship", runs)
    assert "DIFFERS" not in capsys.readouterr().out
    write(tmp_path / "work" / "bc" / "model.json", "c" * 64, "d1")  # other weights
    assert not compare_with_shipped(tmp_path / "work", tmp_path / "ship", runs)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["cql", "identical"] and out[1].split()[:2] == ["bc", "DIFFERS"]
    write(tmp_path / "work" / "bc" / "model.json", "b" * 64, "d2")  # same weights, other data
    assert not compare_with_shipped(tmp_path / "work", tmp_path / "ship", runs)
    capsys.readouterr()
    built = tmp_path / "work" / "cql" / "model.json"  # another torch build is named
    built.write_text(json.dumps({**json.loads(built.read_text()), "versions": {"torch": "9.9"}}))
    compare_with_shipped(tmp_path / "work", tmp_path / "ship", ["cql"])
    assert "(torch 9.9; shipped with None)" in capsys.readouterr().out
