"""The lane-aligned view of learned navigators (agents/lane_view.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared_maps_folder

from agents import make_navigator
from agents.lane_view import MIRROR, LaneView, north_south_lanes
from scenarios import build_floor, load_scenario
from warehouse.config import ObservationConfig
from warehouse.core import Observer, Phase, Simulation

#: two 3-cell north-south single-lane pick aisles (columns 3 and 5, rows 1-3: row 4 is a dead
#: end, and the aisle in column 1 has open cells beside it), and a 2-cell north-south
#: connector (column 8) down to the stations
DRAWING = """\
..........
.p#p#p#...
.p#p#p#...
.p#p#p#...
.p#p#p#...
########.#
########.#
..........
..S....S..
"""


def transpose(text: str) -> str:
    rows = text.splitlines()
    return "\n".join("".join(r[i] for r in rows) for i in range(len(rows[0]))) + "\n"


def simulation(tmp_path: Path, name: str, drawing: str, robots: int = 6) -> Simulation:
    (tmp_path / f"{name}.txt").write_text(drawing)
    (tmp_path / f"{name}.yaml").write_text(
        f"name: {name}\nlayout: {{type: file, path: {name}.txt, format: ascii}}\n"
        f"fleet: {{robots: {robots}}}\n"
    )
    sc, src = load_scenario(str(tmp_path / f"{name}.yaml"))
    return Simulation(build_floor(sc, src), sc.sim_config())


def cells(floor, marked: np.ndarray) -> set[tuple[int, int]]:
    return {tuple(int(v) for v in floor.pos[i]) for i in np.flatnonzero(marked)}


def test_lane_cells_are_the_long_north_south_single_lanes(tmp_path):
    floor = simulation(tmp_path, "f", DRAWING).floor
    aisles = {(r, c) for r in range(1, 4) for c in (3, 5)}
    assert cells(floor, north_south_lanes(floor)) == aisles
    assert not north_south_lanes(floor, 4).any()
    # the 2-cell connector counts from min_run 2; east-west lanes never
    connector = {(5, 8), (6, 8)}
    assert cells(floor, north_south_lanes(floor, 2)) == aisles | connector
    turned = simulation(tmp_path, "ft", transpose(DRAWING)).floor
    assert not north_south_lanes(turned, 2).any()


ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = ["tiny", "small", "one_way_aisles", "faults", "medium", "large"]


@pytest.mark.parametrize(
    "target",
    [*BUILT_IN, "hierarchy/scenarios/train_wide.yaml", "lorr/warehouse_small.map", "rhcr/kiva.map"],
)
def test_no_floor_of_the_results_has_a_long_north_south_lane(target):
    """So the view changes nothing on them: every committed result stays as it is."""
    if target.endswith(".map"):
        path = shared_maps_folder() / target  # (WAREHOUSE_MAPS, else ../shared/maps)
        if not path.exists():
            pytest.skip(f"{path} is not there")
        target = str(path)
    elif "/" in target:
        target = str(ROOT / target)
    sc, src = load_scenario(target)
    floor = build_floor(sc, src)
    assert not north_south_lanes(floor).any()


def mirrored_pair(tmp_path: Path) -> tuple[Simulation, Simulation, np.ndarray]:
    """The drawing and its transpose, robots on lane cells of the first and on the mirrored
    cells of the second, with mirrored targets."""
    a = simulation(tmp_path, "f", DRAWING)
    b = simulation(tmp_path, "ft", transpose(DRAWING))
    a.reset(3)
    b.reset(3)
    fa, fb = a.floor, b.floor

    def mirror(nodes: np.ndarray) -> np.ndarray:
        out = np.full(nodes.shape, -1, np.int32)
        ok = nodes >= 0
        p = fa.pos[nodes[ok]]
        out[ok] = fb.cell_of[p[:, 1], p[:, 0]]
        return out

    lanes = np.flatnonzero(north_south_lanes(fa))
    sa, sb = a.state, b.state
    sa.pos[:] = lanes
    sa.phase[:] = Phase.TO_PICK
    sa.task_goal[:] = fa.picks[[0, 3, 5, 7, 1, 2]]
    sa.phase[2], sa.task_goal[2] = Phase.TO_DROP, fa.stations[1]
    for name in ("phase", "timer", "broken", "order"):
        getattr(sb, name)[:] = getattr(sa, name)
    sb.pos[:], sb.task_goal[:], sb.waypoint[:] = (
        mirror(sa.pos),
        mirror(sa.task_goal),
        mirror(sa.waypoint),
    )
    return a, b, np.arange(6)


@pytest.mark.parametrize("intent", [False, True])
def test_the_mirror_is_the_observation_of_the_transposed_floor(tmp_path, intent):
    a, b, robots = mirrored_pair(tmp_path)
    cfg = ObservationConfig(radius=3, intent=intent)
    obs_a, obs_b = Observer(a, cfg)(), Observer(b, cfg)()
    assert np.abs(obs_a[:, -12:] if not intent else obs_a).sum() > 0  # targets are seen
    view = LaneView(cfg)
    mirrored, mask = view.mirror(obs_a, a.action_mask(), robots)
    np.testing.assert_array_equal(mirrored, obs_b)
    np.testing.assert_array_equal(mask, b.action_mask())
    back, _ = view.mirror(mirrored, mask, robots)  # its own inverse
    np.testing.assert_array_equal(back, obs_a)
    assert not np.array_equal(mirrored, obs_a)


def test_only_the_selected_rows_change(tmp_path):
    a, _, _ = mirrored_pair(tmp_path)
    cfg = ObservationConfig(radius=3, intent=True)
    obs, mask = Observer(a, cfg)(), a.action_mask()
    out, out_mask = LaneView(cfg).mirror(obs, mask, np.array([1, 4]))
    keep = np.array([0, 2, 3, 5])
    np.testing.assert_array_equal(out[keep], obs[keep])
    np.testing.assert_array_equal(out_mask[keep], mask[keep])
    np.testing.assert_array_equal(out_mask[[1, 4]], mask[[1, 4]][:, MIRROR])


def test_a_robot_in_a_north_south_lane_decides_as_on_the_transposed_floor(tmp_path):
    """The shipped network with the view, on the floor, makes the mirrored moves of the same
    network without it on the transposed floor, where the lanes run east-west."""
    a, b, _ = mirrored_pair(tmp_path)
    with_view = make_navigator("cql_pibt", device="cpu")
    without = make_navigator("cql_pibt", device="cpu", lane_view=False)
    assert with_view.scorer.lane_view is not None and without.scorer.lane_view is None
    obs_a, obs_b = Observer(a, with_view.observation)(), Observer(b, with_view.observation)()
    act_a, score_a = with_view.act(a, obs_a, a.action_mask())
    act_b, score_b = without.act(b, obs_b, b.action_mask())
    np.testing.assert_array_equal(act_a, MIRROR[act_b])
    np.testing.assert_array_equal(score_a, score_b[:, MIRROR])
    # the frame matters to the network, else this test would show nothing
    assert not np.array_equal(without.act(a, obs_a, a.action_mask())[1], score_a)


def test_robots_off_the_lanes_decide_as_without_the_view(tmp_path):
    sim = simulation(tmp_path, "f", DRAWING, robots=8)
    sim.reset(0)
    lanes = north_south_lanes(sim.floor)
    assert not lanes[sim.state.pos].all()
    with_view = make_navigator("cql", device="cpu")
    without = make_navigator("cql", device="cpu", lane_view=False)
    obs, mask = Observer(sim, with_view.observation)(), sim.action_mask()
    off = ~lanes[sim.state.pos]
    a1, s1 = with_view.act(sim, obs, mask)
    a2, s2 = without.act(sim, obs, mask)
    np.testing.assert_array_equal(a1[off], a2[off])
    np.testing.assert_array_equal(s1[off], s2[off])


def test_lane_view_is_a_navigator_argument():
    from scenarios import apply_overrides
    from warehouse.policies import part_args

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"policies.navigator_args.cql_tuned.lane_view": False}, src)
    args = part_args("navigator", "cql_tuned", sc)
    assert args == {"lane_view": False}
    nav = make_navigator("cql_tuned", device="cpu", **args)
    assert all(nav.policy_for(m).scorer.lane_view is None for m in ("pibt", "none"))
    assert nav.policy_for("physical").base.scorer.lane_view is None
    on = make_navigator("cql_tuned", device="cpu")
    assert on.policy_for("physical").base.scorer.lane_view is not None
