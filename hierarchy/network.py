"""The shared candidate scorer: one small network for any number of robots and orders.

For a deciding robot with candidate features ``c_k`` (``K`` slots) and global features ``g``::

    h_k     = MLP([c_k, g])                       (shared over robots and candidates)
    logit_k = w · h_k                             (k < K)
    logit_W = MLP_wait([g, max_k h_k])            (WAIT)
    V(s)    = MLP_value(g)                        (one value per decision event)

Masked slots get ``-inf`` logits (:func:`masked_logits`), so they are never sampled. Because
scores are per candidate, the network is permutation-invariant and size-independent.

:class:`ScorerEnsemble` averages the logits of independently trained scorers (a policy
ensemble); :func:`make_scorer` builds either from a :class:`NetConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import cast

import torch
from torch import nn

from .features import N_CAND, N_GLOBAL


@dataclass(frozen=True, kw_only=True)
class NetConfig:
    n_cand: int = N_CAND
    n_global: int = N_GLOBAL
    hidden: int = 64
    members: int = 1  #: > 1: a :class:`ScorerEnsemble` of that many scorers

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``-inf`` where ``mask`` is False (such actions get probability exactly 0)."""
    return logits.masked_fill(~mask, float("-inf"))


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
        nn.Linear(hidden, n_out),
    )  # fmt: skip


