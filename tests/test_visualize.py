"""Visual debugger: pixel checks, inspector data, separation from the simulation, controls.

Runs headless with SDL's dummy video driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

from agents import make_navigator
from hierarchy import make_dispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from visualize import palette as pal
from visualize.draw import Renderer
from visualize.frame import Congestion, frame_from_sim, plan_paths
from visualize.inspector import inspect_robot
from visualize.viewer import LiveSource, Viewer, live_viewer
from warehouse.core import Observer, Phase, Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind
from warehouse.kpis import compute_kpis


def make_fleet(scenario: str = "tiny", navigator: str = "rule_based", **overrides) -> Fleet:
    sc, src = load_scenario(scenario)
    sc = apply_overrides(sc, overrides, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    return Fleet(sim, make_dispatcher("greedy"), make_navigator(navigator))


def pixel(surface, x: int, y: int) -> tuple[int, int, int]:
    return tuple(surface.get_at((int(x), int(y))))[:3]


@pytest.fixture
def fleet():
    f = make_fleet("tiny")
    f.reset(3)
    for _ in range(25):
        f.step()
    return f


def test_import_without_pygame_names_the_extra():
    code = (
        "import sys, types; sys.modules['pygame'] = None\n"
        "import visualize, visualize.viewer, visualize.replay, warehouse.core\n"
        "env = types.SimpleNamespace(render_mode='rgb_array', _viewer=None)\n"
        "try:\n"
        "    visualize.render_env(env)\n"
        "except ImportError as exc:\n"
        "    print('ERR', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ERR" in out.stdout and 'pip install -e ".[render]"' in out.stdout


def test_robot_colours_at_their_screen_positions(fleet):
    sim = fleet.sim
    r = Renderer(sim.floor, (200, 170))  # small cells: no id labels over the robots
    assert 6 <= r.view.cell < 16
    frame = frame_from_sim(sim, fleet.last)
    canvas = r.draw(frame)
    states = pal.robot_states(sim.state.phase, sim.state.broken)
    on_station = sim.floor.kind[sim.state.pos] == NodeKind.STATION
    checked = 0
    for i in np.flatnonzero(~on_station):
        x, y = r.robot_screen_center(frame, int(i))
        assert pixel(canvas, x, y) == pal.STATE_COLORS[states[i]], f"robot {i}"
        checked += 1
    assert checked >= 4
    assert len(set(states.tolist())) >= 2  # more than one state colour was checked


def test_a_robot_on_a_station_keeps_its_id_visible_when_ids_are_drawn():
    """Zoomed in (ids drawn), a station's queue count sits in the cell's corner, not over the
    robot standing on it: the cell's centre shows the robot, the corner the count."""
    f = make_fleet("tiny")
    f.reset(0)
    on = np.zeros(0, dtype=np.int64)
    while on.size == 0:
        f.step()
        on = np.flatnonzero(f.sim.floor.kind[f.sim.state.pos] == NodeKind.STATION)
    r = Renderer(f.sim.floor, (640, 400))
    assert r.view.cell >= 16
    frame = frame_from_sim(f.sim, f.last)
    canvas = r.draw(frame)
    i = int(on[0])
    x, y = r.robot_screen_center(frame, i)
    c = r.view.cell
    centre = {pixel(canvas, x + dx, y + dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2)}
    assert pal.QUEUE not in centre
    corner = {pixel(canvas, x + c // 2 - k, y + c // 2 - k) for k in range(3, 8)}
    assert pal.QUEUE in corner


def test_station_colour_at_station_position(fleet):
    sim = fleet.sim
    r = Renderer(sim.floor, (640, 400))
    canvas = r.draw(frame_from_sim(sim, fleet.last))
    for node in sim.floor.stations:
        x, y = r.view.cell_to_screen(sim.floor.pos[node])
        assert pixel(canvas, x + 2, y + 2) == pal.FLOOR[NodeKind.STATION]
    shelf = np.argwhere(sim.floor.cell_of < 0)[0]
    x, y = r.view.cell_to_screen(shelf)
    assert pixel(canvas, x + 2, y + 2) == pal.FLOOR[NodeKind.BLOCKED]


def test_many_robots_drawn_as_filled_cells_when_cells_are_tiny():
    f = make_fleet("small", robots=200)
    f.reset(0)
    f.step()
    r = Renderer(f.sim.floor, (200, 120))  # 2-3 px per cell
    assert r.view.cell <= 3
    frame = frame_from_sim(f.sim, f.last)
    r.overlays.flashes = False
    canvas = r.draw(frame)
    states = pal.robot_states(frame.phase, frame.broken)
    x, y = r.view.cell_to_screen(f.sim.floor.pos[frame.pos])
    hits = [
        pixel(canvas, xi, yi) == pal.STATE_COLORS[s] for xi, yi, s in zip(x, y, states, strict=True)
    ]
    assert all(hits)


def test_heatmap_toggle_changes_only_congested_cells():
    f = make_fleet("tiny", robots=12)
    f.reset(1)
    heat = Congestion(f.sim.floor.n_nodes)
    for _ in range(40):
        f.step()
        frame = frame_from_sim(f.sim, f.last)
        h = heat.update(frame)
    assert h.max() > 0
    r = Renderer(f.sim.floor, (640, 400))
    off = r.draw(frame, heat=h).copy()
    r.overlays.heatmap = True
    on = r.draw(frame, heat=h)
    a = np.asarray(__import__("pygame").surfarray.array3d(off))
    b = np.asarray(__import__("pygame").surfarray.array3d(on))
    assert (a != b).any()
    hot = int(np.argmax(h))
    x, y = r.view.cell_to_screen(f.sim.floor.pos[hot])
    if hot not in frame.pos:  # the corner of a hot cell is tinted red
        assert pixel(on, x + 1, y + 1) != pixel(off, x + 1, y + 1)
    cold = np.flatnonzero(h == 0)
    cold = cold[~np.isin(cold, frame.pos)][0]
    x, y = r.view.cell_to_screen(f.sim.floor.pos[cold])
    assert pixel(on, x + 2, y + 2) == pixel(off, x + 2, y + 2)


def test_click_opens_inspector_matching_core_state(fleet):
    sim = fleet.sim
    src = LiveSource(fleet, 3)
    for _ in range(25):
        src.advance()
    v = Viewer(src, size=(900, 600), headless=True)
    frame = src.frame()
    busy = np.flatnonzero(sim.state.target >= 0)
    i = int(busy[0])
    x, y = v.renderer.robot_screen_center(frame, i)
    assert v.handle_click(x, y) == i
    ins = v.inspection()
    s, f, last = sim.state, sim.floor, fleet.last
    assert ins.robot == i and ins.t == sim.t
    assert ins.cell == tuple(f.pos[s.pos[i]])
    assert ins.phase == Phase(int(s.phase[i])).name.lower()
    assert ins.order == s.order[i]
    assert ins.task_goal == tuple(f.pos[s.task_goal[i]])
    assert ins.steps_to_target == int(sim.target_distance()[i])
    assert ins.executed == last.result.actions[i] and ins.proposed == last.proposed[i]
    assert np.array_equal(ins.preferences, last.preferences[i])
    assert ins.intervened == bool(last.result.intervened[i])
    side = 2 * sim.config.observation.radius + 1
    expect = Observer(sim)()[i, : 4 * side * side].reshape(4, side, side)
    assert np.array_equal(ins.window, expect)
    # the planned path runs from the robot to its target over adjacent cells
    assert tuple(ins.path[0]) == ins.cell and tuple(ins.path[-1]) == ins.target
    assert len(ins.path) == ins.steps_to_target + 1
    assert (np.abs(np.diff(ins.path, axis=0)).sum(axis=1) == 1).all()
    # clicking empty floor closes the inspector
    empty = np.argwhere(f.cell_of >= 0)
    empty = next(c for c in empty if f.cell_of[tuple(c)] not in s.pos)
    ex, ey = v.renderer.view.cell_center(*empty)
    assert v.handle_click(ex, ey) is None and v.inspection() is None


def test_inspector_reports_shield_changes():
    f = make_fleet("tiny", "random", robots=12)  # random moves under the block shield
    f.reset(2)
    for _ in range(60):
        f.step()
        changed = np.flatnonzero(f.last.result.intervened)
        if changed.size:
            break
    assert changed.size, "expected the block shield to intervene"
    i = int(changed[0])
    ins = inspect_robot(frame_from_sim(f.sim, f.last), i)
    assert ins.intervened and ins.proposed != ins.executed
    assert ins.shield_note == (
        f"shield: {ins.action_names[ins.proposed]} -> {ins.action_names[ins.executed]}"
    )


def test_plan_paths_follow_decreasing_distance(fleet):
    sim = fleet.sim
    s = sim.state
    routes = plan_paths(sim.floor, sim.dist, s.pos, s.target, 50)
    has = s.target >= 0
    d = sim.dist.lookup(np.where(has, s.target, 0)[:, None], routes)
    steps = np.diff(d.astype(int), axis=1)
    assert ((steps == -1) | (steps == 0))[has].all()
    assert (routes[~has] == s.pos[~has, None]).all()


def run_fleet(seed: int, steps: int, viewer: bool) -> tuple[dict, np.ndarray, dict]:
    f = make_fleet("tiny", robots=10, **{"faults.breakdown_prob": 0.02})
    if viewer:
        v = Viewer(LiveSource(f, seed), size=(800, 500), headless=True)
        ov = v.renderer.overlays
        ov.heatmap = ov.paths = ov.subgoals = True
        v.selected = 0
        for _ in range(steps):
            v.source.advance()
            v.draw()
    else:
        f.reset(seed)
        for _ in range(steps):
            f.step()
    return compute_kpis(f.sim), f.sim.state.pos.copy(), f.sim.rng_states()


def test_viewer_on_or_off_gives_identical_kpis():
    k_on, pos_on, rng_on = run_fleet(5, 60, viewer=True)
    k_off, pos_off, rng_off = run_fleet(5, 60, viewer=False)
    assert k_on == k_off
    assert np.array_equal(pos_on, pos_off)
    assert rng_on == rng_off


def test_keys_toggle_overlays_speed_and_restart_seeds(fleet):
    v = Viewer(LiveSource(fleet, 3), headless=True, next_seed=100)
    ov = v.renderer.overlays
    for key, attr in (("h", "heatmap"), ("p", "paths"), ("g", "subgoals"), ("?", "help")):
        before = getattr(ov, attr)
        v.handle_key(key)
        assert getattr(ov, attr) is (not before)
    paused = v.paused
    v.handle_key("space")
    assert v.paused is (not paused)
    speed = v.speed
    v.handle_key("+")
    assert v.speed > speed
    v.handle_key("-")
    v.handle_key("-")
    assert v.speed < speed
    t = fleet.sim.t
    v.handle_key("right")
    assert fleet.sim.t == t + 1 and v.paused
    v.handle_key("r")
    assert v.source.seed == 100 and fleet.sim.t == 0 and fleet.sim.seed == 100
    v.handle_key("r")
    assert v.source.seed == 101
    v.handle_key("left")  # live runs cannot step back: a message, no change
    assert fleet.sim.t == 0 and "replay" in v.renderer.message
    v.paused = False
    assert v.update(0.5) == v.speed // 2


def test_screenshot_file_is_written(tmp_path):
    pygame = pytest.importorskip("pygame")
    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(700, 450))
    for _ in range(10):
        v.source.advance()
    v.handle_key("s")
    shots = list(tmp_path.glob("warehouse_*.png"))
    assert len(shots) == 1 and "screenshot saved" in v.renderer.message
    img = pygame.image.load(str(shots[0]))
    assert img.get_size() == (700, 450)


def test_gif_capture_writes_an_animation(tmp_path):
    imageio = pytest.importorskip("imageio")
    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(640, 400))
    v.handle_key("v")
    for _ in range(4):
        v.source.advance()
        v.draw()
    v.handle_key("v")
    files = list(tmp_path.glob("warehouse_*.*"))
    assert len(files) == 1 and files[0].suffix in (".gif", ".mp4")  # mp4 with imageio-ffmpeg
    frames = imageio.mimread(files[0])  # the plugin that wrote the file reads it back
    assert len(frames) == 4  # one frame per drawn step
    assert all(f.shape[:2] == (400, 640) for f in frames)  # rows × columns of the window


