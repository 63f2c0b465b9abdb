"""One-shot episodes that end when solved (``episode.stop_when_solved``) through the learning
loops: offline collection and loading (a true ``terminated`` step, then no further step), CQL's
Bellman target at ``terminated`` and ``truncated``, PPO fine-tuning's rollouts and GAE, the
worked actor-critic example on the env's array API, and the evaluations (KPIs over the steps
run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

from agents.dataset import MANIFEST, CollectConfig, collect, load_dataset, load_datasets

torch.set_num_threads(1)  # tiny tensors: extra threads only contend on a shared machine

#: a 5 × 6 MovingAI map with six obstacles: rows 0, 2 and 4 are open lanes
OPEN = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
#: robot 0 drives 4 steps east, robot 1 starts on its goal, robot 2 drives 3 steps west: the
#: rule-based fleet solves it after step 4 (tests/test_one_shot_episode.py)
STARTS = [[0, 0], [2, 2], [4, 5]]
GOALS = [[0, 4], [2, 2], [4, 2]]
SOLVED_AT = 4


def _scenario(folder: Path, *, stop: bool = True, steps: int = 20) -> Path:
    """The three-robot one-shot instance above (rule-based navigator, greedy dispatcher)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.map").write_text(OPEN)
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {json.dumps(STARTS)}}}\n"
        f"tasks: {{mode: goal_visit, goals: {json.dumps(GOALS)}, assignment: one_shot}}\n"
        f"episode: {{steps: {steps}, seeds: [0, 1], stop_when_solved: {str(stop).lower()}}}\n"
        "policies: {dispatcher: greedy, navigator: rule_based}\n"
    )
    return path


# --- offline datasets -------------------------------------------------------------------------


def test_collection_ends_an_episode_solved_with_a_terminated_step(tmp_path: Path) -> None:
    """Two episodes of the instance: each logs the 4 steps up to the solve, the last one
    ``terminated`` (not ``truncated``: the limit is 20), and nothing after; the loader takes it
    and its manifest says why. Without the setting, the episodes run the 20 steps, lifelong-like
    (no terminal, no manifest key)."""
    sc = _scenario(tmp_path)
    cfg = CollectConfig(targets=(str(sc),), episodes=2, epsilon=0.0)
    man = collect(cfg, tmp_path / "d")
    n = len(STARTS)
    assert man["n_transitions"] == 2 * SOLVED_AT * n and man["stop_when_solved"] == [True]
    d = load_dataset(tmp_path / "d")
    last = np.repeat([False] * (SOLVED_AT - 1) + [True], n)
    np.testing.assert_array_equal(d.terminated, np.tile(last, 2))
    assert not d.truncated.any()
    # within an episode, next_obs of step t is obs of step t + 1 (one episode after the other)
    obs, nxt = d.obs.reshape(2, SOLVED_AT, n, -1), d.next_obs.reshape(2, SOLVED_AT, n, -1)
    np.testing.assert_array_equal(nxt[:, :-1], obs[:, 1:])

    plain = _scenario(tmp_path / "plain", stop=False)
    man = collect(CollectConfig(targets=(str(plain),), episodes=1, epsilon=0.0), tmp_path / "p")
    assert man["n_transitions"] == 20 * n and "stop_when_solved" not in man
    d = load_dataset(tmp_path / "p")
    assert not d.terminated.any() and d.truncated.sum() == n


def test_collection_solved_at_the_limit_is_terminated_and_truncated(tmp_path: Path) -> None:
    sc = _scenario(tmp_path, steps=SOLVED_AT)
    collect(CollectConfig(targets=(str(sc),), episodes=1, epsilon=0.0), tmp_path / "d")
    d = load_dataset(tmp_path / "d")
    assert len(d) == SOLVED_AT * len(STARTS)
    np.testing.assert_array_equal(d.terminated, d.truncated)
    assert d.terminated.sum() == len(STARTS)


