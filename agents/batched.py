"""Batched inference: one forward pass decides for the whole fleet.

:class:`BatchedPolicy` is a :class:`~agents.base.Navigator` around a *scorer backend*:

* :class:`NetworkScorer` — a CQL or BC :class:`~agents.networks.NavigatorNet`. Every robot's
  observation is stacked into one tensor (zero-copy on the CPU; through a reused pinned host
  buffer and a non-blocking copy on CUDA) and scored in a single ``torch.inference_mode``
  forward pass; robots in long north-south single lanes are scored in the mirrored frame
  (:mod:`agents.lane_view`), in the same pass;
* :class:`RuleBasedScorer` — the rule-based navigator's shortest-path preferences (and its own
  action choice, so it behaves exactly like :class:`~agents.rule_based.RuleBasedNavigator`).

Actions are the masked argmax of the scores (first index wins ties); preferences are the scores
with ``-inf`` at masked actions, ready for the PIBT shield. No per-robot Python loop anywhere.

Benchmark (decisions per second at several fleet sizes)::

    .venv/bin/python -m agents.batched [--device cpu|cuda] [--checkpoint agents/weights/cql.json]
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numba
import numpy as np
import torch

from .lane_view import LaneView
from .networks import NavigatorNet, Workspace
from .rule_based import RuleBasedNavigator


def pick_device(device: str | torch.device | None = None, *, field: str = "device") -> torch.device:
    """``None``/``"auto"``: CUDA when available, else the CPU; ``"cpu"``, ``"cuda"`` or
    ``"cuda:N"`` (a :class:`torch.device` too) as given. Any other value, or CUDA on a machine
    without it, is an :class:`~warehouse.errors.InputError` naming ``field``."""
    from warehouse.errors import InputError

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    picked = None
    if isinstance(device, str | torch.device):
        try:
            picked = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            pass
    if picked is None or picked.type not in ("cpu", "cuda"):
        raise InputError(None, field, f"expected cpu, cuda, cuda:N or auto, got {device!r}")
    if picked.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(
                None, field, f"{device!r}: no CUDA device on this machine; use cpu or auto"
            )
        if picked.index is not None and picked.index >= count:
            raise InputError(
                None, field, f"{device!r}: this machine has {count} CUDA device(s), 0..{count - 1}"
            )
    return picked


class Scorer(Protocol):
    needs_observation: bool

    def reset(self, seed: int | None) -> None: ...

    def __call__(
        self, sim: Any, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(scores (N, A) with -inf at masked actions, actions (N,) or None)``."""
        ...


