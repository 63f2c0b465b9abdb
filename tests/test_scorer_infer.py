"""The dispatcher network's inference path (``CandidateScorer.infer``) gives the logits of the
training path bit for bit: tanh only over the valid slots, one encoder input for all members."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hierarchy.network import NetConfig, ScorerEnsemble, make_scorer, valid_prefix  # noqa: E402


def _inputs(rows: int, valid: list[int], seed: int = 0):
    """Random features; row ``i`` has its first ``valid[i % len(valid)]`` slots valid, and
    padded slots are zero, as in the dispatcher's decisions."""
    g = torch.Generator().manual_seed(seed)
    cfg = NetConfig()
    k = 8
    cand = torch.randn(rows, k, cfg.n_cand, generator=g)
    glob = torch.randn(cfg.n_global, generator=g)[None].expand(rows, -1)
    mask = torch.zeros(rows, k + 1, dtype=torch.bool)
    for i in range(rows):
        mask[i, : valid[i % len(valid)]] = True
    mask[:, k] = True
    cand[~mask[:, :k]] = 0.0
    return cand, glob, mask


@pytest.mark.parametrize("members", [1, 3])
@pytest.mark.parametrize("valid", [[8], [5], [1], [0], [3, 8], [8, 2, 0]])
@pytest.mark.parametrize("rows", [1, 2, 7, 33, 200])
def test_inference_logits_equal_the_training_paths_bit_for_bit(members, valid, rows):
    torch.manual_seed(members)
    net = make_scorer(NetConfig(members=members)).eval()
    cand, glob, mask = _inputs(rows, valid)
    with torch.enable_grad():
        want = net.logits(cand, glob, mask).detach()
    with torch.no_grad():
        got = net.logits(cand, glob, mask)
    assert torch.equal(got, want)
    assert torch.isinf(got[~mask]).all() and torch.isfinite(got[mask]).all()


@pytest.mark.parametrize("hidden", [48, 128])
def test_other_widths_match_too(hidden):
    torch.manual_seed(hidden)
    net = make_scorer(NetConfig(members=2, hidden=hidden)).eval()
    cand, glob, mask = _inputs(37, [3])
    with torch.enable_grad():
        want = net.logits(cand, glob, mask).detach()
    with torch.no_grad():
        assert torch.equal(net.logits(cand, glob, mask), want)


def test_valid_prefix_tells_padding_from_gaps():
    _, _, mask = _inputs(4, [5])
    assert valid_prefix(mask) == 5
    _, _, mask = _inputs(4, [5, 3])
    assert valid_prefix(mask) is None  # rows differ
    _, _, gap = _inputs(4, [5])
    gap[:, 1] = False
    assert valid_prefix(gap) is None  # slot 1 masked, slot 2 valid: not a prefix
    assert valid_prefix(torch.ones(0, 9, dtype=torch.bool)) == 0


def test_members_share_the_input_but_keep_their_own_weights():
    torch.manual_seed(5)
    ens = ScorerEnsemble(NetConfig(members=2)).eval()
    cand, glob, mask = _inputs(16, [6])
    with torch.no_grad():
        each = [m.logits(cand, glob, mask) for m in ens.scorers()]
        both = ens.logits(cand, glob, mask)
    assert not torch.equal(each[0], each[1])
    assert torch.equal(both, torch.stack(each).mean(dim=0))
