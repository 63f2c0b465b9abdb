"""The shared navigation network: egocentric window encoder + task features → one score per action.

Input: the flat observation of :mod:`warehouse.core.observe`, ``C·(2r+1)² + F`` floats (``C`` = 4
channels, or 10 with the neighbour-intention channels of ``ObservationConfig.intent``, which come
after the ``F`` = 12 task features). The window channels are encoded either by

* ``"mlp"`` (default): linear → ReLU over all ``C·(2r+1)²`` window values — the fastest on a CPU
  at 10,000 robots (computed as one product over the whole row, with zero weights at the task
  features, so no columns are gathered), or
* ``"conv"``: the window reshaped to ``(C, 2r+1, 2r+1)``, two 3×3 convolutions (32 channels,
  ReLU) → flatten → linear → ReLU,

then the task features are concatenated and an MLP torso (``hidden``) produces ``heads × A``
outputs: Q-values (CQL: two heads, the double Q-networks) or logits (BC: one head). Because the
observation is egocentric, the same weights drive a fleet on any floor size; the radius (and so
the input size) comes from the checkpoint's :class:`NetworkConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from math import isfinite
from typing import Any, cast

import torch
from torch import nn

from warehouse.config import ObservationConfig
from warehouse.core.observe import N_CHANNELS, N_FEATURES, observation_size
from warehouse.core.observe_intent import N_INTENT_CHANNELS


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Shape of a :class:`NavigatorNet` (saved in every checkpoint)."""

    radius: int = 3  #: observation radius r (window 2r+1)
    intent: bool = False  #: observations carry the neighbour-intention channels
    n_actions: int = 5  #: A
    heads: int = 1  #: 2 for double Q (CQL), 1 for logits (BC)
    encoder: str = "mlp"  #: "mlp" | "conv"
    window_dim: int = 64  #: width of the window encoding
    hidden: tuple[int, ...] = (64,)  #: torso widths after the concatenation
    #: independently trained networks averaged into one (agents/ensemble.py); 1: a plain network
    members: int = 1

    def __post_init__(self) -> None:
        """Reject shapes no network can have (a damaged or hand-edited checkpoint JSON)."""

        def positive_int(name: str, value: Any, low: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"network.{name}: expected an integer ≥ {low}, got {value!r}")

        positive_int("radius", self.radius)
        positive_int("n_actions", self.n_actions)
        positive_int("heads", self.heads)
        positive_int("window_dim", self.window_dim)
        positive_int("members", self.members)
        if not isinstance(self.intent, bool):
            raise ValueError(f"network.intent: expected true or false, got {self.intent!r}")
        if self.encoder not in ("mlp", "conv"):
            raise ValueError(f"network.encoder: expected 'mlp' or 'conv', got {self.encoder!r}")
        if not isinstance(self.hidden, tuple):  # () is allowed: no torso layers
            raise ValueError(f"network.hidden: expected a list of widths, got {self.hidden!r}")
        for width in self.hidden:
            positive_int("hidden", width)

    @property
    def obs_dim(self) -> int:
        return observation_size(self.radius, self.intent)

    @property
    def channels(self) -> int:
        return N_CHANNELS + (N_INTENT_CHANNELS if self.intent else 0)

    @property
    def observation(self) -> ObservationConfig:
        """The observation layout this network reads."""
        return ObservationConfig(radius=self.radius, intent=self.intent)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkConfig:
        data = dict(data)
        hidden = data.get("hidden", (64,))
        if not isinstance(hidden, list | tuple):
            raise ValueError(f"network.hidden: expected a list of widths, got {hidden!r}")
        data["hidden"] = tuple(hidden)
        return cls(**data)


def check_numbers(cfg: Any, numbers: tuple[str, ...], counts: tuple[str, ...] = ()) -> None:
    """The fields ``numbers`` of ``cfg`` are finite numbers and ``counts`` integers ≥ 1 (a
    damaged or hand-edited checkpoint JSON fails here, not at the first update)."""
    for name in numbers:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
            raise ValueError(f"{name}: expected a number, got {value!r}")
    for name in counts:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer ≥ 1, got {value!r}")