def test_a_capture_keeps_its_even_size_when_the_window_is_resized(tmp_path):
    """Video encoders want one even frame size: a capture started at 641×401 writes 640×400
    frames, and after a resize to 801×601 still 640×400 (cropped or padded)."""
    imageio = pytest.importorskip("imageio")
    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(641, 401))
    v.handle_key("v")
    for size in ((641, 401), (801, 601), (500, 300)):
        v._resize(*size)
        v.source.advance()
        v.draw()
    v.handle_key("v")
    (path,) = tmp_path.glob("warehouse_*.*")
    frames = imageio.mimread(path)
    assert len(frames) == 3 and all(f.shape[:2] == (400, 640) for f in frames)


def test_screenshots_and_captures_never_replace_a_file(tmp_path):
    pytest.importorskip("imageio")
    first = tmp_path / "warehouse_000000.png"
    first.write_bytes(b"an earlier screenshot")
    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(400, 300))
    shots = [v.screenshot() for _ in range(2)]
    assert [p.name for p in shots] == ["warehouse_000000-2.png", "warehouse_000000-3.png"]
    assert first.read_bytes() == b"an earlier screenshot"
    names = []
    for _ in range(2):  # two captures started at the same step
        v.handle_key("v")
        v.draw()
        names.append(v.toggle_capture().name)
    assert names[0] != names[1]