def test_a_terminated_row_is_refused_unless_the_manifest_says_episodes_end_solved(
    tmp_path: Path,
) -> None:
    """A lifelong dataset with a terminated row is still refused (CQL would silently stop
    bootstrapping there); a manifest whose ``stop_when_solved`` is not a list of bools too; in a
    union, each folder is judged by its own manifest."""
    from warehouse.errors import InputError

    sc = _scenario(tmp_path)
    collect(CollectConfig(targets=(str(sc),), episodes=1, epsilon=0.0), tmp_path / "d")
    path = tmp_path / "d" / MANIFEST
    man = json.loads(path.read_text())
    man["stop_when_solved"] = "yes"
    path.write_text(json.dumps(man))
    with pytest.raises(InputError, match="stop_when_solved") as err:
        load_dataset(tmp_path / "d")
    assert err.value.field == "stop_when_solved"
    del man["stop_when_solved"]
    path.write_text(json.dumps(man))
    with pytest.raises(InputError, match="must be false: the warehouse is lifelong") as err:
        load_dataset(tmp_path / "d")
    assert err.value.field == "terminated"
    man["stop_when_solved"] = [True]
    path.write_text(json.dumps(man))
    plain = _scenario(tmp_path / "plain", stop=False)
    collect(CollectConfig(targets=(str(plain),), episodes=1, steps=3, epsilon=0.0), tmp_path / "p")
    both = load_datasets([tmp_path / "p", tmp_path / "d"])
    assert both.terminated.sum() == len(STARTS) and not both.terminated[: 3 * len(STARTS)].any()


def test_cql_target_stops_bootstrapping_at_terminated_and_bootstraps_at_truncated() -> None:
    """Hand-built rows: (terminated, truncated) = (T, T), (F, T), (T, F), (F, F). With online
    Q = 0 and every target Q = 3 over allowed next actions, y = κr + γ(1 − d)·3: a truncated row
    bootstraps, a terminated one does not, whatever its truncated flag."""
    from agents.cql import CQLConfig, cql_loss
    from agents.networks import Batch

    reward = torch.tensor([10.0, 20.0, -10.0, 0.0])
    terminated = torch.tensor([True, False, True, False])
    batch = Batch(
        obs=torch.zeros(4, 1),
        action=torch.zeros(4, dtype=torch.int64),
        reward=reward,
        next_obs=torch.zeros(4, 1),
        terminated=terminated,
        mask=torch.ones(4, 5, dtype=torch.bool),
        next_mask=torch.ones(4, 5, dtype=torch.bool),
    )
    cfg = CQLConfig(alpha=0.0, gamma=0.5, reward_scale=0.1)
    _, rec = cql_loss(torch.zeros(4, 2, 5), torch.full((4, 2, 5), 3.0), batch, cfg)
    y = [1.0, 2.0 + 1.5, -1.0, 1.5]
    assert rec.td_loss == pytest.approx(float(np.mean(np.square(y))), abs=1e-6)


def test_training_batches_carry_the_terminated_rows_of_a_one_shot_dataset(tmp_path: Path) -> None:
    """The sampler hands the dataset's ``terminated`` flags to the loss (row by row)."""
    from agents.train import Sampler

    sc = _scenario(tmp_path)
    collect(CollectConfig(targets=(str(sc),), episodes=1, epsilon=0.0), tmp_path / "d")
    d = load_dataset(tmp_path / "d")
    sampler = Sampler(d, 64, 0, torch.device("cpu"))
    state = sampler.state()
    batch = sampler.sample()
    sampler.set_state(dict(state))
    idx, _ = sampler.draw()
    np.testing.assert_array_equal(batch.terminated.numpy(), d.terminated[idx])
    assert batch.terminated.any() and not batch.terminated.all()


def test_train_navigator_cql_runs_on_a_one_shot_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = _scenario(tmp_path)
    collect(CollectConfig(targets=(str(sc),), episodes=1, epsilon=0.0), tmp_path / "d")
    argv = ["train-navigator", "--algo", "cql", "--data", str(tmp_path / "d"), "--steps", "2"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "cql")], capsys)
    assert code == 0, err
    assert (tmp_path / "cql" / "model.json").is_file()


# --- online fine-tuning (PPO) -----------------------------------------------------------------


