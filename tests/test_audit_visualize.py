"""Audit of the visual debugger (``warehouse view`` / ``warehouse replay``): a viewed run follows
``warehouse run`` whatever the user does in the window, the replay redraws a frame the same
however the timeline reached it, a drag keeps doing what it started, the inspector gives the
clicked robot's facts on floors of any shape, tiny windows draw, the help lists keys that work,
and bad input is a one-line error. Headless (SDL's dummy video and audio drivers)."""

from __future__ import annotations

import json
import os
import re
import sys
import typing
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

import pygame
from cli_helpers import fails_cleanly, run_cli
from test_visualize import make_fleet

from scenarios import builtin_path
from visualize.draw import HELP_LINES, TIMELINE_H
from visualize.frame import Congestion, frame_from_sim
from visualize.inspector import inspect_robot
from visualize.replay import replay_viewer
from visualize.viewer import MIN_SIZE, Viewer, live_viewer
from warehouse.core import N_CHANNELS, Observer, Phase
from warehouse.kpis import compute_kpis
from warehouse.recording import EpisodeRecorder, load_recording

ROOT = Path(__file__).resolve().parents[1]
#: a small learned run: `warehouse run` records it, the viewer runs it live
RUN = ["tiny", "--policy", "hierarchical", "--robots", "8", "--steps", "40"]
RUN_SETS = {"fleet.robots": 8, "faults.breakdown_prob": 0.03}


def key_event(viewer: Viewer, key: int, unicode: str = "") -> None:
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=unicode, mod=0))


def mouse(viewer: Viewer, kind: int, pos: tuple[int, int]) -> None:
    viewer.handle_event(pygame.event.Event(kind, pos=pos, button=1, rel=(0, 0), buttons=(1, 0, 0)))


def click(viewer: Viewer, pos: tuple[int, int]) -> None:
    mouse(viewer, pygame.MOUSEBUTTONDOWN, pos)
    mouse(viewer, pygame.MOUSEBUTTONUP, pos)


def drag(viewer: Viewer, points: list[tuple[int, int]]) -> None:
    mouse(viewer, pygame.MOUSEBUTTONDOWN, points[0])
    for p in points[1:]:
        mouse(viewer, pygame.MOUSEMOTION, p)
    mouse(viewer, pygame.MOUSEBUTTONUP, points[-1])


def record(path: Path, steps: int, scenario: str = "tiny", seed: int = 1, **overrides):
    """A rule-based recording of ``steps`` steps, saved at ``path`` and loaded."""
    f = make_fleet(scenario, **overrides)
    f.reset(seed)
    rec = EpisodeRecorder(f.sim, meta={"scenario": scenario, "seed": seed})
    for _ in range(steps):
        rec.capture(f.sim, f.step())
    rec.save(path)
    return load_recording(path)


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory) -> tuple[Path, dict]:
    """``warehouse run`` of the learned hierarchy (seed 3) with ``--record``: the recording
    and the per-seed KPIs of its report."""
    from warehouse.cli.main import main

    root = tmp_path_factory.mktemp("run")
    sets = ["--set", "faults.breakdown_prob=0.03"]
    argv = ["run", *RUN, "--seeds", "3", *sets, "--out", str(root / "out")]
    try:
        main([*argv, "--record", str(root / "run.npz")])
    except SystemExit as exc:
        assert not exc.code, exc.code
    report = json.loads((root / "out" / "report.json").read_text())
    kpis = {k: v["per_seed"][0] for k, v in report["runs"][0]["kpis"].items()}
    return root / "run.npz", kpis


