"""Session 43: batched inference derives its weights once. With a workspace (the inference path
of :class:`~agents.batched.NetworkScorer`), an MLP-encoder network or ensemble scores from
weights kept between calls, and an ensemble encodes the window for all its members in one
matrix product (``agents.networks._Inference``). The scores must be bit for bit those of the
plain layer-by-layer path, and the kept weights must follow every change of the parameters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_network
from agents.networks import NavigatorNet, NetworkConfig, Workspace

WEIGHTS = sorted((Path(__file__).resolve().parents[1] / "agents" / "weights").glob("*.json"))
SIZES = (1, 7, 30, 257, 2048)


def _obs(net: NavigatorNet, rows: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((rows, net.cfg.obs_dim), dtype=np.float32) * 2 - 0.5)


def _same_both_ways(net: NavigatorNet, ws: Workspace, rows: int, seed: int = 0) -> torch.Tensor:
    x = _obs(net, rows, seed)
    with torch.inference_mode():
        plain = net.scores(x).clone()
        fast = net.scores(x, ws).clone()
    assert torch.equal(plain, fast), (rows, (plain - fast).abs().max().item())
    return fast


@pytest.mark.parametrize("path", WEIGHTS, ids=lambda p: p.stem)
def test_shipped_networks_score_bit_for_bit_as_the_plain_path(path: Path) -> None:
    net, _ = load_network(path)
    net.eval()
    ws = Workspace()
    for rows in SIZES:
        _same_both_ways(net, ws, rows)


@pytest.mark.parametrize(
    "cfg",
    [
        NetworkConfig(heads=2, members=3, intent=True, hidden=(32, 16)),  # a deeper torso
        NetworkConfig(heads=1, members=1),
        NetworkConfig(heads=2, members=2, hidden=()),  # no torso layer: the plain path
        NetworkConfig(heads=2, members=2, encoder="conv", radius=2),  # conv: the plain path
    ],
    ids=["ensemble-deep", "single", "no-torso", "conv"],
)
def test_built_networks_score_bit_for_bit_as_the_plain_path(cfg: NetworkConfig) -> None:
    torch.manual_seed(0)
    net = NavigatorNet(cfg).eval()
    ws = Workspace()
    for rows in SIZES[:4]:
        _same_both_ways(net, ws, rows)


def test_the_kept_weights_follow_an_optimizer_step_and_a_load() -> None:
    torch.manual_seed(0)
    net = NavigatorNet(NetworkConfig(heads=2, members=3, intent=True))
    ws = Workspace()
    before = _same_both_ways(net, ws, 30)
    # a training step changes the parameters in place
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net(_obs(net, 16, seed=1)).pow(2).mean().backward()
    opt.step()
    after = _same_both_ways(net, ws, 30)
    assert not torch.equal(before, after)
    # load_state_dict copies into the same tensors
    other = NavigatorNet(replace(net.cfg))
    net.load_state_dict(other.state_dict())
    loaded = _same_both_ways(net, ws, 30)
    assert not torch.equal(after, loaded)
    with torch.inference_mode():
        assert torch.equal(loaded, other.scores(_obs(other, 30), Workspace()))
    # a soft update of the kind a target network gets (in place, without autograd)
    with torch.no_grad():
        for p, q in zip(net.parameters(), NavigatorNet(replace(net.cfg)).parameters(), strict=True):
            p.lerp_(q, 0.5)
    assert not torch.equal(loaded, _same_both_ways(net, ws, 30))