class NavigatorNet(nn.Module):
    """``forward(obs (B, D)) -> (B, heads, A)``; :meth:`scores` averages the heads.

    With ``cfg.members`` = K > 1 the network is an ensemble of K networks of the same shape
    (``self.members``; built from trained ones by :mod:`agents.ensemble`): ``forward`` gives all
    K × heads heads and :meth:`scores` is the mean of the members' scores.
    """

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        if cfg.encoder not in ("mlp", "conv"):
            raise ValueError(f"unknown encoder {cfg.encoder!r}")
        self.cfg = cfg
        #: inference weights derived from the parameters (:meth:`_inference`), with the
        #: parameters' identities and versions they were derived from
        self._derived: tuple[tuple[tuple[int, int], ...], _Inference] | None = None
        self._leaves: list[nn.Module] | None = None  # the modules that hold parameters
        if cfg.members > 1:
            single = replace(cfg, members=1)
            self.members = nn.ModuleList(NavigatorNet(single) for _ in range(cfg.members))
            self._member_ws: list[Workspace] = [Workspace() for _ in range(cfg.members)]
            return
        side = 2 * cfg.radius + 1
        self.side = side
        self.base_size = N_CHANNELS * side * side  # window columns before the task features
        self.window_size = cfg.channels * side * side
        if cfg.encoder == "conv":
            self.encoder: nn.Sequential = nn.Sequential(
                nn.Unflatten(1, (cfg.channels, side, side)),
                nn.Conv2d(cfg.channels, 32, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 32, 3, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(32 * side * side, cfg.window_dim),
                nn.ReLU(),
            )
        else:
            self.encoder = nn.Sequential(nn.Linear(self.window_size, cfg.window_dim), nn.ReLU())
        layers: list[nn.Module] = []
        width = cfg.window_dim + N_FEATURES
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, cfg.heads * cfg.n_actions))
        self.torso = nn.Sequential(*layers)

    def _window_weight(self) -> torch.Tensor:
        """The MLP window layer's weight laid out over the whole observation row: zero columns at
        the task features, so one matrix product reads ``obs`` as it is (no column gather)."""
        w = cast(nn.Linear, self.encoder[0]).weight
        b = self.base_size
        return torch.cat([w[:, :b], w.new_zeros(w.shape[0], N_FEATURES), w[:, b:]], dim=1)

    def _hidden(self, obs: torch.Tensor, ws: Workspace | None = None) -> torch.Tensor:
        """Output of the torso's last hidden layer.

        Neither the window columns nor ``[encoding | features]`` are ever gathered into a new
        tensor: the window layer is one product over the whole row (zero weights at the task
        features) and the torso's first layer is split into its encoding and feature parts. With a
        :class:`Workspace` (inference only), every intermediate goes into a reused buffer.
        """
        b, d = self.base_size, self.cfg.window_dim
        feats = obs[:, b : b + N_FEATURES]
        if self.cfg.encoder == "mlp":
            lin = cast(nn.Linear, self.encoder[0])
            enc = _addmm(lin.bias, obs, self._window_weight().t(), ws, "enc").relu_()
        else:
            window = (
                obs[:, :b]
                if not self.cfg.intent
                else torch.cat([obs[:, :b], obs[:, b + N_FEATURES :]], 1)
            )
            enc = self.encoder(window)
        layers = list(self.torso)[:-1]
        if not layers:  # no hidden layer: the output layer reads the concatenation
            return torch.cat([enc, feats], dim=1)
        first = cast(nn.Linear, layers[0])
        w = first.weight
        z = _addmm(first.bias, enc, w[:, :d].t(), ws, "h0").addmm_(feats, w[:, d:].t()).relu_()
        for i, layer in enumerate(cast(list[nn.Linear], layers[2::2]), start=1):  # [Linear, ReLU]
            z = _addmm(layer.bias, z, layer.weight.t(), ws, f"h{i}").relu_()
        return z

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.cfg.members > 1:
            return torch.cat([m(obs) for m in self.members], dim=1)
        return cast(nn.Linear, self.torso[-1])(self._hidden(obs)).view(
            -1, self.cfg.heads, self.cfg.n_actions
        )

    def scores(self, obs: torch.Tensor, workspace: Workspace | None = None) -> torch.Tensor:
        """``(B, A)`` action scores: the mean over heads (folded into one output layer).

        With a ``workspace`` (under ``torch.inference_mode``) the result lives in a buffer that the
        next call overwrites.
        """
        if workspace is not None and self.cfg.encoder == "mlp" and self.cfg.hidden:
            return self._inference().scores(obs, workspace)
        if self.cfg.members > 1:
            # the same sum in the same order with or without buffers; with a workspace it builds
            # up in the first member's buffer (overwritten by the next call)
            nets = cast(list[NavigatorNet], list(self.members))
            wss = self._member_ws if workspace is not None else [None] * len(nets)
            total = nets[0].scores(obs, wss[0])
            for m, ws in zip(nets[1:], wss[1:], strict=True):
                total = total.add_(m.scores(obs, ws)) if ws is not None else total + m.scores(obs)
            return total.div_(self.cfg.members) if workspace is not None else total / len(wss)
        head = cast(nn.Linear, self.torso[-1])
        h, a = self.cfg.heads, self.cfg.n_actions
        w = head.weight.view(h, a, -1).mean(dim=0)
        bias = head.bias.view(h, a).mean(dim=0)
        return _addmm(bias, self._hidden(obs, workspace), w.t(), workspace, "scores")

    def _inference(self) -> _Inference:
        """The weights :meth:`scores` reads at inference, derived once and kept while no
        parameter changes (an optimizer step or ``load_state_dict`` bumps a parameter's version;
        ``.to()`` gives new ones)."""
        if self._leaves is None:  # (the modules are fixed; their parameters are read each call)
            self._leaves = [m for m in self.modules() if m._parameters]
        key = tuple(
            (p.data_ptr(), p._version)
            for m in self._leaves
            for p in m._parameters.values()
            if p is not None
        )
        if self._derived is None or self._derived[0] != key:
            nets = cast(list[NavigatorNet], list(self.members)) if self.cfg.members > 1 else [self]
            with torch.no_grad():
                self._derived = (key, _Inference(nets))
        return self._derived[1]


