"""Session 45: batched inference at 10,000 robots. From ``LARGE_ROWS`` rows on the CPU the
inference path reads row-major copies of its weights; under it, on several threads, each member's
window gets its own product (a stacked one rounded differently at 4 and 5 rows on two threads);
``NetworkScorer`` masks and picks actions in one compiled pass. Every score must stay bit for
bit the plain layer-by-layer path's, on one thread and on two."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.batched import BatchedPolicy, NetworkScorer, masked_argmax
from agents.checkpoint import load_network
from agents.networks import LARGE_ROWS, NavigatorNet, NetworkConfig, Workspace
from warehouse.threads import torch_threads

WEIGHTS = sorted((Path(__file__).resolve().parents[1] / "agents" / "weights").glob("*.json"))
#: around the row-major threshold, the small-matrix kernels and the row counts that differed
ROWS = (1, 2, 3, 4, 5, 6, 8, 15, LARGE_ROWS, 17, 31, 64, 255, 256, 1000, 4097)


def _obs(dim: int, rows: int, seed: int, binary: bool = False) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    if binary:  # mostly 0/1 like the window channels
        return torch.from_numpy((rng.random((rows, dim)) < 0.2).astype(np.float32))
    return torch.from_numpy(rng.random((rows, dim), dtype=np.float32) * 2 - 0.5)


def _check(net: NavigatorNet, rows: tuple[int, ...], seed: int = 0) -> None:
    ws = Workspace()
    with torch.inference_mode():
        for binary in (False, True):
            for n in rows:
                x = _obs(net.cfg.obs_dim, n, seed + n, binary)
                plain, fast = net.scores(x), net.scores(x, ws)
                assert torch.equal(plain, fast), (n, binary, (plain - fast).abs().max().item())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("path", WEIGHTS, ids=lambda p: p.stem)
def test_shipped_networks_score_as_the_plain_path_on_one_and_two_threads(
    path: Path, threads: int
) -> None:
    net, _ = load_network(path)
    with torch_threads(threads):
        _check(net.eval(), ROWS)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_fleet_of_ten_thousand_and_one_scores_as_the_plain_path(threads: int) -> None:
    net, _ = load_network(WEIGHTS[[p.stem for p in WEIGHTS].index("cql")])
    with torch_threads(threads):
        _check(net.eval(), (10_001,))


@pytest.mark.parametrize("threads", [1, 2])
def test_a_deeper_built_ensemble_scores_as_the_plain_path(threads: int) -> None:
    torch.manual_seed(0)
    net = NavigatorNet(NetworkConfig(heads=2, members=3, intent=True, hidden=(32, 16))).eval()
    with torch_threads(threads):
        _check(net, ROWS[:12])


def test_masked_argmax_matches_torch_on_ties_nans_and_masked_rows() -> None:
    nan, inf = float("nan"), float("inf")
    values = np.array(
        [
            [1.0, nan, nan, 3.0, 0.0],  # the first NaN wins
            [nan, 5.0, nan, 1.0, 1.0],
            [0.0, -0.0, 0.0, 1.0, 1.0],  # ties: the first index
            [-inf, -inf, -inf, -inf, -inf],
            [2.0, 7.0, 7.0, -1.0, inf],  # +inf masked below
            [3.0, 1.0, 2.0, 9.0, 9.0],  # every action masked
        ],
        dtype=np.float32,
    )
    rng = np.random.default_rng(0)
    values = np.concatenate([values, rng.integers(-2, 3, (200, 5)).astype(np.float32)])
    mask = rng.random(values.shape) < 0.6
    mask[:4] = True
    mask[4] = [True, True, True, True, False]
    mask[5] = False
    t = torch.from_numpy(values).masked_fill(~torch.from_numpy(mask), -torch.inf)
    scores, actions = masked_argmax(values, mask)
    np.testing.assert_array_equal(scores.view(np.int32), t.numpy().view(np.int32))  # bits
    np.testing.assert_array_equal(actions, t.argmax(dim=1).numpy())
    assert actions.dtype == np.int64 and scores.flags.c_contiguous
    assert list(actions[:6]) == [1, 0, 3, 0, 1, 0]


def test_the_scorer_gives_the_plain_scores_masked_and_new_arrays_each_call() -> None:
    net, _ = load_network(WEIGHTS[[p.stem for p in WEIGHTS].index("cql")])
    policy = BatchedPolicy(NetworkScorer(net), name="cql")
    rng = np.random.default_rng(1)
    for n in (7, 300):
        obs = rng.uniform(-1, 1, (n, net.cfg.obs_dim)).astype(np.float32)
        mask = rng.random((n, net.cfg.n_actions)) < 0.7
        with torch.inference_mode():
            ref = net.scores(torch.from_numpy(obs)).masked_fill(~torch.from_numpy(mask), -torch.inf)
        actions, scores = policy.act(None, obs, mask)
        again, scores2 = policy.act(None, obs, mask)
        assert np.array_equal(scores.view(np.int32), ref.numpy().view(np.int32))
        assert np.array_equal(actions, ref.argmax(dim=1).numpy())
        assert scores is not scores2 and np.array_equal(actions, again)
        scores2[:] = 0  # the caller owns the arrays: the next call is unaffected
        assert np.array_equal(policy.act(None, obs, mask)[1], scores)