@pytest.fixture
def two_torch_threads():
    """torch on two intra-op threads while the test runs (as on any machine with 2+ cores)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------ the viewer and the run
def test_a_viewed_run_follows_warehouse_run_whatever_the_user_does(
    learned_run, two_torch_threads, monkeypatch
):
    """Pausing, stepping, stepping back (refused live), clicking robots and empty floor, the
    wheel, dragging, resizing and every overlay leave the trajectory, the navigator's scores
    and the KPIs those of ``warehouse run`` with the same seed and policy."""
    path, kpis = learned_run
    rec = load_recording(path)
    monkeypatch.setattr(pygame.mouse, "get_pos", lambda: (100, 200))  # (over the map)
    v = live_viewer("tiny", policy="hierarchical", seed=3, steps=40, overrides=RUN_SETS,
                    headless=True, size=(700, 450))  # fmt: skip
    for letter in "hpgb?":
        key_event(v, getattr(pygame, f"K_{'SLASH' if letter == '?' else letter}"), letter)
    sizes = [(900, 600), (320, 240), (1600, 300), (400, 1000)]
    rng = np.random.default_rng(0)  # (the test's own generator)
    k = 0
    while v.source.t < 40:
        key_event(v, pygame.K_SPACE, " ")  # resume ...
        v.update(0.15)  # ... a step or two at 10 steps/s
        key_event(v, pygame.K_SPACE, " ")
        key_event(v, pygame.K_RIGHT)
        key_event(v, pygame.K_LEFT)
        frame = v.source.frame()
        click(v, v.renderer.robot_screen_center(frame, int(rng.integers(frame.n_robots))))
        v.handle_event(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1))
        drag(v, [(60, 200), (80, 210), (90, 230)])
        if v.source.t % 5 == 0:
            v._resize(*sizes[k % len(sizes)])
            k += 1
        v.draw()
        t = v.source.t
        sim = v.source.fleet.sim
        assert np.array_equal(sim.state.pos, rec.positions[t]), t
        if t:
            assert np.array_equal(v.source.fleet.last.preferences, rec.arrays["preferences"][t - 1])
    assert v.source.t == 40
    got = compute_kpis(v.source.fleet.sim)
    assert got.keys() == kpis.keys()
    for name, value in kpis.items():  # (the report rounds to 6 decimals)
        assert got[name] == (value if value is None else pytest.approx(value, abs=1e-6)), name


def test_the_viewer_gives_the_torch_thread_count_back(learned_run, two_torch_threads):
    """The live run steps on one torch thread, as ``warehouse run`` does, and leaves the
    caller's count as it was."""
    import torch

    v = live_viewer("tiny", policy="hierarchical", seed=3, steps=40, overrides=RUN_SETS,
                    headless=True)  # fmt: skip
    v.source.advance()
    v.handle_key("r")
    assert torch.get_num_threads() == 2


# ------------------------------------------------------------------ replay
def test_stepping_back_and_forward_redraws_the_same_frame_with_the_heatmap(tmp_path, monkeypatch):
    """The congestion heat of replay frame ``k`` is the live run's at step ``k`` however the
    timeline reached it (played, stepped back, scrubbed), so the picture is the same; it was
    rebuilt from the last 120 steps only after a jump."""
    monkeypatch.setattr(Congestion, "MARK_BYTES", 0)  # few kept heat arrays: every 25th frame
    rec = record(tmp_path / "r.npz", 200, robots=12)
    live = Congestion(rec.floor.n_nodes)
    f = make_fleet("tiny", robots=12)
    f.reset(1)
    live_heat = {0: live.update(frame_from_sim(f.sim)).copy()}
    for t in range(1, 201):
        f.step()
        live_heat[t] = live.update(frame_from_sim(f.sim, f.last)).copy()
    v = replay_viewer(rec, headless=True, size=(640, 400))
    ov = v.renderer.overlays
    ov.heatmap = ov.paths = ov.subgoals = True
    v.select(3)
    played = {}
    v.draw()
    for _ in range(200):
        key_event(v, pygame.K_RIGHT)
        v.draw()
        played[v.source.k] = v.renderer.rgb_array().copy()
        assert np.array_equal(v.source.congestion.heat, live_heat[v.source.k]), v.source.k
    for k in (150, 199, 121, 60):
        v.source.seek(k + 1)  # a jump, then one step back
        key_event(v, pygame.K_LEFT)
        v.draw()
        assert np.array_equal(v.source.congestion.heat, live_heat[k]), k
        assert np.array_equal(v.renderer.rgb_array(), played[k]), k
        key_event(v, pygame.K_RIGHT)
        v.draw()
        assert np.array_equal(v.renderer.rgb_array(), played[k + 1]), k


def _timeline_x(v: Viewer, k: int) -> int:
    """Screen x of frame ``k`` on the timeline bar (as drawn: from x 10 to width - 150)."""
    x0, x1 = 10, v.renderer.size[0] - 150
    return round(x0 + (x1 - x0) * k / max(v.source.n_frames - 1, 1))