def _one_cell(folder: Path) -> Path:
    """One robot on a 1 × 1 floor, standing on its goal: every episode is solved after its
    first step (whatever the policy samples: WAIT is the only move)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "one.map").write_text("type octile\nheight 1\nwidth 1\nmap\n.\n")
    path = folder / "one.yaml"
    path.write_text(
        "layout: {type: file, path: one.map}\n"
        "fleet: {start_cells: [[0, 0]]}\n"
        "tasks: {mode: goal_visit, goals: [[0, 0]], assignment: one_shot}\n"
        "episode: {steps: 20, seeds: [0], stop_when_solved: true}\n"
    )
    return path


def test_episodes_gae_hand_values_at_a_terminal_and_a_cut() -> None:
    """T = 4, one robot, γ = .9, λ = .5: episode 1 is rows 0-1 and terminates (no bootstrap),
    episode 2 is rows 2-3, cut by time, bootstrapped from V = 2. Nothing crosses the end."""
    from agents.finetune_ppo import episodes_gae, gae

    r = np.array([[1.0], [0.0], [2.0], [1.0]])
    v = np.array([[0.5], [0.2], [1.0], [0.4]])
    adv, ret = episodes_gae(r, v, [(2, None), (4, np.array([2.0]))], 0.9, 0.5)
    d1 = 0.0 + 0.9 * 0.0 - 0.2  # terminal: V(s_2) of episode 1 is 0, not v[2]
    d0 = 1.0 + 0.9 * 0.2 - 0.5
    d3 = 1.0 + 0.9 * 2.0 - 0.4
    d2 = 2.0 + 0.9 * 0.4 - 1.0
    expect = [d0 + 0.45 * d1, d1, d2 + 0.45 * d3, d3]
    np.testing.assert_allclose(adv[:, 0], expect)
    np.testing.assert_allclose(ret[:, 0], np.array(expect) + v[:, 0])
    # one episode cut by time (every lifelong rollout) is plain GAE, bit for bit
    rng = np.random.default_rng(0)
    r, v, last = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=3)
    pairs = zip(episodes_gae(r, v, [(5, last)], 0.97, 0.9), gae(r, v, last, 0.97, 0.9), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    with pytest.raises(ValueError, match="last episode"):
        episodes_gae(r, v, [(3, None)], 0.97, 0.9)


def _recorded_rollout(
    monkeypatch: pytest.MonkeyPatch, scenario: Path, steps: int
) -> tuple[list, list[int], object]:
    """One PPO rollout of ``steps`` steps on ``scenario``: the episode ends handed to GAE, the
    seeds the fleet was reset with, and the samples."""
    import agents.finetune as ft
    from agents.finetune_ppo import FinetuneConfig
    from agents.learned import DEFAULT_WEIGHTS
    from warehouse.fleet import Fleet

    ends: list = []
    seeds: list[int] = []
    real_gae, real_reset = ft.episodes_gae, Fleet.reset

    def record_gae(rewards, values, e, gamma, lam):  # type: ignore[no-untyped-def]
        ends.extend((stop, None if last is None else last.copy()) for stop, last in e)
        return real_gae(rewards, values, e, gamma, lam)

    def record_reset(self, seed):  # type: ignore[no-untyped-def]
        seeds.append(seed)
        return real_reset(self, seed)

    monkeypatch.setattr(ft, "episodes_gae", record_gae)
    monkeypatch.setattr(Fleet, "reset", record_reset)
    cfg = FinetuneConfig(scenarios=(str(scenario),), rollout_steps=steps, collision_rise=None)
    actor, _, observation = ft.load_init(DEFAULT_WEIGHTS / "cql.json")
    from agents.finetune_ppo import make_critic

    floors = ft.Floors(cfg, actor, make_critic(actor), observation)
    samples, _ = ft.rollout(floors, cfg, 3)
    return ends, seeds, (samples, floors)


def test_ppo_rollout_ends_a_solved_episode_without_bootstrap_and_starts_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every episode on the one-cell floor is solved after one step: the 4-step rollout is four
    terminal episodes (advantage r − V, no bootstrap), each reset on its own seed of the
    iteration."""
    from agents.finetune import episode_seed, iteration_seed

    ends, seeds, (samples, _) = _recorded_rollout(monkeypatch, _one_cell(tmp_path), 4)
    assert ends == [(1, None), (2, None), (3, None), (4, None)]
    assert seeds == [episode_seed(0, 3, 0, k) for k in range(4)]
    assert seeds[0] == iteration_seed(0, 3, 10) and len(set(seeds)) == 4
    # no bootstrap: each step's return is its own reward, the arrival (0.01 × 100), whatever V
    np.testing.assert_allclose(samples.returns.numpy(), np.ones(4), rtol=1e-6)
    assert (samples.values != 0).all()
    np.testing.assert_allclose(samples.advantages, samples.returns - samples.values, rtol=1e-6)