def test_the_wheel_and_a_drag_act_on_the_map_only(monkeypatch):
    pygame = pytest.importorskip("pygame")
    v = live_viewer("tiny", seed=0, headless=True, size=(640, 400))
    view = v.renderer.view
    cell = view.cell
    pointer = [(320, 10)]  # over the HUD
    monkeypatch.setattr(pygame.mouse, "get_pos", lambda: pointer[0])
    v.handle_event(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1))
    assert view.cell == cell
    v.select(0)  # the inspector panel opens on the right (and may pan to show robot 0)
    origin = (view.ox, view.oy)
    drag = [(pygame.MOUSEBUTTONDOWN, (630, 200)), (pygame.MOUSEMOTION, (560, 150)),
            (pygame.MOUSEMOTION, (500, 120)), (pygame.MOUSEBUTTONUP, (500, 120))]  # fmt: skip
    for kind, pos in drag:  # a drag that starts on the panel
        v.handle_event(pygame.event.Event(kind, pos=pos, button=1, rel=(0, 0), buttons=(1, 0, 0)))
    assert (view.ox, view.oy) == origin and v.selected == 0
    pointer[0] = (100, 200)  # over the map
    v.handle_event(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1))
    assert view.cell > cell


def recorded_tiny(path: Path, steps: int):
    """A recording of ``steps`` steps of ``tiny`` (seed 1), saved at ``path`` and loaded."""
    from warehouse.recording import EpisodeRecorder, load_recording

    f = make_fleet("tiny")
    f.reset(1)
    rec = EpisodeRecorder(f.sim, meta={"scenario": "tiny"})
    for _ in range(steps):
        rec.capture(f.sim, f.step())
    rec.save(path)
    return load_recording(path)