def test_a_drag_keeps_doing_what_it_started(tmp_path):
    """A drag that pans the map and wanders onto the timeline does not scrub the replay, and a
    drag along the timeline that wanders above it scrubs on and does not pan the map."""
    v = replay_viewer(record(tmp_path / "r.npz", 40), headless=True, size=(640, 400))
    view, src = v.renderer.view, v.source
    src.seek(5)
    h = v.renderer.size[1]
    start = (view.ox, view.oy)
    drag(v, [(300, 250), (300, 300), (300, h - 20), (310, h - 10)])
    assert src.k == 5 and (view.ox, view.oy) == (start[0] + 10, start[1] + h - 10 - 250)
    origin = (view.ox, view.oy)
    drag(v, [(_timeline_x(v, 5), h - 15), (_timeline_x(v, 10), h - 15),
             (_timeline_x(v, 20), h - 60), (_timeline_x(v, 30), h - 120)])  # fmt: skip
    assert src.k == 30 and (view.ox, view.oy) == origin


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_the_timeline_of_a_short_recording(tmp_path, steps, capsys):
    """A recording of 0, 1 or 2 steps: the ends of the bar seek to the first and last frame,
    the keys stop there, playing stops at the end, and ``replay`` writes one frame per step."""
    rec = record(tmp_path / "r.npz", steps)
    v = replay_viewer(rec, headless=True, size=(640, 400))
    src = v.source
    y = v.renderer.size[1] - TIMELINE_H // 2
    for x, k in ((0, 0), (10, 0), (v.renderer.size[0] - 150, steps), (639, steps), (10, 0)):
        click(v, (x, y))
        assert src.k == k, x
        v.draw()
    for _ in range(3):
        key_event(v, pygame.K_RIGHT)
    assert src.k == steps and np.array_equal(src.frame().pos, rec.positions[steps])
    for _ in range(3):
        key_event(v, pygame.K_LEFT)
    assert src.k == 0 and v.renderer.message == "at the first frame"
    key_event(v, pygame.K_SPACE, " ")
    v.update(10.0)
    assert src.k == steps and v.paused
    out = tmp_path / "frames"
    code, _, err = run_cli(["replay", str(tmp_path / "r.npz"), "--headless-frames",
                                 str(out), "--frames", "5"], capsys)  # fmt: skip
    assert code == 0, err
    assert len(list(out.glob("frame_*.png"))) == steps + 1


# ------------------------------------------------------------------ the inspector
def _ascii_scenario(path: Path, rows: list[str], robots: int) -> Path:
    drawing = "\n".join(f"    {row}" for row in rows)
    path.write_text(f"name: {path.stem}\nlayout:\n  type: ascii\n  map: |\n{drawing}\n"
                    f"fleet: {{robots: {robots}}}\ntasks: {{arrival_rate: 0.5}}\n")  # fmt: skip
    return path


def _check_facts(v: Viewer, robot: int) -> None:
    """The inspector's facts are the simulation's for ``robot``."""
    ins = v.inspection()
    sim = v.source.fleet.sim
    s, f = sim.state, sim.floor

    def cell(node: int) -> tuple[int, int] | None:
        return None if node < 0 else tuple(int(x) for x in f.pos[node])

    assert ins.robot == robot and ins.t == sim.t
    assert ins.node == s.pos[robot] and ins.cell == cell(s.pos[robot])
    assert ins.order == s.order[robot] and ins.task_goal == cell(s.task_goal[robot])
    assert ins.waypoint == cell(s.waypoint[robot]) and ins.target == cell(s.target[robot])
    assert ins.phase == Phase(int(s.phase[robot])).name.lower()
    assert ins.broken == s.broken[robot]
    d = int(sim.target_distance()[robot])
    assert ins.steps_to_target == (d if s.target[robot] >= 0 else None)


@pytest.mark.parametrize(
    "rows, robots",
    [
        (["S" + "." * 40 + "p"], 3),  # one row
        (["S" + "." * 200 + "p", "S" + "." * 200 + "p"], 6),  # very wide
        (["Sp", *[".."] * 150, "pS"], 6),  # very tall
        (None, 2),  # a map file beside its scenario (tests/data/corridor.yaml)
    ],
    ids=["one_row", "wide", "tall", "map_file"],
)
def test_a_click_inspects_the_robot_under_it_on_floors_of_any_shape(tmp_path, rows, robots):
    target = ROOT / "tests" / "data" / "corridor.yaml"
    if rows is not None:
        target = _ascii_scenario(tmp_path / "floor.yaml", rows, robots)
    v = live_viewer(target, seed=1, headless=True, size=(800, 500))
    for _ in range(6):
        v.source.advance()
    for size in ((800, 500), (320, 240), (1500, 300), (330, 1100)):
        v._resize(*size)
        for i in range(v.source.frame().n_robots):
            v.select(None)
            key_event(v, pygame.K_f, "f")  # the whole floor in view
            frame = v.source.frame()
            pos = v.renderer.robot_screen_center(frame, i)
            click(v, pos)
            assert v.selected is not None and frame.pos[v.selected] == frame.pos[i], (size, i)
            _check_facts(v, v.selected)
        selected = v.selected
        click(v, (5, 5))  # the HUD: no change
        assert v.selected == selected
        mx, my, _, mh = v.renderer.free_rect()
        view = v.renderer.view
        row, col = view.screen_to_cell(mx + 1, my + mh - 2)
        off = not (0 <= row < frame.floor.shape[0] and 0 <= col < frame.floor.shape[1])
        if off:  # a cell off the floor: closes the inspector
            click(v, (mx + 1, my + mh - 2))
            assert v.selected is None