#: From this many rows on the CPU, :class:`_Inference` reads row-major copies of its weights;
#: below it, the layer-by-layer path's transposed views. Under 16 rows MKL takes other matrix
#: kernels on this project's CPU, whose sums round differently with the other layout.
LARGE_ROWS = 16


class _Inference:
    """Inference of an MLP-encoder network or ensemble from weights derived once.

    Every member's window layer, laid out over the whole observation row
    (:meth:`NavigatorNet._window_weight`), is stacked into one matrix, so one product encodes the
    window for every member; each member's torso then reads its own columns of it. The heads'
    mean is taken once. The members' scores are added in their order and divided by their count,
    as :meth:`NavigatorNet.scores` does without a workspace, and on the CPU the scores equal that
    path's bit for bit (``tests/test_session43_inference.py``, every shipped network): a stacked
    product gives each column the same dot product.

    From :data:`LARGE_ROWS` rows on the CPU, the window layer and the torso's hidden layers read
    row-major copies of their weights instead of transposed views: the same sums, 12-30 %
    cheaper on one thread (12 % at 10,000 robots), no faster on two. Under that many rows on
    several threads, each member's window is encoded by its own product, as the plain path
    does: there a stacked product rounded differently (4 and 5 rows, two threads).
    ``tests/test_session45_inference.py`` checks the bits on one and two threads.
    """

    def __init__(self, nets: list[NavigatorNet]) -> None:
        self.members = len(nets)
        self.width = nets[0].cfg.window_dim
        self.base = nets[0].base_size
        self.enc_wt = torch.cat([net._window_weight() for net in nets]).t()
        self.enc_bias = torch.cat([cast(nn.Linear, net.encoder[0]).bias for net in nets])
        d = self.width
        self.torsos: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
        self.first: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for net in nets:
            layers = cast(list[nn.Linear], list(net.torso)[:-1][::2])  # [Linear, ReLU] pairs
            w = layers[0].weight
            self.first.append((layers[0].bias, w[:, :d].t(), w[:, d:].t()))
            rest: list[tuple[torch.Tensor, torch.Tensor]] = [
                (layer.bias, layer.weight.t()) for layer in layers[1:]
            ]
            head = cast(nn.Linear, net.torso[-1])
            h, a = net.cfg.heads, net.cfg.n_actions
            mean_w = head.weight.view(h, a, -1).mean(dim=0)
            rest.append((head.bias.view(h, a).mean(dim=0), mean_w.t()))
            self.torsos.append(rest)
        # the large path's row-major (K, N) copies (the output layers keep their views: a
        # row-major copy is not measurably faster, docs/benchmarks.md, forty-fifth session)
        self.enc_w = self.enc_wt.contiguous()
        self.first_rows = [(b, we.contiguous(), wf.contiguous()) for b, we, wf in self.first]
        self.torsos_rows = [
            [(b, wt.contiguous()) for b, wt in rest[:-1]] + rest[-1:] for rest in self.torsos
        ]

    def scores(self, obs: torch.Tensor, ws: Workspace) -> torch.Tensor:
        """``(B, A)`` scores into the workspace's buffers (overwritten by the next call)."""
        d, b = self.width, self.base
        cpu, large = obs.device.type == "cpu", obs.shape[0] >= LARGE_ROWS
        if cpu and large:
            enc_wt, firsts, torsos = self.enc_w, self.first_rows, self.torsos_rows
        else:
            enc_wt, firsts, torsos = self.enc_wt, self.first, self.torsos
        split = cpu and not large and torch.get_num_threads() > 1  # one product per member
        feats = obs[:, b : b + N_FEATURES]
        if not split:
            enc = _addmm(self.enc_bias, obs, enc_wt, ws, "enc").relu_()
        total: torch.Tensor | None = None
        for k, (first, rest) in enumerate(zip(firsts, torsos, strict=True)):
            bias, we, wf = first
            cols = slice(k * d, (k + 1) * d)
            if split:
                e = _addmm(self.enc_bias[cols], obs, enc_wt[:, cols], ws, f"m{k}.enc").relu_()
            else:
                e = enc[:, cols]
            z = _addmm(bias, e, we, ws, f"m{k}.h0").addmm_(feats, wf)
            z = z.relu_()
            for i, (bias, wt) in enumerate(rest[:-1], start=1):
                z = _addmm(bias, z, wt, ws, f"m{k}.h{i}").relu_()
            bias, wt = rest[-1]
            out = _addmm(bias, z, wt, ws, f"m{k}.scores")
            total = out if total is None else total.add_(out)
        assert total is not None
        return total.div_(self.members) if self.members > 1 else total


