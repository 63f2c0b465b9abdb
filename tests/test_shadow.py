"""Shadow mode: the candidate never touches the floor; agreement and reports are right."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents import make_navigator
from hierarchy import make_dispatcher
from hierarchy.shadow import decide_without_mutation, policy_parts, run_shadow
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.cli.main import main
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis


def _sim() -> Simulation:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"collisions": "pibt", "arrival_rate": 0.6}, src)
    return Simulation(build_floor(sc, src), sc.sim_config())


@pytest.mark.parametrize("name", ["greedy", "fifo", "hungarian"])
def test_decide_without_mutation_leaves_the_simulation_alone(name: str) -> None:
    sim = _sim()
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.reset(2)
    fleet.run(8)
    before = {k: v.copy() for k, v in vars(sim.state).items()}
    open_before = sim.open_orders().copy()
    robots, orders = decide_without_mutation(make_dispatcher(name), sim)
    assert robots.size > 0 and robots.size == orders.size
    for key, value in before.items():
        assert np.array_equal(value, getattr(sim.state, key)), key
    assert np.array_equal(open_before, sim.open_orders())
    assert np.isin(orders, open_before).all() and np.isin(robots, sim.idle_robots()).all()
    # The same dispatcher on the real floor does exactly what it said.
    d = make_dispatcher(name)
    d.dispatch(sim)
    assert np.array_equal(sim.state.order[robots], orders)


def test_shadow_does_not_change_the_incumbent_run() -> None:
    plain = _sim()
    fleet = Fleet(plain, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(4)
    fleet.run(120)
    shadowed = _sim()
    log = run_shadow(
        shadowed,
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        (make_dispatcher("hungarian"), make_navigator("random")),
        steps=120,
        seed=4,
    )
    assert compute_kpis(plain) == compute_kpis(shadowed)
    assert np.array_equal(plain.state.pos, shadowed.state.pos)
    s = log.summary()
    assert s["navigation"]["decisions"] > 0 and s["navigation"]["agreement"] < 0.9


def test_identical_policies_agree_everywhere() -> None:
    log = run_shadow(
        _sim(),
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        steps=100,
        seed=1,
    )
    s = log.summary()
    assert s["dispatch"]["decisions"] > 0 and s["dispatch"]["agreement"] == 1.0
    assert s["navigation"]["agreement"] == 1.0 and not log.rows


def test_a_ppo_candidate_decides_only_when_its_clock_is_due() -> None:
    """The PPO dispatcher decides at events or every K steps. Shadowed against itself it must
    agree on every robot; asked at every step it once assigned robots it had left waiting."""
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"collisions": "pibt"}, src)
    for seed in (0, 1, 2):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        log = run_shadow(
            sim,
            (make_dispatcher("ppo"), make_navigator("rule_based")),
            (make_dispatcher("ppo"), make_navigator("rule_based")),
            steps=200,
            seed=seed,
        )
        d = log.summary()["dispatch"]
        assert d["decisions"] > 0 and d["agreement"] == 1.0, seed
        assert d["assignments"] > 0 and d["assignment_agreement"] == 1.0, seed


def test_assignment_agreement_counts_only_robots_given_an_order() -> None:
    log = run_shadow(
        _sim(),
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        (make_dispatcher("hungarian"), make_navigator("rule_based")),
        steps=150,
        seed=2,
    )
    d = log.summary()["dispatch"]
    diverged = sum(1 for r in log.rows if r[1] == "dispatch")
    assert diverged > 0 and d["assignments"] - log.assignments_agree == diverged
    assert d["assignments"] < d["decisions"]  # most idle robots are left idle by both sides
    assert d["assignment_agreement"] < d["agreement"]


def test_a_sampling_candidate_navigator_margin_is_taken_at_its_temperature() -> None:
    """A navigator sampling softmax(scores / T) is that sure of its move: with scores 0 and
    ln 3 the margin is 0.5 at T = 1 and 0.8 at T = 0.5."""

    class Sampler:
        needs_observation = False
        name = "sampler"

        def __init__(self, temperature: float) -> None:
            self.temperature = temperature

        def reset(self, seed: int | None) -> None:
            pass

        def act(self, sim: Simulation, obs: object, mask: np.ndarray) -> tuple:
            prefs = np.full(mask.shape, -np.inf)
            prefs[:, 0], prefs[:, 1] = 0.0, np.log(3.0)
            return np.zeros(mask.shape[0], np.int64), prefs

    for temperature, margin in ((1.0, 0.5), (0.5, 0.8)):
        log = run_shadow(
            _sim(),
            (make_dispatcher("greedy"), make_navigator("rule_based")),
            (make_dispatcher("greedy"), Sampler(temperature)),
            steps=40,
            seed=0,
        )
        assert log.nav_margin and np.allclose(log.nav_margin, margin)


def test_a_wrapped_learned_candidate_keeps_its_confidence_and_the_floor_is_untouched() -> None:
    """A candidate with task swaps or a starvation guard around the PPO network: its margins
    still come from the network, and trading orders on the shadow copy never reaches the
    floor the incumbent drives."""
    from hierarchy.guard import AgeGuard
    from hierarchy.swaps import TaskSwaps

    plain = _sim()
    fleet = Fleet(plain, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(3)
    fleet.run(120)
    for wrap in (lambda d: TaskSwaps(d), lambda d: AgeGuard(d, 30.0)):
        shadowed = _sim()
        log = run_shadow(
            shadowed,
            (make_dispatcher("greedy"), make_navigator("rule_based")),
            (wrap(make_dispatcher("ppo")), make_navigator("rule_based")),
            steps=120,
            seed=3,
        )
        assert compute_kpis(plain) == compute_kpis(shadowed)
        s = log.summary()
        assert s["dispatch"]["decisions"] > 0 and len(log.dispatch_margin) > 0
        assert all(0.0 <= m <= 1.0 for m in log.dispatch_margin)


def test_policy_parts() -> None:
    sc, _ = load_scenario("tiny")
    assert policy_parts("hungarian+random", sc) == ("hungarian", "random", None)
    disp, nav, shield = policy_parts("hierarchical", sc)
    # the shipped weights load here, so the hierarchy gets its fine-tuned navigator
    assert (disp, nav, shield) == ("ppo", "cql_tuned", "pibt")


def test_candidate_navigator_proposes_for_its_own_shield() -> None:
    from hierarchy.shadow import candidate_navigator

    assert candidate_navigator("cql_tuned", "physical").name == "cql_physical"
    pibt = candidate_navigator("cql_tuned", "pibt")
    assert pibt.name == "cql" and pibt.scorer.source.name == "cql_pibt.json"
    assert candidate_navigator("cql_tuned", None).name == "cql_tuned"  # no mode: it decides
    assert candidate_navigator("rule_based", "pibt").name == "rule_based"


def test_shadow_cli_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "sh"
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "tiny", "--candidate", "hungarian+rule_based", "--incumbent",
              "rule_based", "--steps", "80", "--out", str(out)])  # fmt: skip
    assert exc.value.code in (0, None)
    summary = json.loads((out / "shadow.json").read_text())
    assert summary["candidate"]["dispatcher"] == "hungarian"
    assert (out / "divergence.png").read_bytes()[:4] == b"\x89PNG"
    lines = (out / "divergences.csv").read_text().splitlines()
    assert lines[0].startswith("step,kind,robot")
    rows = [line.split(",") for line in lines[1:]]
    # one CSV row per robot-decision on which the two sides differ: the agreement is the rest
    d = summary["dispatch"]
    dispatch_rows = [r for r in rows if r[1] == "dispatch"]
    assert d["decisions"] > 0 and 0 < len(dispatch_rows) < d["decisions"]
    assert d["agreement"] == pytest.approx(1 - len(dispatch_rows) / d["decisions"])
    assert d["first_divergence_step"] == int(dispatch_rows[0][0])
    # the same navigator on both sides never diverges
    assert summary["navigation"]["decisions"] > 0 and summary["navigation"]["agreement"] == 1.0
    assert all(r[1] == "dispatch" for r in rows)


def test_shadow_learned_candidate_observes_in_its_own_layout(tmp_path: Path) -> None:
    """The shipped CQL reads the intent layout while the scenario's is the base one: the shadow
    must build the candidate's observations itself (it used to fail with a width mismatch)."""
    out = tmp_path / "sh"
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "tiny", "--candidate", "hierarchical", "--incumbent", "rule_based",
              "--steps", "30", "--out", str(out)])  # fmt: skip
    assert exc.value.code in (0, None)
    summary = json.loads((out / "shadow.json").read_text())
    assert summary["navigation"]["decisions"] > 0
    assert 0.0 < summary["navigation"]["agreement"] <= 1.0