def test_ppo_rollout_cuts_a_one_shot_episode_at_its_limit_and_bootstraps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``episode.steps: 3`` on the three-robot instance (robot 0 needs 4 steps: never solved in
    3): a 7-step rollout is episodes of 3, 3 and 1 steps, each bootstrapped, the fleet reset
    after steps 3 and 6 (the env's truncation)."""
    from agents.finetune import episode_seed

    ends, seeds, (_, floors) = _recorded_rollout(monkeypatch, _scenario(tmp_path, steps=3), 7)
    assert [stop for stop, _ in ends] == [3, 6, 7]
    assert all(last is not None and last.shape == (3,) for _, last in ends)
    assert seeds == [episode_seed(0, 3, 0, k) for k in range(3)]
    assert floors.fleets[0].sim.t == 1  # (the third episode's one step)


# --- the worked actor-critic example (agents/scratch_a2c.py) ----------------------------------


def test_scratch_a2c_ends_a_solved_episode_there_without_bootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the one-cell floor every episode is solved after its first step: each update's
    episode and the held-out one take that one step (not the 5 of ``steps``), and the returns
    start from 0, not from V of the solved state; the log says how many steps ran."""
    import agents.scratch_a2c as a2c

    bootstraps: list[torch.Tensor] = []
    real = a2c.discounted_returns

    def record(rewards, bootstrap, gamma):  # type: ignore[no-untyped-def]
        bootstraps.append(bootstrap.clone())
        return real(rewards, bootstrap, gamma)

    monkeypatch.setattr(a2c, "discounted_returns", record)
    lines: list[str] = []
    out = a2c.train(str(_one_cell(tmp_path)), updates=2, steps=5, log=lines.append)
    assert {k: out[k] for k in ("deliveries", "held_out", "solved", "steps")} == {
        "deliveries": [1, 1],
        "held_out": 1,
        "solved": [True, True],
        "steps": [1, 1],
    }
    assert [b.tolist() for b in bootstraps] == [[0.0], [0.0]]
    assert lines[-1] == "held-out seed: 1 deliveries in 1 steps  solved 1  on_goal 1.00"


def test_discounted_returns_by_hand() -> None:
    from agents.scratch_a2c import discounted_returns

    assert discounted_returns([1.0, 2.0], 10.0, 0.5) == [1.0 + 0.5 * (2.0 + 5.0), 2.0 + 5.0]
    assert discounted_returns([1.0, 2.0], 0.0, 0.5) == [2.0, 2.0]


def test_the_env_is_not_terminated_before_the_first_step(tmp_path: Path) -> None:
    """Robots that all start on their goals: the dict API ends the episode after its first
    step (as ``warehouse run``: steps 1), so the array API's ``terminated`` is False right after
    the reset (a loop ``while not env.terminated`` takes that step) and True after it."""
    import warehouse

    env = warehouse.make_env(str(_one_cell(tmp_path)))
    env.reset_arrays(seed=0)
    assert env.sim.solved() is True and not env.terminated
    env.step_arrays(np.zeros(1, dtype=np.int64))
    assert env.terminated and not env.truncated


# --- evaluations: a run stopped when solved, KPIs over the steps run ---------------------------


def _check_stopped(kpis: dict, steps: int = SOLVED_AT) -> None:
    """KPIs of a run that stopped after ``steps`` steps: every rate over those steps."""
    assert kpis["steps"] == steps and kpis["solved"] == 1 and kpis["makespan"] == steps
    assert kpis["throughput_per_step"] == pytest.approx(kpis["deliveries"] / steps)


def test_navigator_evaluations_stop_a_one_shot_run_when_solved(tmp_path: Path) -> None:
    """``agents.evaluate``, the offline trainer's evaluation, fine-tuning's greedy evaluation,
    ``agents.finetune_eval`` and the dispatcher evaluation each run the instance (limit 20)
    until it is solved after step 4, as ``warehouse run`` does; without the setting, 20 steps."""
    from agents import evaluate as nav_eval
    from agents import finetune_eval, train
    from agents.finetune import evaluate_greedy, load_init
    from agents.finetune_ppo import FinetuneConfig
    from agents.learned import DEFAULT_WEIGHTS
    from agents.registry import make_navigator
    from hierarchy.evaluate import run_recorded

    sc, plain = str(_scenario(tmp_path)), str(_scenario(tmp_path / "plain", stop=False))
    rule = make_navigator("rule_based")
    _check_stopped(nav_eval.run_one(sc, 0, 20, "physical", rule))
    assert nav_eval.run_one(plain, 0, 20, "physical", rule)["steps"] == 20
    _check_stopped(finetune_eval.run_one(sc, 0, 20, "physical", make_navigator("rule_based")))
    _check_stopped(run_recorded(sc, "greedy", "rule_based", "physical", 0, 20)[0])
    # the shipped network: solved or not, a run ends at its solve or at the limit
    net, _, observation = load_init(DEFAULT_WEIGHTS / "cql.json")
    cfg = FinetuneConfig(eval_scenario=sc, eval_steps=20, eval_seed=0)
    for kpis in (train.evaluate(net, sc, 20, 0), evaluate_greedy(net, observation, cfg)):
        assert kpis["steps"] == (kpis["makespan"] if kpis["solved"] else 20)
