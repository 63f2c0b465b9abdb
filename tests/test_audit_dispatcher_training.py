"""Audit of the PPO dispatcher's training (hierarchy/train.py, hierarchy/ppo.py).

* The Hungarian warm start fits the critic to returns cut at the rollout's horizon, which is a
  time limit of a lifelong floor, not a terminal state: its value targets bootstrap there
  (``TrainConfig.imitation_bootstrap``).
* Rows whose mask allows one action only (forced: ratio 1, entropy 0) stay out of PPO's policy
  terms (``PPOConfig.skip_forced_rows``).
* Both default to the corrected rule; a config saved before them (and the shipped recipe) reads
  the rule it ran with.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from hierarchy.features import N_GLOBAL, Decision, FeatureConfig
from hierarchy.network import CandidateScorer, NetConfig
from hierarchy.ppo import Batch, PPOConfig, ppo_update
from hierarchy.smdp import Advance
from hierarchy.train import TrainConfig

torch.set_num_threads(1)  # tiny tensors: extra threads only contend on a shared machine

# ------------------------------------------------------------------------------ warm start
#: A scripted episode: every simulated step pays 1, decisions after 2, 3 and 1 steps, then the
#: horizon. With γ = 0.5 the true value of every state of this endless floor is 1 / (1 − γ) = 2.
GAMMA, TAUS = 0.5, (2, 3, 1)
EVENT_REWARDS = [sum(GAMMA**j for j in range(t)) for t in TAUS]  # 1.5, 1.75, 1.0
#: the discounted rewards to the horizon, by hand: G_2 = 1, G_1 = 1.75 + ¼·1, G_0 = 1.5 + ¼·G_1
TO_HORIZON = [1.5 + 0.25 * (1.75 + 0.125), 1.75 + 0.125, 1.0]


def test_warm_start_targets_by_hand() -> None:
    """``G_i`` and ``γ^(steps to horizon)`` per event; with the true value at the horizon (2)
    the bootstrapped targets are the true value of every event, the unbootstrapped ``G_i`` fall
    short of it the more the nearer the horizon."""
    from hierarchy.train import horizon_returns, warm_start_targets

    ret, to_end = horizon_returns(np.array(EVENT_REWARDS), np.array(TAUS), GAMMA)
    np.testing.assert_allclose(ret, TO_HORIZON, rtol=1e-12)
    np.testing.assert_allclose(to_end, [GAMMA**6, GAMMA**4, GAMMA**1], rtol=1e-12)

    class Critic:
        def value(self, glob: torch.Tensor) -> torch.Tensor:
            return torch.full((glob.shape[0],), 2.0)

    target = warm_start_targets(
        Critic(),  # type: ignore[arg-type]
        torch.as_tensor(ret),
        torch.as_tensor(to_end),
        torch.zeros(3, dtype=torch.int64),
        torch.zeros(1, N_GLOBAL),
    )
    torch.testing.assert_close(target, torch.full((3,), 2.0, dtype=torch.float64))
    assert ret[-1] == 1.0 < ret[0] < 2.0  # the legacy targets: biased low near the horizon


class _ScriptedEnv:
    """:class:`~hierarchy.smdp.DispatchEnv`'s interface over the scripted episode; one robot,
    one candidate, the same global features at every state."""

    def __init__(self, sim: Any, navigator: Any, **kw: Any) -> None:
        self.sim, self.k, self.i = None, kw["features"].slots, 0

    def reset(self, seed: int | None) -> bool:
        self.i = 0
        return True

    def observe(self) -> Decision:
        k = self.k
        mask = np.zeros((1, k + 1), dtype=bool)
        mask[0, [0, k]] = True
        return Decision(
            robots=np.array([0], np.int32),
            orders=np.array([[7] + [-1] * (k - 1)], np.int32),
            mask=mask,
            cand=np.zeros((1, k, FeatureConfig().n_cand), np.float32),
            glob=_GLOB,
            dist=np.ones((1, k)),
            waypoints=None,
        )

    def apply(self, choice: np.ndarray) -> None:
        pass

    def advance(self) -> Advance:
        r, self.i = EVENT_REWARDS[self.i], self.i + 1
        return Advance(reward=r, tau=TAUS[self.i - 1], done=self.i == len(TAUS), raw_reward=r)


_GLOB = np.full(N_GLOBAL, 0.1, dtype=np.float32)


def _warm_value(monkeypatch: pytest.MonkeyPatch, bootstrap: bool) -> float:
    """The critic's value after the warm start on the scripted episode (fitted to a fixed
    point: one state, so the value is one number)."""
    import hierarchy.train as ht

    class Teacher:
        def __init__(self, **kw: Any) -> None:
            pass

        def decide(self, sim: Any) -> tuple[np.ndarray, np.ndarray]:
            return np.array([0]), np.array([7])

    class Pool:
        def randomized(self, rng: Any, cfg: Any) -> None:
            return None

    monkeypatch.setattr(ht, "DispatchEnv", _ScriptedEnv)
    monkeypatch.setattr(ht, "HungarianDispatcher", Teacher)
    monkeypatch.setattr(ht, "global_features", lambda sim: _GLOB)
    cfg = TrainConfig(
        reward_scale=1.0, hidden=8, ppo=PPOConfig(gamma=GAMMA), imitation_episodes=1,
        imitation_epochs=1, imitation_min_updates=1500, imitation_bootstrap=bootstrap,
    )  # fmt: skip
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig(n_cand=cfg.features.n_cand, hidden=8))
    stats = ht.imitate(net, Pool(), [None], cfg)  # type: ignore[arg-type]
    assert stats["imitation_rows"] == 3 and stats["imitation_accuracy"] == 1.0
    with torch.no_grad():
        return float(net.value(torch.from_numpy(_GLOB)[None])[0])


def test_warm_start_critic_bootstraps_at_the_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fitted to bootstrapped targets, the warm start's critic finds the true value 2 of the
    endless floor; fitted to the returns cut at the horizon (legacy) it settles at their mean,
    about 1.61, biased low."""
    assert _warm_value(monkeypatch, True) == pytest.approx(2.0, abs=0.02)
    assert _warm_value(monkeypatch, False) == pytest.approx(np.mean(TO_HORIZON), abs=0.02)


