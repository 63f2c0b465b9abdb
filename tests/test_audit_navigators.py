"""Audit of the navigation policies and batched inference: batched against row-by-row scores,
masks, devices, ensembles, the lane view, sampling, rule-based paths on directed floors and the
navigators' independence from the simulation's RNG."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

from agents import NAVIGATORS, make_navigator
from agents.batched import BatchedPolicy, NetworkScorer, pick_device
from agents.finetune_nav import SampledPolicy
from agents.lane_view import MIRROR, LaneView, north_south_lanes
from agents.networks import NavigatorNet, NetworkConfig
from hierarchy import make_dispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import ObservationConfig
from warehouse.core import Observer, Phase, Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "agents" / "weights"
#: the registered navigators that run a network
LEARNED = ["cql", "bc", "cql_pibt", "cql_physical", "cql_tuned", "cql_ft", "cql_sampled",
           "bc_sampled"]  # fmt: skip


def tiny(robots: int | None = None, **over: object) -> Simulation:
    sc, src = load_scenario("tiny")
    if robots is not None:
        over["fleet.robots"] = robots
    if over:
        sc = apply_overrides(sc, dict(over), src)
    return Simulation(build_floor(sc, src), sc.sim_config())


def greedy(nav: object) -> BatchedPolicy:
    """The :class:`BatchedPolicy` a navigator decides with (the greedy core of a sampled one)."""
    if hasattr(nav, "policy_for"):
        nav = nav.policy_for("block")  # type: ignore[attr-defined]
    return getattr(nav, "base", nav)  # type: ignore[return-value]


# ------------------------------------------------------------------ batched against row by row
@pytest.mark.parametrize("name", ["cql", "bc", "cql_pibt", "cql_physical"])
@pytest.mark.parametrize("robots", [1, 2, 40])
def test_batched_scores_are_the_row_by_row_scores(name: str, robots: int) -> None:
    """One forward pass for the fleet decides every robot as a pass of its own would: the same
    actions, -inf exactly where a row's own mask is False, and the same scores (bit for bit
    for a fleet of one; to float32 rounding for more: BLAS sums small batches in another
    order)."""
    policy = greedy(make_navigator(name, device="cpu"))
    cfg = policy.scorer.net.cfg  # type: ignore[attr-defined]
    rng = np.random.default_rng(robots)
    obs = rng.uniform(-1, 1, (robots, cfg.obs_dim)).astype(np.float32)
    mask = rng.random((robots, cfg.n_actions)) < 0.6
    mask[:, 0] = True
    actions, prefs = policy.act(None, obs, mask)
    prefs = prefs.copy()
    rows = [policy.act(None, obs[i : i + 1], mask[i : i + 1]) for i in range(robots)]
    row_actions = np.concatenate([a for a, _ in rows])
    row_prefs = np.concatenate([p for _, p in rows])
    np.testing.assert_array_equal(actions, row_actions)
    np.testing.assert_array_equal(np.isneginf(prefs), ~mask)
    np.testing.assert_array_equal(np.isneginf(row_prefs), ~mask)
    if robots == 1:
        np.testing.assert_array_equal(prefs, row_prefs)
    np.testing.assert_allclose(prefs[mask], row_prefs[mask], rtol=1e-5, atol=1e-4)
    assert actions.dtype == np.int64 and mask[np.arange(robots), actions].all()


@pytest.mark.parametrize("name", LEARNED)
@pytest.mark.parametrize("robots", [1, 2, 17])
def test_a_wait_only_mask_gives_wait_and_minus_inf_elsewhere(name: str, robots: int) -> None:
    nav = make_navigator(name, device="cpu")
    nav.reset(0)
    cfg = greedy(nav).scorer.net.cfg  # type: ignore[attr-defined]
    obs = np.random.default_rng(1).uniform(-1, 1, (robots, cfg.obs_dim)).astype(np.float32)
    mask = np.zeros((robots, cfg.n_actions), dtype=bool)
    mask[:, 0] = True
    for _ in range(3):  # a sampled navigator draws anew each call
        actions, prefs = nav.act(None, obs, mask)
        assert (actions == 0).all()
        assert np.isneginf(prefs[:, 1:]).all() and np.isfinite(prefs[:, 0]).all()


@pytest.mark.parametrize("name", ["cql_sampled", "bc_sampled", "cql_physical", "cql_ft"])
def test_sampled_navigators_never_choose_a_masked_action(name: str) -> None:
    nav = make_navigator(name, device="cpu")
    nav.reset(3)
    cfg = greedy(nav).scorer.net.cfg  # type: ignore[attr-defined]
    rng = np.random.default_rng(4)
    obs = rng.uniform(-1, 1, (500, cfg.obs_dim)).astype(np.float32)
    mask = rng.random((500, cfg.n_actions)) < 0.4
    mask[:, 0] = rng.random(500) < 0.5
    mask[~mask.any(axis=1), 2] = True  # some rows cannot wait: one move is allowed
    chosen = np.zeros_like(mask)
    for _ in range(20):
        actions, _ = nav.act(None, obs, mask)
        assert mask[np.arange(500), actions].all()
        chosen[np.arange(500), actions] = True
    assert (chosen.sum(axis=1) > 1).any()  # it does sample


# ------------------------------------------------------------------------------- observations
def test_observation_dtype_and_layout_do_not_change_the_decision() -> None:
    policy = greedy(make_navigator("cql", device="cpu"))
    cfg = policy.scorer.net.cfg  # type: ignore[attr-defined]
    rng = np.random.default_rng(2)
    obs = rng.uniform(-1, 1, (30, cfg.obs_dim)).astype(np.float16).astype(np.float32)
    mask = rng.random((30, 5)) < 0.7
    mask[:, 0] = True
    want_a, want_p = (x.copy() for x in policy.act(None, obs, mask))
    variants = [
        obs.astype(np.float16),  # as the datasets store them
        obs.astype(np.float64),
        np.asfortranarray(obs),
        np.concatenate([obs, obs], axis=1)[:, : cfg.obs_dim],  # a strided view
    ]
    for x in variants:
        a, p = policy.act(None, x, mask.astype(np.int8))  # a dataset's int8 mask too
        np.testing.assert_array_equal(a, want_a)
        np.testing.assert_array_equal(p, want_p)
    with pytest.raises(InputError, match="observation"):
        policy.act(None, obs[:, :-1], mask)


# ------------------------------------------------------------------------------------ devices
def test_the_cpu_is_the_fallback_and_devices_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device(None) == pick_device("auto") == torch.device("cpu")
    assert pick_device("cpu") == pick_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(InputError, match=r"^device: .*no CUDA device"):
        pick_device("cuda")
    with pytest.raises(InputError, match=r"^--device: .*no CUDA device"):
        pick_device("cuda:0", field="--device")
    for bad in ("gpu", "", "cuda:x", "meta", 3):
        with pytest.raises(InputError, match=r"^device: expected cpu, cuda, cuda:N or auto"):
            pick_device(bad)  # type: ignore[arg-type]
    assert make_navigator("cql").device == torch.device("cpu")  # auto: the CPU here
    with pytest.raises(InputError, match="device"):
        make_navigator("cql", device="cuda")
    with pytest.raises(InputError, match="device"):
        make_navigator("cql_tuned", device="gpu")


def test_the_benchmark_script_says_no_cuda_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from agents import batched

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for argv, expected in (
        (["--device", "cuda"], "error: --device: "),
        (["--device", "gpu"], "error: --device: expected cpu, cuda"),
        (["--checkpoint", str(tmp_path / "none.json")], "error: "),
    ):
        with pytest.raises(SystemExit) as exc:
            batched.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith(expected), err
        assert "Traceback" not in err


def test_the_evaluation_script_checks_its_device_for_every_navigator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agents import evaluate

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "gpu"):
        with pytest.raises(SystemExit) as exc:
            evaluate.main(["--scenarios", "tiny", "--seeds", "0", "--steps", "2",
                           "--policies", "rule_based", "--device", device])  # fmt: skip
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --device: ") and len(err.strip().splitlines()) == 1
    import agents.registry as registry

    seen: list[tuple[str, object]] = []

    def spy(name: str, **kwargs: object) -> object:
        seen.append((name, kwargs.get("device")))
        return NAVIGATORS["rule_based"]()

    monkeypatch.setattr(registry, "make_navigator", spy)
    for name in ("cql", "cql_pibt", "cql_physical", "cql_tuned", "cql_ft"):
        evaluate.make_policy(name, {}, 0.1, "cpu")
    assert seen and all(device == "cpu" for _, device in seen), seen


# ---------------------------------------------------------------------------------- ensembles
def test_an_ensemble_scores_the_mean_of_its_members_logits_and_q_values() -> None:
    for heads in (1, 2):  # BC logits, CQL double-Q
        torch.manual_seed(heads)
        net = NavigatorNet(NetworkConfig(radius=2, heads=heads, window_dim=8, hidden=(8,),
                                         members=3))  # fmt: skip
        x = torch.rand(9, net.cfg.obs_dim) * 2 - 1
        with torch.no_grad():
            each = torch.stack([m(x).mean(dim=1) for m in net.members])  # type: ignore[union-attr]
            scores = BatchedPolicy(NetworkScorer(net, device="cpu"), name="e").act(
                None, x.numpy(), np.ones((9, 5), dtype=bool)
            )[1]
        np.testing.assert_allclose(scores, each.mean(dim=0).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("other", [{"radius": 3}, {"intent": True}])
def test_an_ensemble_refuses_members_that_read_other_observations(
    tmp_path: Path, other: dict[str, object]
) -> None:
    from dataclasses import replace

    from agents.checkpoint import save_checkpoint
    from agents.cql import CQL, CQLConfig
    from agents.ensemble import build_ensemble

    net = NetworkConfig(radius=2, heads=2, window_dim=8, hidden=(8,))
    a = save_checkpoint(tmp_path / "a", CQL(CQLConfig(network=net)), step=0, training=False)
    b = save_checkpoint(tmp_path / "b", CQL(CQLConfig(network=replace(net, **other))), step=0,
                        training=False)  # fmt: skip
    with pytest.raises(InputError, match=r"b\.json: config\.network"):
        build_ensemble([f"{a}.json", f"{b}.json"], tmp_path / "ens")
    assert not (tmp_path / "ens.json").exists()


# ---------------------------------------------------------------------------------- lane view
@pytest.mark.parametrize("intent", [False, True])
@pytest.mark.parametrize("radius", [1, 3])
def test_the_lane_view_is_its_own_inverse(intent: bool, radius: int) -> None:
    cfg = ObservationConfig(radius=radius, intent=intent)
    view = LaneView(cfg)
    dim = NetworkConfig(radius=radius, intent=intent).obs_dim
    rng = np.random.default_rng(radius)
    obs = rng.uniform(-1, 1, (12, dim)).astype(np.float32)
    mask = rng.random((12, 5)) < 0.5
    sel = np.array([0, 3, 4, 11])
    once, once_mask = view.mirror(obs, mask, sel)
    twice, twice_mask = view.mirror(once, once_mask, sel)
    np.testing.assert_array_equal(twice, obs)
    np.testing.assert_array_equal(twice_mask, mask)
    assert not np.array_equal(once[sel], obs[sel])
    np.testing.assert_array_equal(MIRROR[MIRROR], np.arange(5))
    # actions chosen in the mirrored frame come back as moves the floor's mask allows
    scores = np.where(once_mask, rng.random((12, 5)), -np.inf)
    actions = scores.argmax(axis=1)
    LaneView.unmirror(scores, actions, sel)
    assert mask[np.arange(12), actions][once_mask.any(axis=1)].all()
    np.testing.assert_array_equal(np.isneginf(scores), ~mask)


def test_lane_robots_on_a_floor_and_its_transpose_choose_allowed_moves(tmp_path: Path) -> None:
    from test_lane_view import DRAWING, simulation, transpose

    for name, drawing in (("f", DRAWING), ("ft", transpose(DRAWING))):
        sim = simulation(tmp_path, name, drawing, robots=8)
        sim.reset(2)
        lanes = north_south_lanes(sim.floor)
        sim.state.pos[: min(6, lanes.sum())] = np.flatnonzero(lanes)[:6]
        sim.state_changed()
        for nav_name in ("cql", "cql_sampled"):
            nav = make_navigator(nav_name, device="cpu")
            nav.reset(0)
            mask = sim.action_mask()
            obs = Observer(sim, nav.observation)()
            for _ in range(5):
                actions, prefs = nav.act(sim, obs, mask)
                assert mask[np.arange(8), actions].all()
                np.testing.assert_array_equal(np.isneginf(prefs), ~mask)


def test_one_way_aisles_and_their_transpose_have_no_mirrored_cells() -> None:
    """One-way cells allow one move, so they are not the two-way lanes the view turns."""
    for target in ("one_way_aisles", str(ROOT / "agents/scenarios/one_way_aisles_T.yaml")):
        sc, src = load_scenario(target)
        assert not north_south_lanes(build_floor(sc, src)).any()


# ------------------------------------------------------------------------------------ sampling
class _Fixed:
    """A greedy base with the same scores for every robot."""

    observation = None
    needs_observation = False

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores.astype(np.float32)
        self.resets: list[int | None] = []

    def reset(self, seed: int | None) -> None:
        self.resets.append(seed)

    def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
        s = np.where(mask, self.scores, -np.inf).astype(np.float32)
        return s.argmax(axis=1), s


@pytest.mark.parametrize("temperature", [0.25, 1.0, 4.0])
def test_sampling_follows_softmax_of_scores_over_temperature(temperature: float) -> None:
    scores = np.array([0.0, 1.0, -0.5, 0.3, 2.0])
    mask = np.ones((40_000, 5), dtype=bool)
    mask[:, 4] = False
    policy = SampledPolicy(_Fixed(scores), temperature)
    policy.reset(7)
    actions, _ = policy.act(None, None, mask)
    want = np.exp(scores[:4] / temperature)
    want /= want.sum()
    got = np.bincount(actions, minlength=5) / actions.size
    assert got[4] == 0
    np.testing.assert_allclose(got[:4], want, atol=0.01)


def test_sampling_draws_from_its_own_generator_seeded_in_reset() -> None:
    mask = np.ones((200, 5), dtype=bool)
    base = _Fixed(np.zeros(5))
    policy = SampledPolicy(base, 1.0)
    policy.reset(5)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - the global generator
    first = policy.act(None, None, mask)[0]
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    policy.reset(5)
    np.testing.assert_array_equal(policy.act(None, None, mask)[0], first)
    policy.reset(6)
    assert not np.array_equal(policy.act(None, None, mask)[0], first)
    assert base.resets == [5, 5, 6]


@pytest.mark.parametrize("temperature", [float("inf"), float("nan"), 0.0, -1.0])
def test_a_temperature_must_be_a_finite_positive_number(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        SampledPolicy(_Fixed(np.zeros(5)), temperature)
    with pytest.raises(ValueError, match="temperature"):
        make_navigator("cql_sampled", device="cpu", temperature=temperature)


def _checkpoint_with_temperature(folder: Path, value: object) -> Path:
    src = WEIGHTS / "cql_physical.json"
    meta = json.loads(src.read_text())
    meta["extra"]["finetune"]["config"]["temperature"] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.json").write_text(json.dumps(meta))
    shutil.copy(src.with_suffix(".safetensors"), folder / "m.safetensors")
    return folder / "m.json"


@pytest.mark.parametrize("value", ["hot", None, [1], True, 1e999, -2.0, 0])
def test_a_checkpoints_bad_fine_tuning_temperature_is_a_one_line_error(
    tmp_path: Path, value: object
) -> None:
    path = _checkpoint_with_temperature(tmp_path / "ck", value)
    with pytest.raises(InputError, match=r"m\.json: extra\.finetune\.config\.temperature: "):
        make_navigator("cql_ft", checkpoint=str(path), device="cpu")


def test_cql_ft_on_a_bad_checkpoint_fails_cleanly_in_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _checkpoint_with_temperature(tmp_path / "ck", "hot")
    code, _, err = run_cli(["run", "tiny", "--navigator", "cql_ft", "--steps", "2", "--seeds",
                              "0", "--set", f"policies.navigator_checkpoint={path}", "--out",
                              str(tmp_path / "o")], capsys)  # fmt: skip
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "temperature" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    # a checkpoint that was not fine-tuned samples at 1.0; the shipped one at its own
    assert make_navigator("cql_ft", device="cpu").temperature == 1.0
    assert make_navigator("cql_physical", device="cpu").temperature == 1.0


# --------------------------------------------------------------------------------- rule-based
@pytest.mark.parametrize(
    "target", ["one_way_aisles", str(ROOT / "agents/scenarios/one_way_aisles_T.yaml")]
)
@pytest.mark.parametrize("name", ["rule_based", "rule_based_push", "rule_based_unlock"])
def test_rule_based_robots_follow_shortest_paths_on_directed_floors(target: str, name: str) -> None:
    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"fleet.robots": 1, "tasks.mode": "goal_visit"}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    nav = make_navigator(name)
    goals = np.flatnonzero(sim.floor.goal_ok)
    for trial in range(4):
        sim.reset(trial)
        nav.reset(trial)
        goal = int(goals[(37 * trial + 11) % goals.size])
        sim.state.task_goal[:], sim.state.phase[:] = goal, Phase.TO_GOAL
        sim.state_changed()
        d = int(sim.target_distance(sim.state.pos[:, None])[0, 0])
        assert 0 < d < 1000
        for step in range(d):  # one step closer every step, over allowed (directed) moves
            mask = sim.action_mask()
            actions, prefs = nav.act(sim, None, mask)
            assert mask[0, actions[0]] and actions[0] != 0
            sim.step(actions, prefs)
            if step < d - 1:
                assert int(sim.target_distance(sim.state.pos[:, None])[0, 0]) == d - step - 1
        assert sim.state.pos[0] == goal


def test_rule_based_preferences_are_the_documented_distance_preferences() -> None:
    from agents.rule_based import distance_preferences

    sim = tiny(robots=12)
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(4)
    for _ in range(30):
        step = fleet.step()
        mask = sim.action_mask()
        _, prefs = fleet.navigator.act(sim, None, mask)
        np.testing.assert_array_equal(prefs, distance_preferences(sim, mask)[1])
    assert step.result is not None


def _transit_sim(tmp_path: Path) -> Simulation:
    """A 3 × 4 grid graph whose edges are split into transit nodes (physics.speed_m_s)."""
    nodes = [{"id": f"n{r}{c}", "pos": [r, c], "kind": "aisle"} for r in range(3) for c in range(4)]
    nodes[0]["kind"], nodes[5]["kind"], nodes[-1]["kind"] = "station", "pick", "pick"
    edges = [{"source": f"n{r}{c}", "target": f"n{r}{c + 1}"} for r in range(3) for c in range(3)]
    edges += [{"source": f"n{r}{c}", "target": f"n{r + 1}{c}"} for r in range(2) for c in range(4)]
    (tmp_path / "g.json").write_text(json.dumps({"graph": {"name": "h"}, "nodes": nodes,
                                                 "edges": edges}))  # fmt: skip
    (tmp_path / "s.yaml").write_text(
        "layout: {type: file, path: g.json}\nfleet: {robots: 3}\ntasks: {arrival_rate: 0.2}\n"
        "physics: {speed_m_s: 0.5}\n"
    )
    sc, src = load_scenario(tmp_path / "s.yaml")
    return Simulation(build_floor(sc, src), sc.sim_config())


@pytest.mark.parametrize("name", sorted(NAVIGATORS))
def test_every_navigator_decides_for_robots_on_transit_cells_and_without_targets(
    tmp_path: Path, name: str
) -> None:
    sim = _transit_sim(tmp_path)
    assert sim.floor.transit.sum() > 3
    nav = make_navigator(name, device="cpu")
    if getattr(nav, "one_shot_only", False):  # lacam: every robot of a one-shot run has a goal
        pytest.skip(f"{name} runs one-shot MAPF only (tests/test_lacam.py)")
    fleet = Fleet(sim, make_dispatcher("greedy"), nav)
    fleet.reset(1)
    sim.state.pos[:] = np.flatnonzero(sim.floor.transit)[[0, 3, 6]]
    sim.state_changed()
    assert (sim.state.target < 0).all()
    for _ in range(25):
        step = fleet.step()
        mask = step.mask
        assert mask[np.arange(3), step.proposed].all()
        assert np.isneginf(step.preferences[~mask]).all()
        assert np.isfinite(step.preferences[mask]).all()


# ---------------------------------------------------------------------------------------- RNG
@pytest.mark.parametrize("name", sorted(NAVIGATORS))
def test_navigators_never_draw_from_the_simulation(name: str) -> None:
    """Acting leaves every generator of the simulation as it was, and a fleet's trajectory is
    the same whether or not another navigator ran on the simulation before."""
    one_shot = getattr(make_navigator(name, device="cpu"), "one_shot_only", False)
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot"} if one_shot else {}
    sim = tiny(robots=8, **over)

    def trajectory() -> list[np.ndarray]:
        nav = make_navigator(name, device="cpu")
        fleet = Fleet(sim, make_dispatcher("greedy"), nav)
        fleet.reset(9)
        out = []
        for _ in range(25):
            before = json.dumps(sim.rng_states(), sort_keys=True, default=str)
            obs = fleet.observer() if nav.needs_observation else None
            nav.act(sim, obs, sim.action_mask())
            assert json.dumps(sim.rng_states(), sort_keys=True, default=str) == before
            out.append(fleet.step().result.actions.copy())
        return out

    first = trajectory()
    other = Fleet(sim, None, make_navigator("random"))
    other.reset(9)
    other.run(10)
    again = trajectory()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_behavior_navigator_runs_on_floors_that_are_not_grids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It is the ε-greedy rule-based fleet: it reads no observation, so no grid is needed."""
    sim = _transit_sim(tmp_path)
    assert not sim.floor.is_grid
    assert not make_navigator("behavior").needs_observation
    code, _, err = run_cli(["run", str(tmp_path / "s.yaml"), "--navigator", "behavior",
                            "--steps", "5", "--seeds", "0", "--out", str(tmp_path / "o")],
                           capsys)  # fmt: skip
    assert code == 0, err
    # the collector's ε-greedy fleet still logs observations
    from agents.dataset import EpsilonGreedyNavigator

    assert EpsilonGreedyNavigator(make_navigator("rule_based"), 0.1).needs_observation
