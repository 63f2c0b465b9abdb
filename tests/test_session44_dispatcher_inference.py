"""Session 44: a dispatcher ensemble scores small inputs with its members stacked
(``hierarchy.network._Stacked``: one encoder product for all members, batched hidden layers,
one ``tanh``, pooling and mean for all). Its logits must be those of the members one after
another (:meth:`CandidateScorer.infer`, itself the training path's bit for bit) at every row
count and thread count, and the stacked weights must follow every change of the parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import warehouse  # noqa: E402
from agents import RuleBasedNavigator  # noqa: E402
from hierarchy.checkpoint import load_policy  # noqa: E402
from hierarchy.network import (  # noqa: E402
    STACKED_MAX,
    NetConfig,
    ScorerEnsemble,
    _Stacked,
    encoder_input,
    valid_prefix,
)
from hierarchy.ppo_dispatcher import PPODispatcher  # noqa: E402
from warehouse.fleet import Fleet  # noqa: E402
from warehouse.threads import torch_threads  # noqa: E402

#: every shipped dispatcher policy (the ``ppo`` dispatcher's ensemble)
WEIGHTS = sorted((Path(__file__).resolve().parents[1] / "hierarchy" / "weights").glob("*.json"))
#: robots per call (× 8 slots = product rows): the padded minimum, around the stacked limit
#: (204 robots for the shipped ensemble), and up to 10,000 rows
ROBOTS = (1, 2, 5, 15, 16, 17, 31, 64, 100, 127, 204, 205, 350, 1250)
MASKS = ("full", "prefix3", "none", "gaps")


def _inputs(b: int, kind: str, seed: int = 0, k: int = 8, n_cand: int = 12, n_global: int = 27):
    """``b`` robots' features; masks: all slots, the first 3, none (WAIT only), or random gaps
    (no common prefix). Masked slots hold zeros, as in the dispatcher's decisions."""
    g = torch.Generator().manual_seed(seed)
    cand = torch.randn(b, k, n_cand, generator=g)
    glob = torch.randn(1, n_global, generator=g).expand(b, -1)
    mask = torch.zeros(b, k + 1, dtype=torch.bool)
    mask[:, k] = True
    if kind == "full":
        mask[:, :k] = True
    elif kind == "prefix3":
        mask[:, :3] = True
    elif kind == "gaps":
        mask[:, :k] = torch.rand(b, k, generator=g) < 0.6
    cand[~mask[:, :k]] = 0.0
    return cand, glob, mask


def _one_by_one(net: ScorerEnsemble, cand, glob, mask) -> torch.Tensor:
    """The logits of the members one after another (the path before session 44)."""
    x, prefix = encoder_input(cand, glob), valid_prefix(mask)
    return torch.stack([m.infer(x, glob, mask, prefix) for m in net.scorers()]).mean(dim=0)


def _stacked(net: ScorerEnsemble, cand, glob, mask) -> torch.Tensor:
    return net._stacked().logits(cand, glob, mask, valid_prefix(mask))


def _shipped(path: Path) -> ScorerEnsemble:
    net = load_policy(path)[0].eval()
    assert isinstance(net, ScorerEnsemble)
    return net


def test_the_shipped_dispatcher_is_an_ensemble_the_stacked_path_serves() -> None:
    assert WEIGHTS, "no shipped dispatcher policy found"
    for path in WEIGHTS:
        net = _shipped(path)
        assert net.cfg.members > 1 and net.cfg.hidden % 64 == 0


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("path", WEIGHTS, ids=lambda p: p.stem)
def test_stacked_logits_equal_the_members_one_by_one_bit_for_bit(path: Path, threads: int) -> None:
    net = _shipped(path)
    with torch_threads(threads), torch.no_grad():
        for b in ROBOTS:
            for kind in MASKS:
                args = _inputs(b, kind, seed=b)
                want = _one_by_one(net, *args)
                assert torch.equal(_stacked(net, *args), want), (b, kind)
                assert torch.equal(net.logits(*args), want), (b, kind)  # either path, as routed


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_stacked_logits_at_every_row_count_to_10000(threads: int) -> None:
    """1 to 1,250 robots one by one (8 to 10,000 product rows), full slots and gaps."""
    net = _shipped(WEIGHTS[0])
    with torch_threads(threads), torch.no_grad():
        for b in range(1, 1251):
            for kind in ("full", "gaps") if b <= 400 else ("full",):
                args = _inputs(b, kind, seed=b)
                assert torch.equal(_stacked(net, *args), _one_by_one(net, *args)), (b, kind)


def test_stacked_logits_equal_the_training_path() -> None:
    net = _shipped(WEIGHTS[0])
    for b, kind in ((16, "full"), (40, "prefix3"), (23, "gaps")):
        args = _inputs(b, kind, seed=b)
        with torch.enable_grad():
            want = net.logits(*args).detach()
        with torch.no_grad():
            assert torch.equal(_stacked(net, *args), want), (b, kind)