def _shadow(out: Path, *extra: str) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "tiny", "--candidate", "ppo+rule_based", "--incumbent", "ppo+rule_based",
              "--steps", "200", "--out", str(out), *extra])  # fmt: skip
    assert exc.value.code in (0, None)
    return json.loads((out / "shadow.json").read_text())


def test_shadow_compares_two_checkpoints_of_one_dispatcher(tmp_path: Path) -> None:
    """--candidate-set gives the candidate alone its checkpoint: the same shipped dispatcher on
    both sides agrees everywhere, a newly trained one does not, and the report says which ran."""
    from hierarchy.train import TrainConfig, train

    policy = tmp_path / "run" / "policy.json"
    cfg = TrainConfig(total_steps=240, n_envs=2, horizon=60, hidden=8, imitation_episodes=1,
                      imitation_min_updates=0, eval_every=0)  # fmt: skip
    train(cfg, policy.parent, log_tensorboard=False)
    same = _shadow(tmp_path / "same")
    assert same["dispatch"]["decisions"] > 0 and same["dispatch"]["agreement"] == 1.0
    new = _shadow(tmp_path / "new", "--candidate-set", f"policies.dispatcher_checkpoint={policy}")
    assert new["dispatch"]["agreement"] < 1.0
    assert new["candidate"]["settings"]["policies.dispatcher_checkpoint"] == str(policy)
    assert new["incumbent"]["settings"]["policies.dispatcher_checkpoint"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--candidate-set", "fleet.robots=3"], "--candidate-set fleet.robots: only policies."),
        (["--incumbent", "rule_based", "--incumbent-set", "policies.dispatcher_checkpoint=x.json"],
         "--incumbent-set policies.dispatcher_checkpoint: the dispatcher 'greedy' of "
         "'rule_based' loads no checkpoint"),
        (["--candidate-set", "policies.order_pool=0"], "--candidate-set policies.order_pool: "),
        # a side's KEY=VALUE that does not parse names that side's option, not --set
        (["--candidate-set", "noequals"], "--candidate-set: expected KEY=VALUE"),
        (["--incumbent-set", "policies.order_pool=["], "--incumbent-set policies.order_pool: "),
        # --incumbent and --candidate pick the parts: a --set of them was silently ignored
        (["--set", "policies.navigator=random"], "--set policies.navigator: --incumbent and"),
        (["--set", "dispatcher=fifo"], "--set dispatcher: --incumbent and --candidate"),
        # a part argument the part refuses: one line naming the --set (it was a traceback)
        (["--set", "policies.navigator_args.rule_based.patience=-5"],
         "--set policies.navigator_args.rule_based.patience: expected a whole number"),
    ],
)  # fmt: skip
def test_shadow_side_settings_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "sh"
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "tiny", "--steps", "20", "--out", str(out), *extra])
    assert exc.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}")


