"""Dispatcher ensembles: one policy file whose logits are the mean of its members' logits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hierarchy.checkpoint import load_policy, save_policy
from hierarchy.ensemble import build_ensemble
from hierarchy.features import FeatureConfig
from hierarchy.network import CandidateScorer, NetConfig, ScorerEnsemble
from hierarchy.ppo_dispatcher import PPODispatcher
from warehouse.errors import InputError

FEATURES = FeatureConfig(candidates=5, lookahead=3)


def _member(path: Path, seed: int, *, hidden: int = 8, period: int = 10, **kw) -> Path:
    torch.manual_seed(seed)
    net = CandidateScorer(NetConfig(hidden=hidden))
    return save_policy(path, net, kw.pop("features", FEATURES), period, **kw)


def _inputs(b: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    cfg = NetConfig()
    cand = torch.randn(b, FEATURES.slots, cfg.n_cand, generator=g)
    glob = torch.randn(b, cfg.n_global, generator=g)
    mask = torch.rand(b, FEATURES.slots + 1, generator=g) > 0.4
    mask[:, -1] = True  # WAIT is always allowed
    return cand, glob, mask


def test_ensemble_logits_are_the_mean_and_its_policy_the_geometric_mean(tmp_path: Path) -> None:
    paths = [_member(tmp_path / f"m{i}", seed=i) for i in range(3)]
    out = build_ensemble(paths, tmp_path / "ens")
    ens, features, period, meta = load_policy(out)
    members = [load_policy(p)[0] for p in paths]
    cand, glob, mask = _inputs()
    with torch.no_grad():
        each = [m.logits(cand, glob, mask) for m in members]
        got = ens.logits(cand, glob, mask)
        log_probs = torch.stack([torch.log_softmax(x, -1) for x in each]).mean(0)
    assert isinstance(ens, ScorerEnsemble) and ens.cfg.members == 3
    assert features == FEATURES and period == 10 and meta["net"]["members"] == 3
    finite = torch.isfinite(got)
    assert torch.equal(finite, mask)  # masked slots stay -inf, the others are finite
    torch.testing.assert_close(got[finite], ((each[0] + each[1] + each[2]) / 3)[finite])
    # same policy as the renormalised geometric mean of the members' policies
    torch.testing.assert_close(torch.softmax(got, -1), torch.softmax(log_probs, -1))
    assert [m["policy"] for m in meta["ensemble"]] == [str(p) for p in paths]
    for m, p in zip(meta["ensemble"], paths, strict=True):
        assert m["sha256"] == json.loads(p.read_text())["sha256"]


def test_ensemble_dispatcher_never_picks_a_masked_slot(tmp_path: Path) -> None:
    paths = [_member(tmp_path / f"m{i}", seed=i) for i in range(2)]
    ens = load_policy(build_ensemble(paths, tmp_path / "ens"))[0]
    cand, glob, mask = _inputs(64)
    with torch.no_grad():
        probs = torch.softmax(ens.logits(cand, glob, mask), -1)
    assert torch.all(probs[~mask] == 0)
    assert torch.all(mask[torch.arange(64), probs.argmax(-1)])


def test_ensemble_policy_dispatches_a_fleet(tmp_path: Path) -> None:
    """The ``ppo`` dispatcher runs an ensemble file like a single policy, and its choices are
    the argmax of the mean logits."""
    from agents import make_navigator
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    paths = [_member(tmp_path / f"m{i}", seed=i, features=FeatureConfig()) for i in range(2)]
    out = build_ensemble(paths, tmp_path / "ens")
    disp = PPODispatcher.load(out)
    sc, src = load_scenario("tiny")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(0)
    fleet.run(60)
    members = [PPODispatcher.load(p) for p in paths]
    decision, probs = disp.probabilities(sim)
    mean_logits = sum(
        torch.log(torch.from_numpy(m.probabilities(sim)[1]).clamp_min(1e-30)) for m in members
    )
    assert decision.robots.size > 0  # a decision is due: the comparison below has rows
    assert np.array_equal(probs.argmax(1), mean_logits.argmax(1).numpy())
    assert sim.state.deliveries.sum() > 0


def test_ensemble_refuses_mismatched_or_too_few_members(tmp_path: Path) -> None:
    a = _member(tmp_path / "a", seed=0)
    for bad, field in [
        (_member(tmp_path / "wide", seed=1, hidden=16), "net"),
        (_member(tmp_path / "slow", seed=1, period=5), "period"),
        (_member(tmp_path / "pool", seed=1, features=FeatureConfig(lookahead=9)), "features"),
    ]:
        with pytest.raises(InputError, match=field):
            build_ensemble([a, bad], tmp_path / "ens")
    with pytest.raises(InputError, match="at least two"):
        build_ensemble([a], tmp_path / "ens")
    ens = build_ensemble([a, a], tmp_path / "ens")
    with pytest.raises(InputError, match="plain policies"):
        build_ensemble([ens, a], tmp_path / "ens2")
    assert not (tmp_path / "ens2.json").exists()
    # a JSON whose member count does not match its weights is refused on load
    data = json.loads(ens.read_text())
    data["net"]["members"] = 3
    ens.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"members\.2\.\S+: missing tensor"):
        load_policy(ens)


def test_a_policy_saved_before_ensembles_loads_as_one_network(tmp_path: Path) -> None:
    path = _member(tmp_path / "old", seed=0)
    data = json.loads(path.read_text())
    del data["net"]["members"]
    path.write_text(json.dumps(data))
    net = load_policy(path)[0]
    assert isinstance(net, CandidateScorer) and net.cfg.members == 1


def test_cli_ensemble_of_dispatcher_policies(tmp_path: Path, capsys) -> None:
    from warehouse.cli.main import main

    a, b = _member(tmp_path / "a", seed=0), _member(tmp_path / "b", seed=1)

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as ex:
            main(["ensemble", *args])
        return 0 if ex.value.code is None else int(ex.value.code)

    assert cli(str(a), str(b), "--out", str(tmp_path / "e")) == 0
    assert "ensemble of 2 dispatcher policies" in capsys.readouterr().out
    assert isinstance(load_policy(tmp_path / "e.json")[0], ScorerEnsemble)
    wide = _member(tmp_path / "w", seed=2, hidden=16)
    assert cli(str(a), str(wide), "--out", str(tmp_path / "f")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "w.json" in err[0]
    assert "member 2 of 2" in err[0]  # which of several same-named policy.json files
    assert not (tmp_path / "f.json").exists() and not (tmp_path / "f.safetensors").exists()


def test_scorer_gives_the_same_logits_with_and_without_gradients() -> None:
    """Decisions (no gradient) pool candidates with ``amax``, training with ``max``: the logits
    must be equal to the bit, also where two candidates tie (identical orders) and where a row
    has every candidate masked; training's gradient still reaches the one pooled maximum."""
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig())
    cand = torch.randn(6, 12, net.cfg.n_cand)
    cand[1, 3] = cand[1, 5]  # a tie
    glob = torch.randn(6, net.cfg.n_global)
    mask = torch.rand(6, 13) > 0.3
    mask[:, -1] = True
    mask[2, :12] = False  # only WAIT
    with torch.no_grad():
        deciding = net.logits(cand, glob, mask)
    cand.requires_grad_(True)
    training = net.logits(cand, glob, mask)
    assert torch.equal(deciding, training.detach())
    training[1, -1].backward()  # the WAIT logit reads the pooled candidates
    assert cand.grad is not None and cand.grad[2].abs().sum() == 0  # masked: no gradient
    tied = cand.grad[1, [3, 5]].abs().sum(dim=1)
    assert (tied > 0).sum() <= 1  # max: at most one of the tied pair gets the gradient