class _Checked(PPODispatcher):
    """Dispatches as shipped; every scored set of rows is also scored one member at a time."""

    calls = 0
    stacked = 0

    def _probs(self, decision, rows):  # type: ignore[no-untyped-def]
        cand = torch.from_numpy(decision.cand[rows])
        glob = torch.from_numpy(decision.glob)[None].expand(rows.size, -1)
        mask = torch.from_numpy(decision.mask[rows])
        with torch.no_grad():
            net = self.net
            assert isinstance(net, ScorerEnsemble)
            want = _one_by_one(net, cand, glob, mask)
            assert torch.equal(net.logits(cand, glob, mask), want)
            assert torch.equal(_stacked(net, cand, glob, mask), want)
        type(self).calls += 1
        type(self).stacked += cand.numel() // cand.shape[-1] * net.cfg.members * 64 <= STACKED_MAX
        return super()._probs(decision, rows)


@pytest.mark.parametrize("scenario", ["small", "medium"])
def test_real_decisions_score_the_same_both_ways(scenario: str) -> None:
    env = warehouse.make_env(scenario, collisions="pibt")
    _Checked.calls = _Checked.stacked = 0
    fleet = Fleet(env.sim, _Checked.load(), RuleBasedNavigator())
    with torch_threads(1):
        fleet.reset(3)
        fleet.run(150)
    assert _Checked.stacked > 10  # the test means something: the stacked path was taken


def _changed(net: ScorerEnsemble, before: torch.Tensor, args) -> torch.Tensor:
    """The logits now: those of the current parameters, not ``before``."""
    with torch.no_grad():
        now = net.logits(*args)
        assert torch.equal(now, _one_by_one(net, *args))
    assert not torch.equal(now, before)
    return now


def test_the_stacked_weights_follow_every_change_of_the_parameters() -> None:
    torch.manual_seed(0)
    net = ScorerEnsemble(NetConfig(members=3)).eval()
    args = _inputs(20, "prefix3")
    with torch.no_grad():
        first = net.logits(*args)
        kept = net._stacked()
        assert net._stacked() is kept  # nothing changed: derived once
    # an optimizer step (gradients: the plain path) changes the parameters in place
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    with torch.enable_grad():
        net.logits(*args)[args[2]].pow(2).mean().backward()
    opt.step()
    stepped = _changed(net, first, args)
    # load_state_dict copies into the same tensors
    other = ScorerEnsemble(NetConfig(members=3))
    net.load_state_dict(other.state_dict())
    loaded = _changed(net, stepped, args)
    # an in-place update of one bias of one member
    with torch.no_grad():
        net.scorers()[1].wait[4].bias.add_(1.0)
    bumped = _changed(net, loaded, args)
    # a parameter given new data
    w = net.scorers()[2].encoder[2].weight
    w.data = w.data * 0.5
    _changed(net, bumped, args)


def test_the_stacked_path_works_under_inference_mode_and_after() -> None:
    torch.manual_seed(1)
    net = ScorerEnsemble(NetConfig(members=2)).eval()
    args = _inputs(16, "full")
    with torch.inference_mode():
        got = net.logits(*args)  # derives the stacked weights as inference tensors
    with torch.no_grad():
        assert torch.equal(net.logits(*args), got)
        assert torch.equal(got, _one_by_one(net, *args))


def test_training_and_large_inputs_do_not_take_the_stacked_path(monkeypatch) -> None:
    torch.manual_seed(2)
    net = ScorerEnsemble(NetConfig(members=2))

    def refuse(*_a: object) -> torch.Tensor:
        raise AssertionError("the stacked path was taken")

    monkeypatch.setattr(_Stacked, "logits", refuse)
    small = _inputs(16, "full")
    with torch.enable_grad():  # training: the plain path, with gradients
        net.logits(*small).sum().backward()
    assert all(p.grad is not None for m in net.scorers() for p in m.encoder.parameters())
    rows = STACKED_MAX // (2 * 64 * 8) + 1  # robots whose hidden layer is over the limit
    with torch.no_grad():
        net.logits(*_inputs(rows, "full"))  # member after member
        with pytest.raises(AssertionError, match="stacked path"):
            net.logits(*small)


def test_a_sized_off_width_keeps_the_member_path(monkeypatch) -> None:
    """``tanh`` runs stack bit for bit only at widths that are multiples of 64."""
    torch.manual_seed(3)
    net = ScorerEnsemble(NetConfig(members=2, hidden=48)).eval()
    monkeypatch.setattr(_Stacked, "__init__", None)  # building it would fail
    args = _inputs(16, "gaps")
    with torch.no_grad():
        assert torch.equal(net.logits(*args), _one_by_one(net, *args))
    assert np.isfinite(net.logits(*args).detach().numpy()[args[2].numpy()]).all()


@pytest.mark.parametrize("value", ["0", "16,x", "16,16", ""])
def test_bench_network_bad_counts_are_one_line(value: str, capsys) -> None:
    import hierarchy.bench_dispatch as bd

    with pytest.raises(SystemExit) as exc:
        bd.main(["--network", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--network: expected whole numbers ≥ 1" in err and len(err.splitlines()) == 1


def test_bench_network_times_both_paths(capsys, monkeypatch) -> None:
    import hierarchy.bench_dispatch as bd

    members, stacked = bd.time_network(16, rounds=1, calls=2)
    assert members > 0 and stacked > 0
    quick = bd.time_network
    monkeypatch.setattr(bd, "time_network", lambda robots: quick(robots, rounds=1, calls=2))
    bd.main(["--network", "3"])
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| robots |") and table[2].startswith("| 3 |")