class _Greedy:
    """Greedy that also draws from the simulation's order and fault streams (a plug-in breaking
    the rule that parts draw from their own generator)."""

    name = "rude"

    def reset(self, seed: int | None) -> None:
        self.inner = make_dispatcher("greedy")
        self.inner.reset(seed)
        self.nav = make_navigator("rule_based")
        self.nav.reset(seed)
        self.needs_observation = self.nav.needs_observation

    def dispatch(self, sim: Simulation) -> None:
        sim.rng_orders.random(3), sim.rng_faults.random(5)
        self.inner.dispatch(sim)

    def act(self, sim: Simulation, obs, mask):  # type: ignore[no-untyped-def]
        sim.rng_goals.integers(9, size=4), sim.rng_orders.poisson(2.0)
        return self.nav.act(sim, obs, mask)


def test_a_candidate_drawing_from_the_floor_s_generators_does_not_change_the_floor() -> None:
    def scenario() -> Simulation:
        sc, src = load_scenario("tiny")
        sc = apply_overrides(sc, {"collisions": "pibt", "faults.breakdown_prob": 0.02}, src)
        return Simulation(build_floor(sc, src), sc.sim_config())

    plain = scenario()
    fleet = Fleet(plain, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(5)
    fleet.run(150)
    shadowed = scenario()
    rude = _Greedy()
    rude.reset(5)
    run_shadow(
        shadowed,
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        (rude, rude),
        steps=150,
        seed=5,
    )
    assert compute_kpis(plain) == compute_kpis(shadowed)
    assert plain.orders.count == shadowed.orders.count
    assert plain.rng_states() == shadowed.rng_states()
    assert np.array_equal(plain.state.pos, shadowed.state.pos)


def test_a_shadow_folder_says_how_to_run_it_again(tmp_path: Path) -> None:
    """``shadow.json`` records the command, steps and fleet size, and ``scenario.yaml`` the
    floor's scenario with every ``--set`` applied: shadowing that file again gives the same
    agreement, decision by decision."""
    first, again = tmp_path / "first", tmp_path / "again"
    parts = ["--candidate", "hungarian+rule_based", "--incumbent", "rule_based", "--steps", "80"]
    argv = ["shadow", "tiny", *parts, "--set", "fleet.robots=5", "--set", "arrival_rate=0.5"]
    for args in ([*argv, "--out", str(first)], ["shadow", str(first / "scenario.yaml"), *parts,
                                                   "--out", str(again)]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code in (0, None)
    one, two = (json.loads((d / "shadow.json").read_text()) for d in (first, again))
    assert (
        one["command"].startswith("warehouse shadow tiny ") and "fleet.robots=5" in one["command"]
    )
    assert (one["steps"], one["robots"]) == (two["steps"], two["robots"]) == (80, 5)
    assert one["dispatch"]["decisions"] > 0
    for key in ("dispatch", "navigation"):
        assert one[key] == two[key]
    assert (first / "divergences.csv").read_bytes() == (again / "divergences.csv").read_bytes()