class NetworkScorer:
    """Scores from a :class:`~agents.networks.NavigatorNet` (mean over its heads).

    Observations must have the network's layout (``net.cfg.observation``); others raise an
    :class:`~warehouse.errors.InputError` naming ``source`` (the checkpoint).
    """

    needs_observation = True

    def __init__(
        self,
        net: NavigatorNet,
        *,
        device: str | torch.device | None = None,
        source: Any = None,
        lane_view: LaneView | None = None,
    ) -> None:
        self.device = pick_device(device)
        self.net = net.to(self.device).eval()
        self.source = source
        #: robots in long north-south single lanes decided in the mirrored frame (None: off)
        self.lane_view = lane_view
        self._host: torch.Tensor | None = None  # pinned staging buffer (CUDA only)
        self._host_mask: torch.Tensor | None = None
        self._workspace = Workspace()  # reused layer outputs: no fresh buffers per step

    def reset(self, seed: int | None) -> None:
        pass  # deterministic

    def _to_device(self, obs: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        o = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        m = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool))
        if self.device.type == "cpu":
            return o, m
        n = o.shape[0]
        if self._host is None or self._host.shape[0] < n or self._host.shape[1] != o.shape[1]:
            self._host = torch.empty(o.shape, dtype=torch.float32, pin_memory=True)
            self._host_mask = torch.empty(m.shape, dtype=torch.bool, pin_memory=True)
        assert self._host_mask is not None
        self._host[:n].copy_(o)
        self._host_mask[:n].copy_(m)
        return (
            self._host[:n].to(self.device, non_blocking=True),
            self._host_mask[:n].to(self.device, non_blocking=True),
        )

    def __call__(
        self, sim: Any, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if obs is None:
            raise ValueError("NetworkScorer needs observations")
        cfg = getattr(self.net, "cfg", None)
        if cfg is not None and obs.shape[1] != cfg.obs_dim:
            from warehouse.errors import InputError

            raise InputError(
                self.source,
                "observation",
                f"the network reads {cfg.obs_dim}-wide observations (layout "
                f"{cfg.observation.model_dump()}), got {obs.shape[1]}: build them with "
                "Observer(sim, navigator.observation)",
            )
        mirrored = self.lane_view.robots(sim) if self.lane_view is not None else None
        if mirrored is not None:
            obs, mask = self.lane_view.mirror(obs, mask, mirrored)  # type: ignore[union-attr]
        with torch.inference_mode():
            x, m = self._to_device(obs, mask)
            s = self.net.scores(x, self._workspace)
            if self.device.type == "cpu":  # one compiled pass; new arrays (the buffer is reused)
                scores, actions = masked_argmax(s.numpy(), m.numpy())
            else:
                s = s.masked_fill_(~m, -torch.inf)
                a = s.argmax(dim=1)
                scores, actions = s.cpu().numpy().copy(), a.cpu().numpy().astype(np.int64)
        if mirrored is not None:
            LaneView.unmirror(scores, actions, mirrored)
        return scores, actions


def masked_argmax(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, actions)``: new ``(N, A)`` float32 scores, ``values`` with ``-inf`` where
    ``mask`` is False, and each row's first largest index (int64; a NaN counts as the largest,
    the first one wins), as ``torch`` ``masked_fill`` and ``argmax`` give them."""
    scores = np.empty(values.shape, dtype=np.float32)
    actions = np.empty(values.shape[0], dtype=np.int64)
    _masked_argmax(values, mask, scores, actions)
    return scores, actions


@numba.njit(cache=True, nogil=True)
def _masked_argmax(values, mask, scores, actions):  # pragma: no cover - compiled
    ninf = np.float32(-np.inf)
    for i in range(values.shape[0]):
        best, top = 0, values[i, 0] if mask[i, 0] else ninf
        scores[i, 0] = top
        for j in range(1, values.shape[1]):
            v = values[i, j] if mask[i, j] else ninf
            scores[i, j] = v
            take = (v > top) | ((v != v) & (top == top))  # no branches: masks are random
            best = j if take else best
            top = v if take else top
        actions[i] = best


class RuleBasedScorer:
    """The rule-based navigator as a backend: distance preferences and its own actions."""

    needs_observation = False

    def __init__(self, **kwargs: Any) -> None:
        self.nav = RuleBasedNavigator(**kwargs)

    def reset(self, seed: int | None) -> None:
        self.nav.reset(seed)

    def __call__(
        self, sim: Any, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        actions, scores = self.nav.act(sim, obs, mask)
        return scores, actions


class BatchedPolicy:
    """A navigator that decides for every robot at once through a :class:`Scorer`."""

    def __init__(self, scorer: Scorer, *, name: str, observation: Any = None) -> None:
        self.scorer = scorer
        self.name = name
        self.needs_observation = scorer.needs_observation
        #: the ObservationConfig the scorer reads (``Fleet`` builds its observer from it);
        #: defaults to a network scorer's own layout, None (the scenario's) otherwise
        net_cfg = getattr(getattr(scorer, "net", None), "cfg", None)
        self.observation = (
            observation
            if observation is not None
            else (net_cfg.observation if net_cfg is not None else None)
        )

    @property
    def device(self) -> torch.device:
        return getattr(self.scorer, "device", torch.device("cpu"))

    def reset(self, seed: int | None) -> None:
        self.scorer.reset(seed)

    def act(self, sim: Any, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        scores, actions = self.scorer(sim, obs, mask)
        if actions is None:
            actions = np.where(mask, scores, -np.inf).argmax(axis=1).astype(np.int64)
        holding = getattr(sim, "holding_goal", _nothing_held)()
        if holding is not None and holding.any():
            actions, scores = _hold_goals(actions, scores, mask, holding)
        return actions, scores


def _nothing_held() -> None:
    return None


def _hold_goals(
    actions: np.ndarray, scores: np.ndarray, mask: np.ndarray, holding: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-shot MAPF: a robot standing on its goal waits, WAIT ranked first among its moves
    (a shield may still push it off, and it drives back). The networks were trained on lifelong
    floors, where a robot on its goal gets the next one at once, so they never learned to hold
    one (on the README's one-shot instance the hierarchy's robots left their goals for good)."""
    hold = holding & mask[:, 0]
    actions = np.where(hold, 0, actions).astype(np.int64)
    scores = np.array(scores, dtype=np.float32, copy=True)
    top = np.where(mask, scores, -np.inf).max(axis=1)
    scores[hold, 0] = top[hold] + 1.0
    return actions, scores