def test_the_inspector_shows_the_window_the_navigator_reads():
    """A learned navigator reads the observation layout it was trained on whatever the scenario
    says: the inspector shows that window (here 7 × 7, not the scenario's 11 × 11)."""
    v = live_viewer("tiny", policy="hierarchical", seed=0, headless=True,
                    overrides={"observation.radius": 5})  # fmt: skip
    v.source.advance()
    fleet = v.source.fleet
    radius = fleet.observer.config.radius
    assert radius != 5
    side = 2 * radius + 1
    v.select(2)
    ins = v.inspection()
    assert ins.window.shape == (N_CHANNELS, side, side)
    layout = fleet.observer.config.model_copy(update={"intent": False})
    expect = Observer(fleet.sim, layout)()[2, : N_CHANNELS * side * side]
    assert np.array_equal(ins.window.reshape(-1), expect)
    v.draw()  # (the window's outline on the map is drawn with the same radius)


# ------------------------------------------------------------------ windows, help, README
@pytest.mark.parametrize("size", [(1, 1), (50, 50), (319, 239)])
def test_a_viewer_asked_for_a_tiny_window_gets_the_smallest_one(tmp_path, size):
    rec = record(tmp_path / "r.npz", 5)
    for v in (replay_viewer(rec, headless=True, size=size), live_viewer("tiny", headless=True,
                                                                       size=size)):  # fmt: skip
        assert v.renderer.size == MIN_SIZE
        v.select(0, fit=True)
        ov = v.renderer.overlays
        ov.help = ov.heatmap = ov.paths = True
        v.zoom_in(4)
        v.draw()
        key_event(v, pygame.K_RIGHT)
        assert v.draw().get_size() == MIN_SIZE


#: what each key of the help overlay does to a replay viewer's state
EFFECTS = {
    "space": lambda v: v.paused,
    "right": lambda v: v.source.k,
    "left": lambda v: v.source.k,
    "h": lambda v: v.renderer.overlays.heatmap,
    "p": lambda v: v.renderer.overlays.paths,
    "g": lambda v: v.renderer.overlays.subgoals,
    "b": lambda v: v.renderer.overlays.battery,
    "r": lambda v: v.source.k,
    "s": lambda v: sorted(p.name for p in v.out_dir.glob("*.png")),
    "v": lambda v: v._capture is not None,
    "?": lambda v: v.renderer.overlays.help,
    "esc": lambda v: v.running,
    "q": lambda v: v.running,
    "+": lambda v: v.speed,
    "-": lambda v: v.speed,
    "f": lambda v: (v.renderer.view.cell, v.renderer.view.ox),
}
PYGAME_KEYS = {"space": ("K_SPACE", " "), "right": ("K_RIGHT", ""), "left": ("K_LEFT", ""),
               "esc": ("K_ESCAPE", "\x1b"), "?": ("K_SLASH", "?"), "+": ("K_EQUALS", "+"),
               "-": ("K_MINUS", "-")}  # fmt: skip


def _help_keys() -> list[str]:
    keys = []
    for name, what in HELP_LINES:
        if name in ("click", "timeline", "wheel / drag"):
            keys.extend(re.findall(r"\b(\w): ", what))  # ("f: fit")
            continue
        keys.extend(k.strip() for k in name.split("/"))
    return keys


@pytest.mark.parametrize("key", _help_keys())
def test_every_key_of_the_help_overlay_works(tmp_path, key):
    if key == "v":
        pytest.importorskip("imageio")
    v = replay_viewer(record(tmp_path / "r.npz", 6), headless=True, size=(640, 400),
                      out_dir=tmp_path / "out")  # fmt: skip
    v.source.seek(3)
    v.renderer.view.zoom(2, (100, 200))
    v.draw()
    before = EFFECTS[key](v)
    name, text = PYGAME_KEYS.get(key, (f"K_{key}", key))
    key_event(v, getattr(pygame, name), text)
    assert EFFECTS[key](v) != before, key
    if v._capture is not None:
        v.toggle_capture()