def test_left_at_the_first_frame_of_a_replay_says_so(tmp_path):
    from visualize.replay import replay_viewer

    v = replay_viewer(recorded_tiny(tmp_path / "r.npz", 5), headless=True)
    v.handle_key("left")
    assert v.source.k == 0 and v.renderer.message == "at the first frame"


def test_help_overlay_changes_the_image(fleet):
    r = Renderer(fleet.sim.floor, (800, 600))
    frame = frame_from_sim(fleet.sim, fleet.last)
    a = r.rgb_array() if r.draw(frame) else None
    r.overlays.help = True
    r.draw(frame)
    b = r.rgb_array()
    assert a.shape == b.shape and (a != b).any()


# ---------------------------------------------------------------------------------- CLI
def cli(args: list[str]) -> int:
    from warehouse.cli.main import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_view_headless_frames(tmp_path, capsys):
    out = tmp_path / "frames"
    assert (
        cli(
            [
                "view",
                "tiny",
                "--seed",
                "2",
                "--headless-frames",
                str(out),
                "--frames",
                "3",
                "--every",
                "5",
                "--select",
                "1",
                "--overlays",
                "hpg",
            ]
        )
        == 0
    )
    files = sorted(out.glob("frame_*.png"))
    assert [f.name for f in files] == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    assert "wrote 3 frame(s)" in capsys.readouterr().out


