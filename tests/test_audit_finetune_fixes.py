"""Learning rules of the navigator's online PPO fine-tuning (agents/finetune*.py): the
potential-based shaping with γ, forced rows left out of the policy terms, the bootstrap value
read after the dispatcher; the shipped recipe and old checkpoints keep the legacy rules."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from cli_helpers import fails_cleanly, run_cli

import agents.finetune as ft
from agents import finetune_ppo as fp
from agents.finetune import Floors, finetune, load_init, rollout
from agents.finetune_ppo import FinetuneConfig, Samples, SamplingNavigator, ppo_loss, ppo_update
from agents.learned import DEFAULT_WEIGHTS
from hierarchy.ppo import policy_terms
from warehouse.floor import UNREACHABLE

INIT = DEFAULT_WEIGHTS / "cql.json"
LEGACY = {"shaping": "difference", "policy_rows": "all", "bootstrap": "before_dispatch"}


def rules(cfg: FinetuneConfig) -> dict[str, str]:
    """The three learning rules of ``cfg`` (``policy_rows`` is ``ppo.skip_forced_rows``)."""
    return {"shaping": cfg.shaping, "policy_rows": cfg.policy_rows, "bootstrap": cfg.bootstrap}


def saved_rules(config: dict) -> dict[str, str]:
    """:func:`rules` of a saved ``extra.finetune.config``."""
    return rules(FinetuneConfig.from_json(config))


def without_rules(config: dict) -> dict:
    """``config`` as written before the learning rules existed."""
    old = {k: v for k, v in config.items() if k not in ("shaping", "bootstrap")}
    old["ppo"] = {k: v for k, v in config["ppo"].items() if k != "skip_forced_rows"}
    return old


# ------------------------------------------------------------------------------ shaping
class _Dist:
    """Distances to target 0 by cell: a hand-written table."""

    def __init__(self, table: dict[int, int]) -> None:
        self.table = table

    def lookup(self, target: np.ndarray, cells: np.ndarray) -> np.ndarray:
        assert np.all(target == 0)
        return np.array([self.table[int(c)] for c in cells])


def _stub_sim(after: list[int], table: dict[int, int], target_now: list[int]) -> SimpleNamespace:
    state = SimpleNamespace(pos=np.array(after), target=np.array(target_now))
    return SimpleNamespace(dist=_Dist(table), state=state)


def test_potential_shaping_hand_values_with_gamma() -> None:
    """``d(s) − γ d(s')`` = γ Φ(s') − Φ(s) with Φ = −d, the target held at the one the robot
    decided with; the legacy rule is the undiscounted clip(d(s) − d(s'), −1, 1)."""
    # cells: distance to target 0
    table = {10: 5, 11: 4, 12: 6, 13: 1, 14: 0, 15: int(UNREACHABLE), 16: 9, 17: 20}
    before = np.array([10, 10, 10, 13, 15, 10, 16])
    after = [11, 10, 12, 14, 10, 11, 17]
    decided = np.array([0, 0, 0, 0, 0, -1, 0])  # robot 5 had no target when it decided
    # robot 3 reaches its target and is given a new one (far away) within the step: its shaping
    # is still toward the target it decided with
    sim = _stub_sim(after, table, target_now=[0, 0, 0, 7, 0, 0, 0])
    g = 0.9
    got = fp.shaping(sim, decided, before, g)
    hand = [5 - g * 4, 5 - g * 5, 5 - g * 6, 1 - g * 0, 0.0, 0.0, 9 - g * 20]
    np.testing.assert_allclose(got, hand, rtol=0, atol=1e-12)
    legacy = fp.shaping(sim, decided, before, None)
    np.testing.assert_array_equal(legacy, [1, 0, -1, 1, 0, 0, -1])
    np.testing.assert_array_equal(fp.progress(sim, decided, before), legacy)
    # the shaping telescopes along a leg: Σ_t γ^t F_t = γ^n Φ(s_n) − Φ(s_0)
    path, dist = [10, 11, 13, 14], {10: 5, 11: 4, 13: 1, 14: 0}
    total = sum(
        g**t * fp.shaping(_stub_sim([b], dist, [0]), np.array([0]), np.array([a]), g)[0]
        for t, (a, b) in enumerate(itertools.pairwise(path))
    )
    assert total == pytest.approx(g**3 * -0 - (-5))


def test_a_new_target_pays_nothing_for_the_jump_of_the_distance() -> None:
    """The step after a robot's target changed is shaped toward the new target only: the
    jump of the distance between the legs is paid by neither step (with and without γ)."""
    table = {10: 7, 11: 6}  # distances to the new target
    sim = _stub_sim([11], table, target_now=[0])
    # decided at cell 10 with the new target (the dispatcher ran before the decision)
    assert fp.shaping(sim, np.array([0]), np.array([10]), 0.99)[0] == pytest.approx(7 - 0.99 * 6)
    assert fp.shaping(sim, np.array([0]), np.array([10]), None)[0] == 1.0


@pytest.mark.parametrize("rule, gamma", [("potential", 0.99), ("difference", None)])
def test_the_rollout_pays_the_configured_shaping(
    rule: str, gamma: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollout's reward is ``reward_scale · (r + progress_reward · shaping)``, the shaping
    with the PPO discount (``"potential"``, the default) or without (``"difference"``)."""
    seen: list[float | None] = []
    real = fp.shaping

    def spy(sim, target, before, g):  # type: ignore[no-untyped-def]
        seen.append(g)
        return real(sim, target, before, g)

    monkeypatch.setattr(ft, "shaping", spy)
    actor, _, observation = load_init(INIT)
    critic = fp.make_critic(actor)
    cfg = FinetuneConfig(scenarios=("tiny",), rollout_steps=3, updates=1, shaping=rule)
    assert FinetuneConfig().shaping == "potential"
    rollout(Floors(cfg, actor, critic, observation), cfg, 0)
    assert seen == [gamma] * 3


# ------------------------------------------------------------------------------ forced rows
def _net_and_samples(n_free: int, n_forced: int, *, kl_shift: float = 0.0):  # type: ignore[no-untyped-def]
    from agents.networks import NavigatorNet, NetworkConfig

    torch.manual_seed(0)
    actor = NavigatorNet(NetworkConfig(radius=1, window_dim=8, hidden=(8,), heads=2))
    critic = fp.make_critic(actor)
    n = n_free + n_forced
    obs = torch.rand(n, actor.cfg.obs_dim) * 2 - 1
    free_mask = torch.tensor([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1], [1, 0, 1, 0, 0], [1, 1, 1, 0, 0]])
    mask = torch.zeros(n, 5, dtype=torch.bool)
    mask[:n_free] = free_mask[torch.arange(n_free) % 4].bool()
    mask[n_free:, 0] = True  # forced: only WAIT allowed
    actions = torch.tensor([3, 2, 2, 1] * n)[:n]
    actions[n_free:] = 0
    with torch.no_grad():
        z = fp.policy_logits(actor, obs, mask, 1.0)
        logp = torch.log_softmax(z, 1).gather(1, actions[:, None])[:, 0]
    logp[:n_free] -= kl_shift  # as if collected by another policy: ratio e^shift ≠ 1
    adv = torch.tensor([1.0, -0.5, 0.25, 2.0, -1.0, 0.5, 3.0, -2.0] * n)[:n]
    adv[n_free:] = torch.tensor([10.0, -10.0, 7.0, 9.0] * n)[: n - n_free]
    s = Samples(obs=obs, mask=mask, actions=actions, logp=logp, advantages=adv,
                returns=torch.linspace(-1, 1, n), values=torch.zeros(n))  # fmt: skip
    return actor, critic, s


def test_forced_rows_are_left_out_of_the_policy_terms_not_the_critic() -> None:
    """With ``policy_rows="free"`` (the default) the surrogate, its advantage normalisation,
    entropy, approx-KL and clip fraction are those of the rows with a choice; the value loss is
    over every row. ``"all"`` (legacy) gives other numbers on the same batch."""
    actor, critic, s = _net_and_samples(4, 2, kl_shift=0.3)
    idx = torch.arange(6)
    cfg = FinetuneConfig(scenarios=("tiny",))
    assert cfg.policy_rows == "free"
    loss, info = ppo_loss(actor, critic, s, idx, cfg)
    free = torch.arange(4)
    with torch.no_grad():
        logits = fp.policy_logits(actor, s.obs[free], s.mask[free], 1.0)
        v_all = 0.5 * ((fp.value_of(critic, s.obs) - s.returns) ** 2).mean()
    pg, ent, hand = policy_terms(
        logits, s.actions[free], s.logp[free], s.advantages[free], clip_eps=0.2, norm_adv=True
    )
    expected = {"policy_loss": pg, "entropy": ent, "value_loss": v_all, **hand}
    for key, want in expected.items():
        assert float(info[key].detach()) == pytest.approx(float(want), rel=1e-6), key
    p = cfg.ppo
    want_loss = float((pg - p.ent_coef * ent + p.vf_coef * v_all).detach())
    assert float(loss.detach()) == pytest.approx(want_loss, rel=1e-6)
    legacy_cfg = replace(cfg, ppo=replace(cfg.ppo, skip_forced_rows=False))
    _, legacy = ppo_loss(actor, critic, s, idx, legacy_cfg)
    for key in ("policy_loss", "entropy", "approx_kl"):
        got = float(info[key].detach())
        assert float(legacy[key].detach()) != pytest.approx(got, rel=1e-3), key
    assert float(legacy["value_loss"].detach()) == pytest.approx(float(v_all), rel=1e-6)


def test_a_minibatch_of_forced_rows_trains_the_critic_only() -> None:
    actor, critic, s = _net_and_samples(0, 3)
    loss, info = ppo_loss(actor, critic, s, torch.arange(3), FinetuneConfig())
    assert set(info) == {"value_loss", "policy_loss"} and float(info["policy_loss"]) == 0.0
    loss.backward()
    assert all(q.grad is None for q in actor.parameters())
    assert any(q.grad is not None and q.grad.abs().sum() > 0 for q in critic.parameters())


@pytest.mark.parametrize("rows, calls", [("free", 1), ("all", 4)])
def test_forced_rows_do_not_dilute_the_kl_early_stop(
    rows: str, calls: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Free rows' approx-KL 0.149 (ratio e^0.5, learning rate 0 so it stays), forced rows' 0:
    above target_kl 0.1 over the free rows (one epoch, then the stop), diluted to 0.074 with the
    forced ones (all 4 epochs)."""
    actor, critic, s = _net_and_samples(4, 4, kl_shift=0.5)
    ppo = replace(FinetuneConfig().ppo, lr=0.0, minibatches=1, epochs=4, target_kl=0.1)
    ppo = replace(ppo, skip_forced_rows=rows == "free")
    cfg = FinetuneConfig(ppo=ppo, critic_lr=0.0)
    counted: list[int] = []
    real = fp.ppo_loss

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        counted.append(1)
        return real(*a, **k)

    monkeypatch.setattr(fp, "ppo_loss", counting)
    opt = fp.make_optimizer(actor, critic, cfg)
    stats = ppo_update(actor, critic, opt, s, cfg, np.random.default_rng(0))
    assert len(counted) == calls
    want = 0.1487 if rows == "free" else 0.0744
    assert stats["approx_kl"] == pytest.approx(want, abs=2e-4)


def test_a_rollout_with_every_row_forced_updates_without_nan() -> None:
    actor, critic, s = _net_and_samples(0, 5)
    cfg = FinetuneConfig()
    opt = fp.make_optimizer(actor, critic, cfg)
    stats = ppo_update(actor, critic, opt, s, cfg, np.random.default_rng(0))
    assert "approx_kl" not in stats and np.isfinite(stats["value_loss"])


# ------------------------------------------------------------------------------ bootstrap
def test_the_bootstrap_value_is_of_what_the_next_step_decides_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GAE's last value V(s_T) reads the observation the navigator would decide on at step
    T + 1 — after that step's dispatcher, as every V(s_t) of the rollout is. On ``tiny``,
    seed of iteration 0, two robots get their next order at step 8: the legacy rule valued
    them on their finished leg."""
    actor, _, observation = load_init(INIT)
    torch.manual_seed(0)
    critic = fp.make_critic(actor)
    seen: dict[str, np.ndarray] = {}
    real = SamplingNavigator.value

    def spy(self, sim, obs):  # type: ignore[no-untyped-def]
        seen["obs"] = obs.copy()
        return real(self, sim, obs)

    monkeypatch.setattr(SamplingNavigator, "value", spy)
    T = 7
    boot = {}
    for rule in ("decision", "before_dispatch"):
        cfg = FinetuneConfig(scenarios=("tiny",), rollout_steps=T, updates=1, bootstrap=rule)
        rollout(Floors(cfg, actor, critic, observation), cfg, 0)
        boot[rule] = seen["obs"]
    longer = FinetuneConfig(scenarios=("tiny",), rollout_steps=T + 1, updates=1)
    samples, _ = rollout(Floors(longer, actor, critic, observation), longer, 0)
    n = boot["decision"].shape[0]
    next_obs = samples.obs.numpy().reshape(T + 1, n, -1)[T]
    np.testing.assert_array_equal(boot["decision"], next_obs)
    assert not np.array_equal(boot["before_dispatch"], next_obs)
    assert FinetuneConfig().bootstrap == "decision"


# ------------------------------------------------------------------------------ legacy
def test_old_checkpoint_configs_read_the_legacy_rules() -> None:
    """A saved config without the learning-rule fields was trained with the legacy rules: it
    reads as them (a ``--resume`` goes on unchanged), not as the corrected defaults."""
    old = FinetuneConfig.from_json(without_rules(FinetuneConfig().to_json()))
    assert rules(old) == LEGACY
    assert fp.LEGACY == {
        "shaping": "difference", "ppo.skip_forced_rows": False, "bootstrap": "before_dispatch"
    }  # fmt: skip
    assert FinetuneConfig.from_json(FinetuneConfig().to_json()) == FinetuneConfig()
    for name in ("cql_pibt", "cql_physical"):  # the shipped ones were written before
        meta = json.loads((DEFAULT_WEIGHTS / f"{name}.json").read_text())
        config = meta["extra"]["finetune"]["config"]
        assert without_rules(config) == config
        assert saved_rules(config) == LEGACY


def test_a_bad_rule_in_a_saved_config_is_a_one_line_error() -> None:
    from warehouse.errors import InputError

    data = {**FinetuneConfig().to_json(), "shaping": "some"}
    with pytest.raises(InputError, match=r"extra\.finetune\.config: shaping must be one of"):
        FinetuneConfig.from_json(data, "ck.json")


def test_a_resumed_old_run_goes_on_with_the_legacy_rules(tmp_path: Path) -> None:
    cfg = FinetuneConfig(updates=1, scenarios=("tiny",), rollout_steps=4, critic_warmup=0,
                         collision_rise=None, ckpt_every=1)  # fmt: skip
    run = tmp_path / "run"
    finetune(cfg, run, init=INIT, show_progress=False, log=str)
    ck = run / "checkpoints" / "iter_000001.json"
    meta = json.loads(ck.read_text())
    # as a checkpoint written before the rules existed
    meta["extra"]["finetune"]["config"] = without_rules(meta["extra"]["finetune"]["config"])
    ck.write_text(json.dumps(meta))
    finetune(replace(cfg, updates=2), run, resume=True, show_progress=False, log=str)
    saved = json.loads((run / "checkpoints" / "iter_000002.json").read_text())
    assert saved_rules(saved["extra"]["finetune"]["config"]) == LEGACY


def test_the_shipped_recipes_pin_the_legacy_rules() -> None:
    from agents.make_weights import FINETUNE, FINETUNE_PHYSICAL

    for cfg in (FINETUNE, FINETUNE_PHYSICAL):
        assert rules(cfg) == LEGACY


#: sha256 of the model a tiny run of the shipped recipe gives at the commit before the learning
#: rules existed (git archive HEAD, torch 2.14.1 on the CPU); the legacy-pinned recipe must give
#: it bit for bit. Other torch builds may differ in the last bit (agents/make_weights.py).
LEGACY_TINY_SHA256 = "a30e6eddabe3820d0849e84baf96eb87fea8b3ffed1078363f1609520b2ef90c"


@pytest.mark.skipif(torch.__version__.split("+")[0] != "2.14.1", reason="sha of torch 2.14.1")
def test_the_legacy_recipe_reproduces_the_earlier_weights_bit_for_bit(tmp_path: Path) -> None:
    from agents.make_weights import FINETUNE
    from warehouse.threads import torch_threads

    cfg = replace(FINETUNE, updates=2, scenarios=("tiny",), rollout_steps=24, critic_warmup=1,
                  ckpt_every=1, collision_rise=None)  # fmt: skip
    with torch_threads(1):
        finetune(cfg, tmp_path / "run", init=INIT, show_progress=False, log=str)
    digest = hashlib.sha256((tmp_path / "run" / "model.safetensors").read_bytes()).hexdigest()
    assert digest == LEGACY_TINY_SHA256


# ------------------------------------------------------------------------------ CLI
def test_cli_sets_the_rules_and_checks_them(tmp_path: Path, capsys) -> None:
    base = ["train-navigator", "--algo", "ppo", "--init", str(INIT), "--steps", "1",
            "--scenarios", "tiny", "--rollout-steps", "4", "--no-progress",
            "--device", "cpu"]  # fmt: skip
    run = tmp_path / "run"
    code, _, err = run_cli(
        [*base, "--out", str(run), "--shaping", "difference", "--policy-rows", "all",
         "--bootstrap", "before_dispatch"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    saved = json.loads((run / "model.json").read_text())["extra"]["finetune"]["config"]
    assert saved_rules(saved) == LEGACY
    fails_cleanly([*base, "--out", str(tmp_path / "b"), "--policy-rows", "most"], tmp_path, capsys,
                  "--policy-rows: expected free or all, got 'most'")  # fmt: skip
    fails_cleanly(
        ["train-navigator", "--algo", "cql", "--data", str(tmp_path), "--steps", "1", "--out",
         str(tmp_path / "c"), "--shaping", "difference"],
        tmp_path, capsys, "--shaping: does not apply to --algo cql",
    )  # fmt: skip
