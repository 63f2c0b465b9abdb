"""Online PPO fine-tuning of the navigator (agents/finetune*.py, ``train-navigator --algo ppo``)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

import hierarchy.ppo as hppo
from agents import finetune_ppo as fp
from agents.checkpoint import load_network, read_checkpoint
from agents.finetune import collision_pause_reason, finetune, load_init
from agents.finetune_ppo import FinetuneConfig, Samples, SamplingNavigator, gae, ppo_loss
from agents.learned import DEFAULT_WEIGHTS
from agents.registry import make_navigator

INIT = DEFAULT_WEIGHTS / "cql.json"


def tiny_cfg(**kw) -> FinetuneConfig:
    base = {
        "updates": 2,
        "scenarios": ("tiny",),
        "rollout_steps": 24,
        "critic_warmup": 1,
        "ckpt_every": 1,
        "collision_rise": None,
    }
    return FinetuneConfig(**{**base, **kw})


def tiny_obs(steps: int = 5) -> tuple[np.ndarray, np.ndarray, object]:
    """A real observation + mask of the tiny floor after a few rule-based steps."""
    from hierarchy import make_dispatcher
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    _, _, observation = load_init(INIT)
    sc, src = load_scenario("tiny")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    nav = make_navigator("rule_based")
    nav.observation = observation
    fleet = Fleet(sim, make_dispatcher("greedy"), nav)
    fleet.reset(3)
    fleet.run(steps)
    return fleet.observer(), sim.action_mask(), sim


# ------------------------------------------------------------------------------ loss pieces
def test_gae_hand_values_and_agrees_with_dispatcher_gae() -> None:
    # T=2, one robot: δ1 = 0 + .9·1 − .2 = .7; δ0 = 1 + .9·.2 − .5 = .68; A0 = .68 + .45·.7
    adv, ret = gae(np.array([[1.0], [0.0]]), np.array([[0.5], [0.2]]), np.array([1.0]), 0.9, 0.5)
    np.testing.assert_allclose(adv[:, 0], [0.68 + 0.45 * 0.7, 0.7])
    np.testing.assert_allclose(ret[:, 0], adv[:, 0] + [0.5, 0.2])
    rng = np.random.default_rng(0)
    r, v, last = rng.normal(size=(7, 4)), rng.normal(size=(7, 4)), rng.normal(size=4)
    adv, _ = gae(r, v, last, 0.97, 0.9)
    for j in range(4):  # every column = the semi-Markov GAE with unit durations
        ref, _ = hppo.smdp_gae(r[:, j], v[:, j], last[j], np.ones(7), np.zeros(7), 0.97, 0.9)
        np.testing.assert_allclose(adv[:, j], ref)


def test_loss_pieces_are_the_dispatchers() -> None:
    # the hand-checked functions of tests/test_ppo.py, not a second copy
    for name in ("policy_terms", "log_probs", "sample_actions"):
        assert getattr(fp, name) is getattr(hppo, name)


def test_ppo_loss_hand_values() -> None:
    actor, _, _ = load_init(INIT)
    critic = fp.make_critic(actor)
    obs, mask, _ = tiny_obs()
    obs_t, mask_t = torch.from_numpy(obs[:2]), torch.from_numpy(mask[:2])
    cfg = tiny_cfg(temperature=0.5)
    cfg = replace(cfg, ppo=replace(cfg.ppo, norm_adv=False, ent_coef=0.1, vf_coef=0.5))
    actions = torch.zeros(2, dtype=torch.int64)  # WAIT: always allowed
    with torch.no_grad():
        scores = actor.scores(obs_t) / 0.5
        logp_all = torch.log_softmax(scores.masked_fill(~mask_t, -torch.inf), dim=1)
        v = critic(obs_t)[:, 0, 0]
    # old log-probs log(1.5) lower: ratio 1.5, clipped to 1.2 for A=+1, kept 1.5 for A=−1
    s = Samples(
        obs=obs_t,
        mask=mask_t,
        actions=actions,
        logp=logp_all[:, 0] - math.log(1.5),
        advantages=torch.tensor([1.0, -1.0]),
        returns=v + torch.tensor([2.0, 0.0]),
        values=v,
    )
    loss, info = ppo_loss(actor, critic, s, torch.arange(2), cfg)
    p = logp_all.exp()
    ent = -(p * logp_all.nan_to_num(neginf=0.0)).sum(1).mean()
    pg = -(1.2 * 1.0 + 1.5 * -1.0) / 2  # = 0.15
    assert float(info["policy_loss"].detach()) == pytest.approx(pg, abs=1e-5)
    assert float(info["value_loss"].detach()) == pytest.approx(0.5 * (4.0 + 0.0) / 2, abs=1e-5)
    assert float(info["clipfrac"]) == pytest.approx(1.0)
    assert float(loss.detach()) == pytest.approx(pg - 0.1 * float(ent) + 0.5 * 1.0, abs=1e-5)


def test_the_sampling_navigator_takes_any_seed_the_simulation_takes() -> None:
    """torch seeds stop at 2**63; the simulation takes any whole seed."""
    actor, _, observation = load_init(INIT)
    nav = SamplingNavigator(actor, fp.make_critic(actor), 1.0, observation)
    nav.reset(2**64 + 3)
    assert torch.equal(nav.gen.get_state(), torch.Generator().manual_seed(3).get_state())


def test_masked_actions_never_sampled() -> None:
    actor, _, observation = load_init(INIT)
    critic = fp.make_critic(actor)
    obs, _, _ = tiny_obs()
    rng = np.random.default_rng(1)
    obs = np.repeat(obs, 200, axis=0)  # 1,200 rows
    mask = rng.random((obs.shape[0], 5)) < 0.4
    mask[:, 0] = True
    for temperature in (0.1, 1.0, 100.0):  # 100: close to uniform over the allowed ones
        nav = SamplingNavigator(actor, critic, temperature, observation)
        nav.reset(7)
        for _ in range(5):
            actions, prefs = nav.act(None, obs, mask)
            assert mask[np.arange(len(actions)), actions].all()
            assert np.isfinite(nav.last_logp).all() and (nav.last_logp <= 0).all()
            assert np.isneginf(prefs[~mask]).all() and np.isfinite(prefs[mask]).all()
    assert len(np.unique(actions)) > 1  # it does sample, not always WAIT


# ------------------------------------------------------------------------------ the guard
def test_collision_pause_reason_rules() -> None:
    cfg = FinetuneConfig(collision_limit=50.0, collision_rise=1.5)
    assert collision_pause_reason(49.0, 40.0, cfg) is None
    assert "limit 50" in collision_pause_reason(51.0, 40.0, cfg)
    assert "1.5 x the initial 20.00" in collision_pause_reason(31.0, 20.0, cfg)
    assert collision_pause_reason(30.0, 20.0, cfg) is None
    assert collision_pause_reason(1e6, 1.0, replace(cfg, collisions="pibt")) is None
    no_limits = replace(cfg, collision_limit=None, collision_rise=None)
    assert collision_pause_reason(1e6, 1.0, no_limits) is None


def script_collisions(monkeypatch: pytest.MonkeyPatch, rates: list[float]) -> None:
    """Real rollouts, but the guard sees ``rates[i]`` collisions per 1k at iteration ``i``."""
    import agents.finetune as ft

    real = ft.rollout

    def scripted(floors, cfg, it):  # type: ignore[no-untyped-def]
        samples, stats = real(floors, cfg, it)
        return samples, {**stats, "collisions_per_1k": rates[it]}

    monkeypatch.setattr(ft, "rollout", scripted)


def test_guard_pauses_a_scripted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script_collisions(monkeypatch, [10.0, 12.0, 40.0, 0.0, 0.0])
    run = tmp_path / "run"
    cfg = tiny_cfg(updates=4, collision_rise=1.5)
    res = finetune(cfg, run, init=INIT, show_progress=False, log=str)
    assert res.paused == "collisions 40.00 per 1k robot-steps exceed 1.5 x the initial 10.00"
    assert res.iteration == 2  # rollouts 0 and 1 were used; rollout 2 was not
    paused = json.loads((run / "PAUSED.json").read_text())
    assert paused["iteration"] == 2 and paused["collisions_per_1k"] == 40.0
    meta, _ = read_checkpoint(run / "checkpoints" / "iter_000002.json")
    assert meta["extra"]["finetune"]["paused"] == res.paused
    assert meta["extra"]["finetune"]["baseline_collisions_per_1k"] == 10.0
    # the absolute limit pauses at once
    res0 = finetune(
        tiny_cfg(collision_limit=5.0), tmp_path / "r0", init=INIT, show_progress=False, log=str
    )
    assert res0.iteration == 0 and res0.model is None and "exceed the limit 5" in res0.paused
    # resuming with a looser guard continues from iteration 2
    cfg = tiny_cfg(updates=4, collision_rise=5.0)
    res2 = finetune(cfg, run, resume=True, show_progress=False, log=str)
    assert res2.paused is None and res2.iteration == 4 and res2.model is not None
    assert not (run / "PAUSED.json").exists()  # the pause it resumed from is over


def test_guard_is_logged_beside_the_rollout_it_judged(tmp_path: Path, monkeypatch) -> None:
    """``guard/paused`` of a rollout sits at the TensorBoard step of that rollout's collision
    rate, so the two curves line up; the pausing rollout's flag is the last point."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    script_collisions(monkeypatch, [10.0, 12.0, 40.0])
    run = tmp_path / "run"
    finetune(tiny_cfg(updates=4, collision_rise=1.5), run, init=INIT, show_progress=False, log=str)
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    guard = {e.step: e.value for e in acc.Scalars("guard/paused")}
    rate = {e.step: e.value for e in acc.Scalars("rollout/collisions_per_1k")}
    assert rate == {1: 10.0, 2: 12.0}
    assert guard == {1: 0.0, 2: 0.0, 3: 1.0}