# ------------------------------------------------------------------------------ forced rows
def _batch(forced: int) -> Batch:
    """Four events of three free rows (three allowed actions each) plus ``forced`` rows that
    may only WAIT, in the same events; log-probabilities from a fixed network."""
    torch.manual_seed(1)
    k, n_cand = 4, FeatureConfig().n_cand
    free = 12
    mask = torch.zeros(free + forced, k + 1, dtype=torch.bool)
    mask[:free, [0, 1, k]] = True
    mask[free:, k] = True
    glob = torch.rand(4, N_GLOBAL)
    cand = torch.cat([torch.rand(free, k, n_cand), torch.rand(forced, k, n_cand)])
    row_event = torch.cat([torch.arange(free) % 4, torch.arange(forced) % 4])
    actions = torch.cat([torch.tensor([0, 1, k] * 4), torch.full((forced,), k)])
    net = _net()
    with torch.no_grad():
        logp = torch.log_softmax(net.logits(cand, glob[row_event], mask), -1)
        logp = logp.gather(-1, actions[:, None]).squeeze(-1)
    return Batch(
        cand=cand, mask=mask, row_event=row_event, actions=actions, logp=logp, glob=glob,
        advantages=torch.tensor([1.0, -0.5, 2.0, -1.5]), returns=torch.tensor([1.0, 0, 2, -1]),
        values=torch.zeros(4),
    )  # fmt: skip


def _net() -> CandidateScorer:
    torch.manual_seed(2)
    return CandidateScorer(NetConfig(n_cand=FeatureConfig().n_cand, hidden=8))


def _update(batch: Batch, cfg: PPOConfig) -> tuple[dict[str, float], list[torch.Tensor]]:
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-5)
    stats = ppo_update(net, opt, batch, cfg, np.random.default_rng(0))
    return stats, [p.detach().clone() for p in net.parameters()]


PPO = PPOConfig(lr=0.05, epochs=3, minibatches=1, target_kl=None)