@pytest.fixture
def made_viewers(monkeypatch):
    """The viewers ``warehouse view`` builds in this test, in order."""
    from visualize import viewer as viewer_mod

    made = []
    real = viewer_mod.live_viewer

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(viewer_mod, "live_viewer", spy)
    return made


def test_cli_view_applies_scenario_settings(tmp_path, made_viewers, capsys):
    """``--set`` reaches the live run: parking strips widen the floor, parking fills them."""
    made = made_viewers
    argv = ["view", "tiny", "--headless-frames", str(tmp_path / "f"), "--frames", "1"]
    assert cli([*argv, "--set", "layout.parking_walls=[north]", "--set",
                "policies.park_idle=0", "--robots", "3"]) == 0  # fmt: skip
    assert cli([*argv[:3], str(tmp_path / "g"), "--frames", "1"]) == 0
    with_strip, plain = (v.source.fleet.sim for v in made)
    assert with_strip.floor.shape == (plain.floor.shape[0] + 1, plain.floor.shape[1])
    assert with_strip.n_robots == 3 and type(made[0].source.fleet.dispatcher).__name__ == (
        "IdleParking"
    )
    assert cli([*argv[:3], str(tmp_path / "h"), "--set", "fleet.robots=-1"]) == 2
    assert "fleet.robots" in capsys.readouterr().err