def test_a_resumed_fine_tuning_keeps_the_point_of_its_checkpoint(tmp_path: Path) -> None:
    """Resuming from the checkpoint of iteration 2 keeps the scalars of the update that made
    it (logged at step 2) and logs each later step once, as an uninterrupted run does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def steps_logged(run: Path) -> list[int]:
        acc = EventAccumulator(str(run / "tb"))
        acc.Reload()
        return [e.step for e in acc.Scalars("rollout/deliveries")]

    finetune(tiny_cfg(updates=3), tmp_path / "a", init=INIT, show_progress=False, log=str)
    finetune(tiny_cfg(updates=2), tmp_path / "b", init=INIT, show_progress=False, log=str)
    finetune(tiny_cfg(updates=3), tmp_path / "b", resume=True, show_progress=False, log=str)
    assert steps_logged(tmp_path / "b") == steps_logged(tmp_path / "a") == [1, 2, 3]


def test_guard_wait_accepts_continue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script_collisions(monkeypatch, [10.0, 0.0])
    run = tmp_path / "run"
    run.mkdir()
    (run / "CONTINUE").write_text("")  # the operator already said go on
    logs: list[str] = []
    cfg = tiny_cfg(updates=1, collision_limit=0.0, on_pause="wait", pause_wait_s=0.0)
    res = finetune(cfg, run, init=INIT, show_progress=False, log=logs.append)
    assert res.paused is None and res.iteration == 1
    assert not (run / "CONTINUE").exists()
    assert any("paused at iteration 0" in m for m in logs)


# ------------------------------------------------------------------------- checkpoints, resume
def test_checkpoint_round_trip_identical_actions(tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = finetune(tiny_cfg(updates=2), run, init=INIT, show_progress=False, log=str)
    obs, mask, sim = tiny_obs(8)
    init_net, _ = load_network(INIT)
    with torch.no_grad():
        x = torch.from_numpy(obs)
        want = res.network.scores(x).masked_fill(~torch.from_numpy(mask), -torch.inf)
        assert not torch.equal(want, init_net.scores(x).masked_fill(~torch.from_numpy(mask), -1e30))
    for path in (run / "model.json", run / "checkpoints" / "iter_000002.json"):
        nav = make_navigator("cql", checkpoint=path, device="cpu")
        actions, prefs = nav.act(sim, obs, mask)
        np.testing.assert_array_equal(prefs, want.numpy())
        np.testing.assert_array_equal(actions, want.argmax(1).numpy())
    meta, _ = read_checkpoint(run / "model.json")
    assert meta["kind"] == "weights" and meta["algo"] == "cql"
    assert meta["extra"]["finetune"]["config"]["updates"] == 2


def test_resume_matches_uninterrupted(tmp_path: Path) -> None:
    full = finetune(tiny_cfg(updates=3), tmp_path / "a", init=INIT, show_progress=False, log=str)
    part = finetune(tiny_cfg(updates=2), tmp_path / "b", init=INIT, show_progress=False, log=str)
    assert part.iteration == 2
    rest = finetune(tiny_cfg(updates=3), tmp_path / "b", resume=True, show_progress=False, log=str)
    assert rest.iteration == 3
    _, ta = read_checkpoint(tmp_path / "a" / "checkpoints" / "iter_000003.json")
    _, tb = read_checkpoint(tmp_path / "b" / "checkpoints" / "iter_000003.json")
    assert sorted(ta) == sorted(tb) and any(k.startswith("critic.") for k in ta)
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    assert full.last == rest.last


# ----------------------------------------------------------------------------------- the CLI
def _cli_train(run: Path, capsys) -> None:
    args = ["train-navigator", "--algo", "ppo", "--init", str(INIT), "--steps", "2"]
    args += ["--out", str(run), "--scenarios", "tiny", "--rollout-steps", "8", "--no-progress"]
    code, out, err = run_cli([*args, "--ckpt-every", "1", "--device", "cpu"], capsys)
    assert code == 0, err
    assert "iteration 2:" in out and "model:" in out


def test_cli_resume_refuses_settings_it_would_ignore(tmp_path: Path, capsys) -> None:
    """``--resume`` keeps the run's settings and its init: one given again must agree."""
    from cli_helpers import fails_cleanly

    run = tmp_path / "run"
    _cli_train(run, capsys)
    resume = ["train-navigator", "--algo", "ppo", "--steps", "3", "--out", str(run), "--resume",
              "--no-progress", "--device", "cpu"]  # fmt: skip
    latest = f"{run}/checkpoints/iter_000002.json"
    for extra, expected in (
        (["--seed", "7"], "--seed: the resumed run keeps 0 (its saved setting), not 7"),
        (["--scenarios", "small"], "--scenarios: the resumed run keeps ('tiny',)"),
        (["--rollout-steps", "16"], "--rollout-steps: the resumed run keeps 8"),
        (["--init", str(DEFAULT_WEIGHTS / "bc.json")], "--init: the resumed run started from"),
    ):
        fails_cleanly([*resume, *extra], tmp_path, capsys, f"{latest}: {expected}")
    code, out, err = run_cli([*resume, "--init", str(INIT), "--scenarios", "tiny"], capsys)
    assert code == 0, err  # the same settings given again: fine
    assert "iteration 3:" in out