def test_forced_rows_leave_the_policy_terms_unchanged() -> None:
    """Adding rows that may only WAIT to a rollout changes neither the update nor its
    statistics (advantage normalisation, surrogate mean, entropy, approx-KL, clip fraction);
    the legacy rule counts them, diluting entropy and KL."""
    plain, plain_w = _update(_batch(0), PPO)
    mixed, mixed_w = _update(_batch(12), PPO)
    assert plain["approx_kl"] > 0 and plain["entropy"] > 0
    for key in ("policy_loss", "entropy", "approx_kl", "clipfrac", "value_loss"):
        assert mixed[key] == pytest.approx(plain[key], rel=1e-5, abs=1e-7), key
    for a, b in zip(plain_w, mixed_w, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    legacy, _ = _update(_batch(12), replace(PPO, skip_forced_rows=False))
    assert legacy["entropy"] == pytest.approx(plain["entropy"] / 2, rel=0.05)
    assert legacy["approx_kl"] < 0.8 * plain["approx_kl"]


def test_forced_rows_change_nothing_without_them_and_an_all_forced_rollout_trains_the_value() -> (
    None
):
    """Without forced rows both rules give the same update bit for bit (the shipped recipe's
    rollouts have none); a rollout of forced rows only still fits the critic, with no NaN."""
    new, new_w = _update(_batch(0), replace(PPO, minibatches=3))
    old, old_w = _update(_batch(0), replace(PPO, minibatches=3, skip_forced_rows=False))
    assert new == old and all(torch.equal(a, b) for a, b in zip(new_w, old_w, strict=True))
    b = _batch(12)
    only = replace(
        b, cand=b.cand[12:], mask=b.mask[12:], row_event=b.row_event[12:],
        actions=b.actions[12:], logp=b.logp[12:],
    )  # fmt: skip
    stats, weights = _update(only, PPO)
    assert set(stats) == {"value_loss", "explained_variance"}
    assert all(torch.isfinite(w).all() for w in weights)
    assert any(not torch.equal(a, w) for a, w in zip(_net().parameters(), weights, strict=True))


# ------------------------------------------------------------------------------ legacy configs
def test_a_config_saved_before_the_fixes_reads_the_legacy_rules() -> None:
    """A saved config lacking the new fields ran without them: it reads them as False (the
    dataclass defaults are the corrected rules); present, they are kept; a config without a
    ``ppo`` block at all reads the legacy rule there too."""
    data = TrainConfig().to_dict()
    assert data["imitation_bootstrap"] is True and data["ppo"]["skip_forced_rows"] is True
    assert TrainConfig.from_dict(data) == TrainConfig()
    del data["imitation_bootstrap"], data["ppo"]["skip_forced_rows"]
    old = TrainConfig.from_dict(data)
    assert old.imitation_bootstrap is False and old.ppo.skip_forced_rows is False
    assert old.ppo.gamma == TrainConfig().ppo.gamma
    del data["ppo"]
    assert TrainConfig.from_dict(data).ppo == PPOConfig(skip_forced_rows=False)


def test_shipped_recipe_pins_the_legacy_rules_and_its_documented_command() -> None:
    """The shipped weights were made with the legacy rules: the recipe pins them, and the
    ``train-dispatcher`` command its docstring gives sets them."""
    import hierarchy.make_weights as mw
    from hierarchy.ppo_dispatcher import DEFAULT_WEIGHTS

    assert mw.DISPATCHER.imitation_bootstrap is False
    assert mw.DISPATCHER.ppo.skip_forced_rows is False
    doc = " ".join(str(mw.__doc__).split())
    assert "--set imitation_bootstrap=false --set ppo.skip_forced_rows=false" in doc
    meta = json.loads(DEFAULT_WEIGHTS.read_text(encoding="utf-8"))
    assert TrainConfig.from_dict(meta["train"]) == mw.DISPATCHER


SMALL = ["--envs", "1", "--horizon", "40", "--imitation", "1", "--hidden", "8",
         "--eval-every", "0", "--no-tensorboard", "--no-progress"]  # fmt: skip
LEGACY = ["--set", "imitation_bootstrap=false", "--set", "ppo.skip_forced_rows=false"]


def test_cli_sets_the_rules_and_resumes_an_old_run_with_the_legacy_ones(tmp_path: Path) -> None:
    """``--set`` takes both fields; a run whose checkpoint predates them resumes with the legacy
    rules, recorded as such, to the weights of an uninterrupted legacy run."""
    from warehouse.cli.main import main

    def cli(*argv: str) -> None:
        with pytest.raises(SystemExit) as exc:
            main(["train-dispatcher", "tiny", *SMALL, *argv])
        assert exc.value.code in (0, None)

    cli("--steps", "80", "--out", str(tmp_path / "whole"), *LEGACY)
    cut = tmp_path / "cut"
    cli("--steps", "40", "--out", str(cut), *LEGACY)  # the first of the two iterations
    state = cut / "checkpoint" / "state.json"
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["config"]["imitation_bootstrap"] is False
    del saved["config"]["imitation_bootstrap"], saved["config"]["ppo"]["skip_forced_rows"]
    state.write_text(json.dumps(saved), encoding="utf-8")  # as saved before the fields existed
    cli("--steps", "80", "--out", str(cut), "--resume")
    config = json.loads((cut / "config.json").read_text(encoding="utf-8"))
    assert config["imitation_bootstrap"] is False and config["ppo"]["skip_forced_rows"] is False
    whole = (tmp_path / "whole" / "policy.safetensors").read_bytes()
    assert (cut / "policy.safetensors").read_bytes() == whole
    fresh = tmp_path / "fresh"
    cli("--steps", "40", "--out", str(fresh))
    config = json.loads((fresh / "config.json").read_text(encoding="utf-8"))
    assert config["imitation_bootstrap"] is True and config["ppo"]["skip_forced_rows"] is True