def test_the_readme_names_every_key_and_option_of_the_viewer():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Watch a fleet", 1)[1].split("\n## ", 1)[0]
    for key in _help_keys():
        mark = {"space": "Space", "right": "→", "left": "←"}.get(key, f"`{key}`")
        assert mark in section, key
    from warehouse.cli import cmd_view

    lines = readme.splitlines()
    rows = {cmd: next(row for row in lines if row.startswith(f"| `warehouse {cmd} "))
            for cmd in ("view", "replay")}  # fmt: skip
    for cmd in ("view", "replay"):
        hints = typing.get_type_hints(getattr(cmd_view, cmd), include_extras=True)
        for hint in hints.values():
            for option in getattr(hint, "__metadata__", ()):
                # (typer keeps the first name of an Annotated option in ``default``)
                decls = getattr(option, "param_decls", None) or ()
                names = (getattr(option, "default", None), *decls)
                flags = [n for n in names if isinstance(n, str) and n.startswith("--")]
                assert flags or type(option).__name__ == "ArgumentInfo", (cmd, option)
                for flag in flags:
                    assert f"{flag} " in rows[cmd] or f"{flag}]" in rows[cmd], (cmd, flag)


# ------------------------------------------------------------------ bad input
def test_bad_input_to_view_and_replay_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    rec = record(tmp_path / "good.npz", 5)
    (tmp_path / "garbage.npz").write_bytes(b"not a recording")
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    frames = ["--headless-frames", "f"]
    fails_cleanly(["replay", "missing.npz", *frames], tmp_path, capsys, "missing.npz: no such")
    fails_cleanly(["replay", "garbage.npz", *frames], tmp_path, capsys, "garbage.npz: ")
    fails_cleanly(["replay", "cut.npz", *frames], tmp_path, capsys, "cut.npz: ")
    fails_cleanly(["replay", "good.npz", "--start", "6", *frames], tmp_path, capsys,
                  "good.npz: --start: the recording has frames 0..5")  # fmt: skip
    fails_cleanly(["replay", "good.npz", "--select", str(rec.n_robots), *frames], tmp_path,
                  capsys, "--select")  # fmt: skip
    fails_cleanly(["view", "tiny", "--policy", "nope", *frames], tmp_path, capsys, "--policy")
    fails_cleanly(["view", "missing.yaml", *frames], tmp_path, capsys, "missing.yaml: ")
    fails_cleanly(["view", "tiny", "--size", "10x10", *frames], tmp_path, capsys, "--size")
    fails_cleanly(["view", "tiny", "--overlays", "hx", *frames], tmp_path, capsys, "--overlays")
    monkeypatch.setitem(sys.modules, "pygame", None)  # pygame-ce not installed
    for argv in (["view", "tiny", *frames], ["replay", "good.npz", *frames]):
        line = fails_cleanly(argv, tmp_path, capsys, "pygame: ")
        assert 'pip install -e ".[render]"' in line


def test_the_builtin_scenarios_view_and_replay_the_same_fleet(tmp_path, capsys):
    """README: ``warehouse view small --policy hierarchical --seed 0`` shows the fleet that
    ``warehouse run small --seeds 0 --record`` recorded (its first policy, hierarchical); here
    on ``tiny`` with the rule-based fleet (the scenario's own policy, the viewer's default)."""
    argv = ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "30"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "o"), "--record",
                            str(tmp_path / "r.npz")], capsys)  # fmt: skip
    assert code == 0, err
    rec = load_recording(tmp_path / "r.npz")
    v = live_viewer(builtin_path("tiny"), seed=0, steps=30, headless=True)
    for t in range(1, 31):
        v.source.advance()
        assert np.array_equal(v.source.frame().pos, rec.positions[t]), t
    replayed = replay_viewer(rec, headless=True)
    replayed.source.seek(30)
    assert replayed.source.frame().kpis == v.source.frame().kpis
    for i in range(v.source.frame().n_robots):
        a, b = inspect_robot(v.source.frame(), i), inspect_robot(replayed.source.frame(), i)
        assert (a.cell, a.order, a.task_goal, a.phase, a.steps_to_target) == (
            b.cell, b.order, b.task_goal, b.phase, b.steps_to_target
        )  # fmt: skip