def test_cli_smoke_run(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    _cli_train(run, capsys)
    assert sorted(p.name for p in (run / "checkpoints").glob("*.json")) == [
        "iter_000001.json",
        "iter_000002.json",
    ]
    assert any((run / "tb").iterdir())
    # the tuned network reads the layout its init was trained on, and a fleet observes with it
    from warehouse.config import ObservationConfig

    layout = ObservationConfig.model_validate(json.loads(INIT.read_text())["observation"])
    assert json.loads((run / "model.json").read_text())["observation"] == layout.model_dump()
    assert make_navigator("cql", checkpoint=run / "model.json").observation == layout


@pytest.mark.slow  # `warehouse run` renders its plots
def test_cli_fine_tuned_model_runs_as_a_policy(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    _cli_train(run, capsys)
    code, out, err = run_cli(
        [
            "run", "tiny", "--policy", "cql,cql_ft", "--seeds", "0", "--steps", "5",
            "--set", f"policies.navigator_checkpoint={run / 'model.json'}",
            "--out", str(tmp_path / "eval"),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "cql_ft" in out and (tmp_path / "eval" / "report.json").is_file()


def test_cli_pause_exits_3(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    script_collisions(monkeypatch, [3.0, 3.0])
    args = ["train-navigator", "--algo", "ppo", "--init", str(INIT), "--steps", "2"]
    args += ["--out", str(tmp_path / "run"), "--scenarios", "tiny", "--rollout-steps", "24"]
    code, out, err = run_cli([*args, "--no-progress", "--collision-limit", "0"], capsys)
    assert code == 3
    assert "paused at iteration 0" in out and "training paused" in err
    assert "nothing to train" not in out  # paused before any update: no misleading summary


@pytest.mark.parametrize("content", [b"not json", None])
def test_cli_bad_init_exit_2(tmp_path: Path, capsys, content: bytes | None) -> None:
    init = tmp_path / "bad.json"
    if content is not None:
        init.write_bytes(content)
        (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 10)
    run = tmp_path / "run"
    code, _, err = run_cli(
        ["train-navigator", "--algo", "ppo", "--init", str(init), "--steps", "1",
         "--out", str(run), "--no-progress"],
        capsys,
    )  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad." in lines[0]
    assert not run.exists()


def test_cli_ppo_needs_init_and_offline_needs_data(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(
        ["train-navigator", "--algo", "ppo", "--steps", "1", "--out", str(tmp_path / "r")],
        capsys,
    )
    assert code == 2 and "--init" in err
    code, _, err = run_cli(
        ["train-navigator", "--algo", "cql", "--steps", "1", "--out", str(tmp_path / "r")],
        capsys,
    )
    assert code == 2 and "--data" in err


# ------------------------------------------------------------- the sampled navigator (cql_ft)
def test_sampled_navigator_masks_seeds_and_temperature(tmp_path: Path) -> None:
    from agents.finetune_nav import SampledPolicy

    obs, _, _ = tiny_obs()
    obs = np.repeat(obs, 100, axis=0)
    mask = np.random.default_rng(2).random((obs.shape[0], 5)) < 0.5
    mask[:, 0] = True
    nav = make_navigator("cql_ft", device="cpu")  # shipped CQL weights, not fine-tuned: T = 1
    assert isinstance(nav, SampledPolicy) and nav.temperature == 1.0
    nav.reset(5)
    a1, p1 = nav.act(None, obs, mask)
    assert mask[np.arange(len(a1)), a1].all() and len(np.unique(a1)) > 1
    nav.reset(5)
    a2, _ = nav.act(None, obs, mask)
    np.testing.assert_array_equal(a1, a2)  # own RNG, seeded in reset
    greedy = make_navigator("cql", device="cpu")
    np.testing.assert_array_equal(p1, greedy.act(None, obs, mask)[1])  # same PIBT preferences
    cold = SampledPolicy(greedy, 1e-6)  # T → 0: the greedy navigator
    cold.reset(0)
    np.testing.assert_array_equal(cold.act(None, obs, mask)[0], greedy.act(None, obs, mask)[0])
    run = tmp_path / "run"
    finetune(tiny_cfg(updates=1, temperature=0.5), run, init=INIT, show_progress=False, log=str)
    assert make_navigator("cql_ft", checkpoint=run / "model.json").temperature == 0.5


@pytest.mark.parametrize(("name", "greedy_name"), [("cql_sampled", "cql"), ("bc_sampled", "bc")])
def test_sampled_navigators_sample_their_network_at_the_deploy_temperature(
    name: str, greedy_name: str
) -> None:
    """``cql_sampled`` (and its baseline ``bc_sampled``) draw from softmax(scores / T) of the
    offline network at the deploy temperature; the shield sees the greedy network's scores."""
    from agents.evaluate import make_policy
    from agents.finetune_nav import DEPLOY_TEMPERATURE, SampledPolicy

    obs, _, _ = tiny_obs()
    obs = np.repeat(obs, 200, axis=0)
    mask = np.ones((obs.shape[0], 5), dtype=bool)
    nav = make_policy(name, {}, 0.0, "cpu")
    assert isinstance(nav, SampledPolicy) and nav.name == name
    assert nav.temperature == DEPLOY_TEMPERATURE
    greedy = make_navigator(greedy_name, device="cpu")
    nav.reset(1)
    actions, prefs = nav.act(None, obs, mask)
    g_actions, g_prefs = greedy.act(None, obs, mask)
    np.testing.assert_array_equal(prefs, g_prefs)
    assert (actions != g_actions).any() and (actions == g_actions).mean() > 0.3


def test_the_evaluation_hands_cql_sampled_the_given_cql_checkpoint(tmp_path: Path) -> None:
    import shutil

    from agents.evaluate import make_policy

    for suffix in (".json", ".safetensors"):
        shutil.copy(INIT.with_suffix(suffix), tmp_path / f"mine{suffix}")
    other = make_policy("cql_sampled", {"cql": str(tmp_path / "mine.json")}, 0.0, "cpu")
    assert "mine" in str(other.base.scorer.source)


def test_behavior_navigator_is_the_epsilon_greedy_rule_based_fleet() -> None:
    """``behavior`` (a policy of ``warehouse run``) is the datasets' behaviour fleet: the
    rule-based move, replaced by a random allowed one with probability 0.1, reproducible per seed,
    and it takes no checkpoint."""
    from agents.dataset import EpsilonGreedyNavigator
    from agents.registry import BEHAVIOR_EPSILON, CHECKPOINT_NAVIGATORS
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.core.observe import Observer

    nav = make_navigator("behavior")
    assert isinstance(nav, EpsilonGreedyNavigator) and nav.epsilon == BEHAVIOR_EPSILON == 0.1
    assert "behavior" not in CHECKPOINT_NAVIGATORS
    sc, src = load_scenario("medium")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=1)
    for _ in range(5):
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    obs, mask = Observer(sim, None)(), sim.action_mask()
    rule = make_navigator("rule_based")
    rule.reset(3)
    want, _ = rule.act(sim, obs, mask)
    draws = []
    for _ in range(2):
        nav.reset(3)
        got, _ = nav.act(sim, obs, mask)
        draws.append(got)
        assert mask[np.arange(len(got)), got].all()
    np.testing.assert_array_equal(draws[0], draws[1])
    share = (draws[0] != want).mean()
    assert 0.0 < share < 0.2  # about ε minus the random draws that pick the rule's move


def test_cli_exits_3_when_the_collision_guard_pauses(tmp_path: Path, monkeypatch, capsys) -> None:
    """A paused fine-tuning run ends with exit code 3 (not 0, not an error's 2) and says why and
    how to go on; the guard's own decision is tested above (``collision_pause_reason``)."""
    import agents.finetune
    from agents.finetune import FinetuneResult

    reason = "collisions 3.00 per 1k robot-steps exceed the limit 1"
    monkeypatch.setattr(
        agents.finetune,
        "finetune",
        lambda cfg, out, **kw: FinetuneResult(iteration=2, paused=reason, model=None),
    )
    argv = ["train-navigator", "--algo", "ppo", "--init", str(DEFAULT_WEIGHTS / "cql.json")]
    argv += ["--steps", "5", "--out", str(tmp_path / "r"), "--scenarios", "tiny", "--no-progress"]
    code, _, err = run_cli(argv, capsys)
    assert code == 3, err
    assert f"training paused: {reason}" in err and "continue with --resume" in err