class Workspace:
    """Output buffers reused from one inference call to the next.

    A fresh 10,000 × 64 float tensor per layer and step costs page faults that take a third of a
    forward pass on the CPU; batched inference keeps one buffer per layer instead (reallocated
    only when the batch size, dtype or device changes).
    """

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
        buf = self._buffers.get(name)
        if (
            buf is None
            or buf.shape != (rows, cols)
            or buf.dtype != like.dtype
            or buf.device != like.device
        ):
            buf = self._buffers[name] = like.new_empty((rows, cols))
        return buf


def _addmm(
    bias: torch.Tensor, x: torch.Tensor, wt: torch.Tensor, ws: Workspace | None, name: str
) -> torch.Tensor:
    """``bias + x @ wt``, into the workspace's buffer ``name`` when there is one."""
    if ws is None:
        return torch.addmm(bias, x, wt)
    return torch.addmm(bias, x, wt, out=ws.get(name, x.shape[0], wt.shape[1], x))


MASKED = -1e9  #: score given to masked actions inside losses (finite, so gradients stay finite)


def masked_fill(values: torch.Tensor, mask: torch.Tensor, fill: float = MASKED) -> torch.Tensor:
    """``values`` (…, A) with disallowed actions (``mask`` False) set to ``fill``."""
    return values.masked_fill(~mask, fill)


@dataclass(frozen=True)
class Batch:
    """A minibatch of transitions as tensors (see :mod:`agents.dataset` for the fields)."""

    obs: torch.Tensor  #: (B, D) float32
    action: torch.Tensor  #: (B,) int64
    reward: torch.Tensor  #: (B,) float32
    next_obs: torch.Tensor  #: (B, D) float32
    terminated: torch.Tensor  #: (B,) bool
    mask: torch.Tensor  #: (B, A) bool
    next_mask: torch.Tensor  #: (B, A) bool