def test_cli_replay_of_a_recording(tmp_path):
    from warehouse.recording import EpisodeRecorder

    f = make_fleet("tiny")
    f.reset(0)
    rec = EpisodeRecorder(f.sim, meta={"scenario": "tiny", "seed": 0})
    for _ in range(30):
        rec.capture(f.sim, f.step())
    rec.save(tmp_path / "run.npz")
    out = tmp_path / "frames"
    assert (
        cli(
            [
                "replay",
                str(tmp_path / "run.npz"),
                "--start",
                "10",
                "--headless-frames",
                str(out),
                "--frames",
                "2",
                "--every",
                "20",
            ]
        )
        == 0
    )
    assert len(list(out.glob("frame_*.png"))) == 2


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert cli(["replay", str(tmp_path / "missing.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'missing.npz'}: no such file"]
    out = tmp_path / "x"
    assert cli(["view", "tiny", "--headless-frames", str(out), "--overlays", "z"]) == 2
    assert "--overlays" in capsys.readouterr().err
    assert cli(["view", "tiny", "--headless-frames", str(out), "--select", "99"]) == 2
    assert "--select" in capsys.readouterr().err
    assert cli(["view", "tiny", "--policy", "nope", "--headless-frames", str(out)]) == 2
    assert "--policy" in capsys.readouterr().err
    assert not out.exists()  # nothing written on bad input


def test_replay_steps_both_ways_and_scrubs_the_timeline(tmp_path):
    from visualize.replay import replay_viewer

    loaded = recorded_tiny(tmp_path / "r.npz", 40)
    v = replay_viewer(loaded, headless=True, size=(800, 500))
    src = v.source
    assert v.paused and src.k == 0
    for k in range(1, 41):  # forward: every frame shows the logged positions
        v.handle_key("right")
        assert src.k == k and np.array_equal(src.frame().pos, loaded.positions[k])
    v.handle_key("right")  # at the end: stays
    assert src.k == 40
    v.handle_key("left")
    v.handle_key("left")
    assert src.k == 38 and np.array_equal(src.frame().pos, loaded.positions[38])
    assert src.frame().kpis == compute_kpis(loaded.frame_sim(38))
    # clicking the middle of the timeline bar seeks to the middle frame
    x0, x1 = 10, v.renderer.size[0] - 150
    v.handle_click((x0 + x1) // 2, v.renderer.size[1] - 15)
    assert abs(src.k - 20) <= 1
    v.renderer.overlays.heatmap = True
    v.draw()  # heat rebuilt after the jump
    assert src.congestion._t == src.k


def test_window_loop_handles_events_and_quits(monkeypatch):
    pygame = pytest.importorskip("pygame")
    v = live_viewer("tiny", seed=0, headless=True, size=(640, 400))
    calls = []
    update = v.update

    def spy(dt: float) -> int:
        calls.append(dt)
        if len(calls) == 1:  # the window exists now: feed it a key and a click
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_h, unicode="H"))
            pygame.event.post(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1))
        if len(calls) == 4:
            pygame.event.post(pygame.event.Event(pygame.QUIT))
        return update(dt)

    v.update = spy
    # the pointer over the map (on the HUD the wheel zooms nothing); mouse.set_pos does not
    # move it under SDL's dummy video driver before SDL 2.30 (pygame-ce 2.5)
    monkeypatch.setattr(pygame.mouse, "get_pos", lambda: (320, 200))
    cell = v.renderer.view.cell
    v.run()
    assert len(calls) == 4
    assert v.renderer.overlays.heatmap and v.renderer.view.cell > cell
    assert not pygame.display.get_init()