class CandidateScorer(nn.Module):
    """Scores ``K`` candidates + WAIT per deciding robot; values per event (module docstring)."""

    def __init__(self, cfg: NetConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or NetConfig()
        c = self.cfg
        if c.members != 1:
            raise ValueError("a CandidateScorer is one network; use ScorerEnsemble for members > 1")
        self.encoder = nn.Sequential(
            nn.Linear(c.n_cand + c.n_global, c.hidden), nn.Tanh(),
            nn.Linear(c.hidden, c.hidden), nn.Tanh(),
        )  # fmt: skip
        self.score = nn.Linear(c.hidden, 1)
        self.wait = _mlp(c.n_global + c.hidden, c.hidden, 1)
        self.value_head = _mlp(c.n_global, c.hidden, 1)

    def logits(self, cand: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``cand (B, K, F)``, ``glob (B, G)``, ``mask (B, K+1)`` → masked logits ``(B, K+1)``."""
        if not torch.is_grad_enabled():
            return self.infer(encoder_input(cand, glob), glob, mask, valid_prefix(mask))
        k = cand.shape[1]
        h = self.encoder(encoder_input(cand, glob))  # (B, K, H)
        scores = self.score(h).squeeze(-1)
        masked = h.masked_fill(~mask[:, :k, None], -1.0)
        # max's gradient goes to one maximum (training keeps it, so recipes rebuild bit for bit);
        # without gradients :meth:`infer` takes amax (the same values, 3-4x faster)
        pooled = masked.max(dim=1).values
        wait = self.wait(torch.cat([glob, pooled], dim=-1))
        return masked_logits(torch.cat([scores, wait], dim=-1), mask)

    def infer(
        self, x: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor, prefix: int | None
    ) -> torch.Tensor:
        """:meth:`logits` without gradients, bit for bit, from the encoder input ``x (B, K, F+G)``
        (:func:`encoder_input`, shared by an ensemble's members) and ``prefix``
        (:func:`valid_prefix`).

        The products run over every slot as in :meth:`logits` (a product's rows depend on how
        many rows it has), but ``tanh`` (elementwise, half the time of a forward pass) only over
        the valid slots when they are each row's first ``prefix``: the dispatcher's case, where
        masked slots are padding. Their outputs are masked either way, so nothing else changes.
        Buffers are written in place (no copy for the pooling's mask).
        """
        b, k, _ = x.shape
        first, second = cast(nn.Linear, self.encoder[0]), cast(nn.Linear, self.encoder[2])
        h = torch.addmm(first.bias, x.reshape(b * k, -1), first.weight.t())
        _tanh_slots(h, b, k, prefix)
        h = torch.addmm(second.bias, h, second.weight.t())
        _tanh_slots(h, b, k, prefix)
        scores = torch.addmm(self.score.bias, h, self.score.weight.t()).view(b, k)
        hk = h.view(b, k, -1)
        if prefix is None:
            hk.masked_fill_(~mask[:, :k, None], -1.0)
        elif prefix < k:
            hk[:, prefix:].fill_(-1.0)
        wait = self.wait(torch.cat([glob, hk.amax(dim=1)], dim=-1))
        return masked_logits(torch.cat([scores, wait], dim=-1), mask)

    def value(self, glob: torch.Tensor) -> torch.Tensor:
        return self.value_head(glob).squeeze(-1)


def encoder_input(cand: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
    """``[c_k, g]`` for every slot: ``(B, K, F + G)``."""
    b, k, _ = cand.shape
    return torch.cat([cand, glob[:, None, :].expand(b, k, glob.shape[-1])], dim=-1)


def valid_prefix(mask: torch.Tensor) -> int | None:
    """``v`` when the valid slots of every row of ``mask (B, K+1)`` are exactly its first ``v``
    (the dispatcher's decisions: every robot sees the same number of reachable orders, nearest
    first), else None."""
    valid = mask[:, :-1]
    counts = valid.sum(dim=1)
    v = int(counts[0]) if counts.numel() else 0
    if bool((counts == v).all()) and bool(valid[:, :v].all()):
        return v
    return None


def _tanh_slots(h: torch.Tensor, b: int, k: int, prefix: int | None) -> None:
    """``tanh`` in place over the rows of ``h (B·K, H)`` of the first ``prefix`` slots of each
    of the ``B`` rows (all of them when ``prefix`` is None or ``K``).

    Only for ``H`` a multiple of 64: torch computes ``tanh`` with vector instructions in runs of
    up to 64 floats and the remainder of a contiguous run one value at a time, which may round
    differently; with such an ``H`` no value of either the whole tensor or a slot range is left
    to the remainder, so every value is rounded the same way (the shipped width is 64)."""
    if prefix is None or prefix >= k or h.shape[1] % 64:
        h.tanh_()
    elif prefix > 0:
        h.view(b, k, -1)[:, :prefix].tanh_()


#: largest hidden layer (rows × members × width values) an ensemble computes with its members
#: stacked (:class:`_Stacked`): 204 robots of 8 slots for the shipped 5 × 64 ensemble. Larger
#: ones run member after member, faster there on the 2-core Xeon measured (stacked took 0.63x
#: the time at 16 robots, 0.75-0.81x at 128, 0.96-1.01x at 256, 1.4-1.9x at 1,200: ``python -m
#: hierarchy.bench_dispatch --network 16,128,256,1200``, docs/benchmarks.md)
STACKED_MAX = 2**19


class ScorerEnsemble(nn.Module):
    """``members`` scorers of one shape; logits and values are their means.

    The mean of the members' logits gives the same softmax as the mean of their log-probabilities
    (each member's normaliser is a constant per row), so the ensemble's policy is the
    renormalised geometric mean of the members' policies. Masked slots stay ``-inf``.
    """

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        if cfg.members < 2:
            raise ValueError("an ensemble needs at least two members")
        self.cfg = cfg
        one = replace(cfg, members=1)
        self.members = nn.ModuleList(CandidateScorer(one) for _ in range(cfg.members))
        #: the weights :class:`_Stacked` derived, with the key of the parameters they came from
        self._derived: tuple[tuple[tuple[int, int], ...], _Stacked] | None = None
        self._leaves: list[nn.Module] | None = None  # the modules that hold parameters

    def scorers(self) -> list[CandidateScorer]:
        return [cast(CandidateScorer, m) for m in self.members]

    def logits(self, cand: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return torch.stack([m.logits(cand, glob, mask) for m in self.scorers()]).mean(dim=0)
        # without gradients: one mask check for all members; the members stacked for small
        # inputs on the CPU (where it is bit for bit) of a width _tanh_slots allows (multiples
        # of 64), else one after another
        prefix = valid_prefix(mask)
        size = cand.shape[0] * cand.shape[1] * self.cfg.members * self.cfg.hidden
        if self.cfg.hidden % 64 == 0 and 0 < size <= STACKED_MAX and cand.device.type == "cpu":
            return self._stacked().logits(cand, glob, mask, prefix)
        x = encoder_input(cand, glob)  # (one encoder input for all members)
        return torch.stack([m.infer(x, glob, mask, prefix) for m in self.scorers()]).mean(dim=0)

    def value(self, glob: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.value(glob) for m in self.scorers()]).mean(dim=0)

    def _stacked(self) -> _Stacked:
        """The members' weights stacked for inference, derived once and kept while no parameter
        changes: an optimizer step, ``load_state_dict`` or any in-place update bumps a
        parameter's version; ``.to()`` or assigning ``.data`` gives it a new address (the kept
        weights hold the old tensors, so no new one can reuse their address)."""
        if self._leaves is None:  # (the modules are fixed; their parameters are read each call)
            self._leaves = [m for m in self.modules() if m._parameters]
        params = [p for m in self._leaves for p in m._parameters.values() if p is not None]
        key = tuple((p.data_ptr(), p._version) for p in params)
        if self._derived is None or self._derived[0] != key:
            with torch.no_grad():
                self._derived = (key, _Stacked(self.scorers(), params))
        return self._derived[1]


class _Stacked:
    """An ensemble's inference with its members stacked: :meth:`CandidateScorer.infer` for every
    member and the mean of their logits, bit for bit, in less than half the operations.

    The members' first encoder layers are one matrix, so one product encodes every slot for
    every member (a stacked product gives each column the same dot product); the hidden
    ``H × H`` layers and the WAIT head's first two layers are one batched product over the
    members (``baddbmm``: on the CPU one ``addmm`` per member, the same values); ``tanh``,
    pooling, masking and the mean run once over all members. The one-output layers (slot
    scores, WAIT logit) stay one ``addmm`` per member: a batched product with one output column
    rounds differently, and so does an ``addmm`` into a strided output.
    ``tests/test_session44_dispatcher_inference.py`` compares the logits with the per-member
    path for the shipped dispatcher at 1 to 1,250 robots (8 to 10,000 product rows), several
    masks and 1 and 2 threads, and on the decisions of runs on ``small`` and ``medium``.
    """

    def __init__(self, nets: list[CandidateScorer], params: list[nn.Parameter]) -> None:
        self.held = [p.detach() for p in params]  # (keeps their addresses from being reused)
        self.members, self.hidden = len(nets), nets[0].cfg.hidden

        def lin(net: CandidateScorer, path: str) -> nn.Linear:
            return cast(nn.Linear, net.get_submodule(path))

        def batched(path: str) -> tuple[torch.Tensor, torch.Tensor]:
            """``(M, 1, out)`` biases and ``(M, in, out)`` transposed weights of layer ``path``."""
            layers = [lin(net, path) for net in nets]
            bias = torch.stack([layer.bias for layer in layers])[:, None, :]
            return bias, torch.stack([layer.weight for layer in layers]).transpose(1, 2)

        def each(path: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
            return [(lin(net, path).bias, lin(net, path).weight.t()) for net in nets]

        first = [lin(net, "encoder.0") for net in nets]
        self.first = (torch.cat([f.bias for f in first]), torch.cat([f.weight for f in first]).t())
        self.second, self.wait1, self.wait2 = (
            batched("encoder.2"),
            batched("wait.0"),
            batched("wait.2"),
        )
        self.score, self.wait3 = each("score"), each("wait.4")

    def logits(
        self, cand: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor, prefix: int | None
    ) -> torch.Tensor:
        """The ensemble's masked logits ``(B, K+1)`` (a new tensor) from ``cand (B, K, F)``,
        ``glob (B, G)``, ``mask`` and ``prefix`` (:func:`valid_prefix`)."""
        (b, k, _), m, h, g = cand.shape, self.members, self.hidden, glob.shape[-1]
        n = b * k
        x = torch.cat([cand, glob[:, None, :].expand(b, k, g)], dim=-1)  # encoder_input
        enc = torch.addmm(self.first[0], x.view(n, -1), self.first[1])  # (B·K, M·H)
        _tanh_slots(enc, b, k, prefix)
        hid = torch.baddbmm(self.second[0], enc.view(n, m, h).transpose(0, 1), self.second[1])
        _tanh_slots(hid.view(m * n, h), m * b, k, prefix)  # (M, B·K, H)
        hk = hid.view(m, b, k, h)
        out = x.new_empty(m, b, k + 1)
        for i, (bias, wt) in enumerate(self.score):
            out[i, :, :k] = torch.addmm(bias, hid[i], wt).view(b, k)
        if prefix is None:
            hk.masked_fill_(~mask[None, :, :k, None], -1.0)
        elif prefix < k:
            hk[:, :, prefix:].fill_(-1.0)
        pooled = torch.cat([glob.expand(m, b, g), hk.amax(dim=2)], dim=-1)  # [g, max_k h_k]
        w = torch.baddbmm(self.wait1[0], pooled, self.wait1[1]).tanh_()
        w = torch.baddbmm(self.wait2[0], w, self.wait2[1]).tanh_()
        for i, (bias, wt) in enumerate(self.wait3):
            out[i, :, k:] = torch.addmm(bias, w[i], wt)  # (a strided out= rounds otherwise)
        return out.masked_fill_(~mask, float("-inf")).mean(dim=0)


Scorer = CandidateScorer | ScorerEnsemble


def make_scorer(cfg: NetConfig) -> Scorer:
    """A :class:`CandidateScorer` for ``members == 1``, else a :class:`ScorerEnsemble`."""
    return CandidateScorer(cfg) if cfg.members == 1 else ScorerEnsemble(cfg)
