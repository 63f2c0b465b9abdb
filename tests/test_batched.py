"""BatchedPolicy: one object for network and rule-based scorers, masked argmax, -inf prefs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.base import Navigator
from agents.batched import BatchedPolicy, NetworkScorer, RuleBasedScorer, benchmark
from agents.networks import NavigatorNet, NetworkConfig
from agents.rule_based import RuleBasedNavigator

torch.set_num_threads(1)


def _fleet(seed: int = 5):
    from hierarchy import make_dispatcher
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    sc, src = load_scenario("tiny")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    return sim, lambda nav: Fleet(sim, make_dispatcher("greedy"), nav)


def _net(seed: int = 0, heads: int = 2) -> NavigatorNet:
    torch.manual_seed(seed)
    return NavigatorNet(NetworkConfig(radius=3, heads=heads, window_dim=16, hidden=(16,)))


def test_network_scorer_masked_argmax_and_preferences() -> None:
    net = _net()
    policy = BatchedPolicy(NetworkScorer(net, device="cpu"), name="cql")
    assert isinstance(policy, Navigator) and policy.needs_observation
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (300, net.cfg.obs_dim)).astype(np.float32)
    mask = rng.random((300, 5)) < 0.5
    mask[:, 0] = True
    actions, prefs = policy.act(None, obs, mask)
    assert actions.shape == (300,) and prefs.shape == (300, 5)
    assert mask[np.arange(300), actions].all()
    assert np.isneginf(prefs[~mask]).all() and np.isfinite(prefs[mask]).all()
    # Same numbers as scoring robot by robot (mean of the two heads).
    with torch.no_grad():
        for i in (0, 17, 299):
            q = net(torch.from_numpy(obs[i : i + 1]))[0].mean(dim=0).numpy()
            np.testing.assert_allclose(prefs[i][mask[i]], q[mask[i]], rtol=1e-5, atol=1e-6)
            assert actions[i] == np.flatnonzero(mask[i])[np.argmax(q[mask[i]])]


def test_rule_based_backend_behaves_like_the_rule_based_navigator() -> None:
    _, make_a = _fleet()
    _, make_b = _fleet()
    fa = make_a(RuleBasedNavigator())
    fb = make_b(BatchedPolicy(RuleBasedScorer(), name="rule_based"))
    fa.reset(5)
    fb.reset(5)
    for _ in range(40):
        a, b = fa.step(), fb.step()
        np.testing.assert_array_equal(a.result.actions, b.result.actions)
        np.testing.assert_array_equal(a.preferences, b.preferences)
    assert fb.last.obs is None  # the rule-based backend needs no observation


def test_learned_policy_drives_a_fleet() -> None:
    sim, make = _fleet()
    fleet = make(BatchedPolicy(NetworkScorer(_net(1, heads=1), device="cpu"), name="bc"))
    fleet.reset(0)
    fleet.run(20)
    assert sim.t == 20
    assert fleet.last.obs.shape == (sim.n_robots, 208)


def test_benchmark_reports_positive_rates() -> None:
    net = _net()
    rows = benchmark(
        BatchedPolicy(NetworkScorer(net, device="cpu"), name="cql"),
        net.cfg.obs_dim,
        5,
        robots=(10, 100),
        min_seconds=0.01,
    )
    assert [r["robots"] for r in rows] == [10, 100]
    for r in rows:  # one decision per robot per step: the rates and step times agree
        assert r["decisions_per_s"] > 0 and r["decisions_per_cpu_s"] > 0
        assert r["decisions_per_s"] == pytest.approx(r["robots"] * 1e3 / r["ms_per_step"])
        assert r["decisions_per_cpu_s"] == pytest.approx(
            r["robots"] * 1e3 / r["cpu_ms_per_step"], rel=1e-3
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:  # pragma: no cover - needs a GPU
    net = _net()
    obs = np.random.default_rng(0).uniform(-1, 1, (64, 208)).astype(np.float32)
    mask = np.ones((64, 5), bool)
    cpu = BatchedPolicy(NetworkScorer(net, device="cpu"), name="x").act(None, obs, mask)
    gpu = BatchedPolicy(NetworkScorer(_net(), device="cuda"), name="x").act(None, obs, mask)
    np.testing.assert_allclose(cpu[1], gpu[1], rtol=1e-4, atol=1e-5)


def _reference_forward(net: NavigatorNet, obs: torch.Tensor) -> torch.Tensor:
    """The network written the plain way: gather the window, concatenate, run the layers."""
    from warehouse.core.observe import N_FEATURES

    b = net.base_size
    window, feats = obs[:, :b], obs[:, b : b + N_FEATURES]
    if net.cfg.intent:
        window = torch.cat([window, obs[:, b + N_FEATURES :]], dim=1)
    return net.torso(torch.cat([net.encoder(window), feats], dim=1)).view(
        -1, net.cfg.heads, net.cfg.n_actions
    )


@pytest.mark.parametrize(
    ("encoder", "intent", "hidden"),
    [
        ("mlp", False, (16,)),
        ("mlp", True, (16,)),
        ("mlp", True, (16, 8)),
        ("mlp", False, ()),
        ("conv", True, (16,)),
    ],
)
def test_fused_forward_and_workspace_scores_match_the_plain_network(
    encoder: str, intent: bool, hidden: tuple[int, ...]
) -> None:
    torch.manual_seed(3)
    cfg = NetworkConfig(
        radius=2, intent=intent, heads=2, encoder=encoder, window_dim=16, hidden=hidden
    )
    net = NavigatorNet(cfg)
    obs = torch.from_numpy(
        np.random.default_rng(1).uniform(-1, 1, (64, cfg.obs_dim)).astype(np.float32)
    )
    want = _reference_forward(net, obs)
    torch.testing.assert_close(net(obs), want, rtol=1e-5, atol=1e-5)
    # Gradients flow through the fused layers exactly as through the plain ones.
    net(obs).sum().backward()
    fused = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    _reference_forward(net, obs).sum().backward()
    for g, p in zip(fused, net.parameters(), strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-5)
    from agents.networks import Workspace

    ws = Workspace()
    with torch.inference_mode():
        first = net.scores(obs, ws).clone()
        torch.testing.assert_close(first, want.mean(dim=1), rtol=1e-5, atol=1e-5)
        # A second batch of another size reallocates; the same size reuses the buffer.
        net.scores(obs[:10], ws)
        again = net.scores(obs, ws)
        assert again.data_ptr() == net.scores(obs, ws).data_ptr()
        torch.testing.assert_close(again, first)


def test_scorer_results_are_not_overwritten_by_the_next_call() -> None:
    net = _net()
    scorer = NetworkScorer(net, device="cpu")
    rng = np.random.default_rng(2)
    obs = rng.uniform(-1, 1, (2, 50, net.cfg.obs_dim)).astype(np.float32)
    mask = np.ones((50, 5), dtype=bool)
    s0, _ = scorer(None, obs[0], mask)
    kept = s0.copy()
    scorer(None, obs[1], mask)
    np.testing.assert_array_equal(s0, kept)