def test_stuck_and_jammed_robots_are_marked_and_inspected(fleet):
    """A robot with no progress for ``physics.stuck_after`` steps gets the stuck mark in its
    cell's top-right corner, one past ``physics.jam_after`` the jammed mark, the others none;
    the inspector says how long and which."""
    sim = fleet.sim
    p = sim.config.physics
    sim.state.since_progress[:] = 0
    sim.state.since_progress[:2] = [p.stuck_after, p.jam_after]
    r = Renderer(sim.floor, (200, 170))
    frame = frame_from_sim(sim, fleet.last)
    canvas = r.draw(frame)
    c = r.view.cell
    margin = max(1, c // 8)
    size = c - 2 * margin
    k = max(2, size // 3)

    def corner(i: int) -> tuple[int, int, int]:
        x, y = r.view.cell_to_screen(sim.floor.pos[sim.state.pos[[i]]])
        return pixel(canvas, x[0] + margin + size - k // 2 - 1, y[0] + margin + k // 2)

    assert corner(0) == pal.STUCK and corner(1) == pal.JAMMED
    assert all(corner(i) not in (pal.STUCK, pal.JAMMED) for i in range(2, sim.n_robots))
    notes = [inspect_robot(frame, i) for i in range(3)]
    assert [(n.since_progress, n.stall_note) for n in notes] == [
        (p.stuck_after, " (stuck)"),
        (p.jam_after, " (jammed)"),
        (0, ""),
    ]


def _copy_weights(name: str, to: Path) -> None:
    from agents.learned import DEFAULT_WEIGHTS

    to.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(DEFAULT_WEIGHTS / f"{name}{suffix}", to.with_suffix(suffix))


def test_viewer_loads_the_checkpoint_of_the_scenario_file_like_a_run(tmp_path, monkeypatch):
    """A relative ``policies.navigator_checkpoint`` counts from the scenario file's folder in
    the viewer as in ``warehouse run``: the viewer runs the same network and trajectory, not a
    file of that name under the current folder."""
    from warehouse.model import WarehouseModel

    scenario = tmp_path / "sc" / "floor.yaml"
    _copy_weights("cql_pibt", scenario.parent / "nets" / "net.json")
    _copy_weights("cql", tmp_path / "cwd" / "nets" / "net.json")  # another network
    scenario.write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
        "fleet: {robots: 6}\nepisode: {steps: 40}\n"
        "policies: {navigator: cql, navigator_checkpoint: nets/net.json}\n"
    )
    monkeypatch.chdir(tmp_path / "cwd")
    model = WarehouseModel(scenario, seed=1, steps=40, per_robot=False)
    v = live_viewer(scenario, seed=1, headless=True, size=(700, 450))
    for _ in range(40):
        model.step()
        v.source.advance()
        assert np.array_equal(v.source.fleet.sim.state.pos, model.sim.state.pos)


def test_the_edges_of_a_floor_that_is_not_a_grid_are_drawn(tmp_path: Path):
    """A waypoint graph's moves are not implied by its cells: the line of a diagonal edge
    crosses a wall cell, and a one-way edge gets its head; a grid floor draws none."""
    import json

    nodes = [{"id": f"a{i}", "pos": [0, i], "kind": "aisle"} for i in range(4)]
    nodes += [
        {"id": "s", "pos": [2, 0], "kind": "station"},
        {"id": "p", "pos": [2, 2], "kind": "pick"},
    ]
    nodes.append({"id": "x", "pos": [1, 0], "kind": "aisle"})
    edges = [{"source": f"a{i}", "target": f"a{i + 1}"} for i in range(3)]
    edges += [{"source": "a0", "target": "x"}, {"source": "x", "target": "s"}]
    edges += [{"source": "s", "target": "p"}, {"source": "a3", "target": "p"}]  # p: a diagonal
    (tmp_path / "g.json").write_text(json.dumps(
        {"directed": False, "graph": {"name": "g"}, "nodes": nodes, "edges": edges}
    ))  # fmt: skip
    sc, src = load_scenario(tmp_path / "g.json")
    sc = apply_overrides(sc, {"fleet.robots": 1}, src)
    floor = build_floor(sc, src)
    assert not floor.is_grid
    r = Renderer(floor, (640, 400))
    canvas = r.draw(frame_from_sim(Simulation(floor, sc.sim_config())))
    (x0, y0), (x1, y1) = (r.view.cell_center(*floor.pos[floor.index_of(n)]) for n in ("a3", "p"))
    mid = ((x0 + x1) // 2, (y0 + y1) // 2)  # the middle of the diagonal a3-p: cell (1, 2.5)
    assert floor.cell_of[1, 2] < 0 and floor.cell_of[1, 3] < 0  # under it: walls
    assert pixel(canvas, *mid) == pal.ARROW
    grid = make_fleet("tiny").sim.floor
    assert len(Renderer(grid, (640, 400))._edges) == 0


def test_cli_view_zoom_centres_on_the_selected_robot_and_follows_it(tmp_path, made_viewers):
    """``--zoom N`` zooms in around the ``--select`` robot, and headless frames keep that robot
    inside the map area left of the inspector while it drives (without it, it leaves the view)."""
    base = ["view", "small", "--policy", "rule_based", "--size", "640x400", "--select", "4"]
    frames = ["--frames", "6", "--every", "40"]
    assert cli([*base, "--headless-frames", str(tmp_path / "a"), *frames]) == 0
    assert cli([*base, "--zoom", "4", "--headless-frames", str(tmp_path / "b"), *frames]) == 0
    fitted, zoomed = made_viewers
    assert zoomed.renderer.view.cell > fitted.renderer.view.cell
    r = zoomed.renderer
    x, y = r.robot_screen_center(zoomed.source.frame(), 4)
    fx, fy, fw, fh = r.free_rect()
    assert fx <= x < fx + fw and fy <= y < fy + fh
    assert zoomed.source.t == 200 and len(list((tmp_path / "b").glob("*.png"))) == 6