# ------------------------------------------------------------------------------ benchmark
def benchmark(
    policy: BatchedPolicy,
    obs_dim: int,
    n_actions: int,
    robots: tuple[int, ...] = (10, 100, 1000, 10_000),
    *,
    min_seconds: float = 1.0,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Decisions per second of ``policy.act`` on synthetic observations (values in [-1, 1], the
    wait action always allowed), per fleet size. Warm-up calls are not timed. Wall-clock rates
    and, for one torch thread, CPU-time rates (``time.thread_time``: what other jobs on a
    shared machine do not inflate; with more threads it undercounts the helpers' work)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in robots:
        obs = rng.uniform(-1, 1, (n, obs_dim)).astype(np.float32)
        mask = rng.random((n, n_actions)) < 0.7
        mask[:, 0] = True
        for _ in range(3):
            policy.act(None, obs, mask)
        calls, t0, c0 = 0, time.perf_counter(), time.thread_time()
        while True:
            policy.act(None, obs, mask)
            calls += 1
            dt = time.perf_counter() - t0
            if dt >= min_seconds and calls >= 5:
                break
        cpu = time.thread_time() - c0
        rows.append(
            {
                "robots": n,
                "ms_per_step": 1e3 * dt / calls,
                "decisions_per_s": n * calls / dt,
                "cpu_ms_per_step": 1e3 * cpu / calls,
                "decisions_per_cpu_s": n * calls / max(cpu, 1e-9),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import OneLineParser
    from warehouse.errors import InputError
    from warehouse.threads import torch_threads

    from .learned import DEFAULT_WEIGHTS, load_learned_navigator

    ap = OneLineParser(description="BatchedPolicy decisions per second")
    ap.add_argument("--checkpoint", default=str(DEFAULT_WEIGHTS / "cql.json"))
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = ap.parse_args(argv)
    if args.threads < 0:  # (torch_threads would take it for 0, torch's default, silently)
        ap.error(f"--threads: expected 0 (torch's default) or more, got {args.threads}")
    try:  # a bad device or checkpoint: one line, exit 2
        pick_device(args.device, field="--device")
        policy = load_learned_navigator(None, args.checkpoint, device=args.device)
    except InputError as exc:
        ap.error(exc.one_line())
    cfg = policy.scorer.net.cfg  # type: ignore[attr-defined]
    from warehouse.bench import machine_info

    with torch_threads(args.threads):  # 0: torch's default
        print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_info().items()))
        print(f"device={policy.device} threads={torch.get_num_threads()} torch={torch.__version__}")
        print(f"{'robots':>8} {'wall ms':>9} {'decisions/s':>14} {'cpu ms':>9} {'per cpu-s':>14}")
        for r in benchmark(policy, cfg.obs_dim, cfg.n_actions):
            print(
                f"{r['robots']:>8} {r['ms_per_step']:>9.3f} {r['decisions_per_s']:>14,.0f}"
                f" {r['cpu_ms_per_step']:>9.3f} {r['decisions_per_cpu_s']:>14,.0f}"
            )


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
