"""More bad input, across every command: one line ``error: FILE: FIELD: MESSAGE``, exit code 2,
no traceback, nothing written, and nothing silently dropped (a repeated key or name, a value
given twice, a folder where a file belongs, a damaged report or recording)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from cli_helpers import TINY_LAYOUT, fails_cleanly


# ------------------------------------------------------------------ command-line usage errors
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "tiny", "--steps", "abc"], "--steps: Input should be a valid integer"),
        (["run", "tiny", "--stepz", "3"], "No such option: --stepz"),
        (["collect", "tiny", "--episodes", "0", "--out", "d"], "--episodes: Input should be"),
        (["sweep", "tiny", "--jobs", "0"], "--jobs: Input should be greater than or equal to 1"),
        (["compare", "a"], "Missing argument 'other'."),
        (["shadow", "tiny", "--seed", "-1"], "--seed: Input should be greater than or equal"),
        (["run", "tiny", "--collisions"], "Option '--collisions' requires an argument."),
        # a range check would speak of the bound; NaN and infinities are named instead
        (
            ["train-dispatcher", "tiny", "--out", "r", "--lr", "nan"],
            "--lr: expected a finite number, got nan",
        ),
        (
            ["collect", "tiny", "--out", "d", "--epsilon=-inf"],
            "--epsilon: expected a finite number, got -inf",
        ),
        (["collect", "tiny", "--out", "d", "--epsilon", "2"], "--epsilon: Input should be less"),
    ],
)
def test_usage_errors_are_one_line(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    """An option typer checks itself (type, range, unknown, missing) is one line too, not a
    usage box of several lines."""
    monkeypatch.chdir(tmp_path)
    fails_cleanly(argv, tmp_path, capsys, expected)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["run", "tiny", "--steps", "3", "--out", ""], "--out"),
        (["run", "tiny", "--steps", "3", "--out="], "--out"),
        (["sweep", "tiny", "--steps", "3", "--out", ""], "--out"),
        (["shadow", "tiny", "--steps", "3", "--out", ""], "--out"),
        (["train-dispatcher", "tiny", "--steps", "40", "--out", ""], "--out"),
        (["view", "tiny", "--headless-frames", ""], "--headless-frames"),
        (["run", "tiny", "--steps", "3", "--out", "o", "--record", ""], "--record"),
    ],
)
def test_empty_path_is_not_the_current_folder(argv, flag, tmp_path, monkeypatch, capsys) -> None:
    """``--out ""`` used to write a run's files into the current folder."""
    monkeypatch.chdir(tmp_path)
    fails_cleanly(argv, tmp_path, capsys, f"{flag}: empty path")


# ----------------------------------------------------------- a setting given twice or ignored
RUN = ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "3", "--out", "o"]
SHADOW = ["shadow", "tiny", "--steps", "3", "--out", "o"]
VIEW = ["view", "tiny", "--headless-frames", "f", "--frames", "1"]
COLLECT = ["collect", "tiny", "--steps", "3", "--out", "d"]
TRAIN_DISPATCHER = ["train-dispatcher", "tiny", "--steps", "40", "--out", "r"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([*RUN, "--set", "fleet.robots=3", "--set", "fleet.robots=4"], "--set fleet.robots: given"),
        ([*RUN, "--set", "robots=3", "--set", "fleet.robots=4"], "--set fleet.robots: given twice"),
        ([*RUN, "--robots", "3", "--set", "fleet.robots=4"], "--set fleet.robots: --robots sets"),
        ([*RUN, "--set", "episode.steps=9"], "--set episode.steps: --steps sets episode.steps"),
        ([*RUN, "--set", "collisions=pibt", "--collisions", "block"], "--set collisions: "),
        ([*SHADOW, "--set", "fleet.robots=3", "--set", "fleet.robots=4"], "--set fleet.robots"),
        ([*SHADOW, "--robots", "3", "--set", "fleet.robots=4"], "--set fleet.robots: --robots"),
        (
            [*SHADOW, "--candidate-set", "policies.task_swaps=true",
             "--candidate-set", "policies.task_swaps=false"],
            "--candidate-set policies.task_swaps: given twice",
        ),
        ([*VIEW, "--set", "fleet.robots=3", "--set", "fleet.robots=4"], "--set fleet.robots"),
        ([*VIEW, "--steps", "3", "--set", "episode.steps=9"], "--set episode.steps: --steps"),
        ([*COLLECT, "--robots", "3", "--set", "fleet.robots=4"], "--set fleet.robots: --robots"),
        (
            [*TRAIN_DISPATCHER, "--set", "weights.delay=0.1", "--set", "weights.delay=0.2"],
            "--set weights.delay: given twice",
        ),
    ],
)  # fmt: skip
def test_a_setting_given_twice_is_refused(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    """The last ``--set`` (or the flag) used to win silently."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.chdir(tmp_path)
    fails_cleanly(argv, tmp_path, capsys, expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "tiny", "--policy", "", "--steps", "3", "--out", "o"], "--policy: expected one"),
        (["run", "tiny", "--policy", "rule_based,rule_based"], "--policy: rule_based given twice"),
        (["collect", "tiny,tiny", "--steps", "3", "--out", "d"], "TARGET: tiny given twice"),
        (["collect", "tiny,,small", "--steps", "3", "--out", "d"], "TARGET: empty name"),
        (["collect", "", "--steps", "3", "--out", "d"], "TARGET: expected one or more names"),
        (["train-dispatcher", "tiny,tiny", "--steps", "40", "--out", "r"], "TARGET: tiny given"),
        (
            ["train-navigator", "--algo", "bc", "--data", "d,d", "--steps", "1", "--out", "r"],
            "--data: d given twice",
        ),
        (
            ["train-navigator", "--algo", "ppo", "--init", "m.json", "--scenarios", "tiny,tiny",
             "--steps", "1", "--out", "r"],
            "--scenarios: tiny given twice",
        ),
        (["bench", "--robots", "5,5", "--steps", "1"], "--robots: 5 given twice"),
        (["bench", "--robots", "5,05", "--steps", "1"], "--robots: fleet sizes repeat"),
    ],
)  # fmt: skip
def test_a_name_given_twice_or_empty_is_refused(argv, expected, tmp_path, monkeypatch, capsys):
    """A repeated scenario, dataset or fleet size used to count twice; an empty one was dropped
    (``--policy ""`` ran the default policies)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    fails_cleanly(argv, tmp_path, capsys, expected)


# --------------------------------------------------------------- a folder where a file belongs
def test_a_folder_given_as_a_checkpoint(tmp_path, monkeypatch, capsys) -> None:
    """``--learned .``, ``--init .`` and an ensemble member ``.`` used to end in a traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ck").mkdir()
    cases = [
        ([*COLLECT, "--learned", "ck", "--learned-share", "0.5"], "ck: --learned: is a folder"),
        (
            ["train-navigator", "--algo", "ppo", "--init", ".", "--steps", "1", "--out", "r"],
            ".: --init: is a folder",
        ),
        (["ensemble", ".", "x.json", "--out", "e"], ".: MEMBERS: is a folder"),
        (
            [*RUN, "--set", "policies.navigator_checkpoint=ck"],
            "policies.navigator_checkpoint: 'ck' is a folder",
        ),
    ]
    for argv, expected in cases:
        fails_cleanly(argv, tmp_path, capsys, expected)


def test_a_scenario_checkpoint_that_is_a_folder(tmp_path, capsys) -> None:
    (tmp_path / "nets").mkdir()
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"{TINY_LAYOUT}policies: {{navigator_checkpoint: nets}}\n", "utf-8")
    expected = f"{scenario}: policies.navigator_checkpoint: 'nets' is a folder"
    fails_cleanly(["validate", str(scenario)], tmp_path, capsys, expected)


#: faults.closures entries (tiny's floor: 7×13 cells; row 3 is an aisle, (1, 3) a shelf) and
#: the one-line error of each
BAD_CLOSURES = [
    (
        "[{cells: [[3, 3]], start_s: 1}, {cells: [[40, 3]], start_s: 1}]",
        "faults.closures[1].cells[0]: (40, 3) is not a floor cell: outside the floor (rows 0..6, "
        "cols 0..12)",
    ),
    (
        "[{cells: [[3, 3], [1, 3]], start_s: 1}]",
        "faults.closures[0].cells[1]: (1, 3) is not a floor cell: a shelf, wall or cell cut off",
    ),
    (
        "[{cells: [[3, 3], [3, 3]], start_s: 1}]",
        "faults.closures[0].cells[1]: (3, 3) is given twice",
    ),
    (
        "[{cells: [[3, 3]], start_s: 30, end_s: 30}]",
        "faults.closures[0].end_s: must be after start_s",
    ),
    (
        "[{cells: [[3, 3]], start_s: 30, end_s: 10}]",
        "faults.closures[0].end_s: must be after start_s",
    ),
    (
        "[{cells: [[3, 3]], start_s: -5}]",
        "faults.closures[0].start_s: Input should be greater than or equal to 0, got -5",
    ),
    ("[{cells: [[3, 3]], start_s: 1, end_s: -1}]", "faults.closures[0].end_s: Input should be"),
    ("[{cells: [[3, 3]], start_s: .nan}]", "faults.closures[0].start_s: Input should be a finite"),
    (
        "[{cells: [[3, 3]], start_s: true}]",
        "faults.closures[0].start_s: expected a number, got true",
    ),
    ("[{cells: [[3, 3]]}]", "faults.closures[0].start_s: Field required"),
    (
        "[{start_s: 1}]",
        "faults.closures[0]: give the cells or edges to close: cells, area, nodes or edges",
    ),
    ("[{cells: [[3]], start_s: 1}]", "faults.closures[0].cells[0]: expected [row, col], two whole"),
    ("[{cells: [3, 3], start_s: 1}]", "faults.closures[0].cells[0]: expected [row, col]"),
    ("[{cells: [[3, 2.5]], start_s: 1}]", "faults.closures[0].cells[0]: expected [row, col]"),
    (
        "[{cell: [[3, 3]], start_s: 1}]",
        "faults.closures[0].cell: unknown key (allowed: cells, area",
    ),
    ("[7]", "faults.closures[0]: expected a mapping"),
    ("{cells: [[3, 3]], start_s: 1}", "faults.closures: expected a list"),
    (
        "[{area: {from: [1, 3], to: [2, 6]}, start_s: 1}]",
        "faults.closures[0].area: (1, 3) to (2, 6) covers no floor cell",
    ),
    (
        "[{area: {from: [0, 0], to: [9, 0]}, start_s: 1}]",
        "faults.closures[0].area.to: (9, 0) lies outside the floor",
    ),
    (
        "[{area: {from: [0, 0], to: [1, 1], x: 1}, start_s: 1}]",
        "faults.closures[0].area.x: unknown key (allowed: from, to)",
    ),
    (
        "[{nodes: [a1], start_s: 1}]",
        "faults.closures[0].nodes[0]: 'a1' is not a floor node: this floor's nodes have no names",
    ),
    ("[{nodes: [true], start_s: 1}]", "faults.closures[0].nodes[0]: expected a node id"),
    (
        "[{cells: [[3, 3]], start_s: 0.2, end_s: 0.7}]",
        "faults.closures[0].end_s: 0.2 s to 0.7 s holds no step: steps begin every 1 s",
    ),
]


@pytest.mark.parametrize(("closures", "expected"), BAD_CLOSURES)
def test_bad_scheduled_closures(closures, expected, tmp_path, monkeypatch, capsys) -> None:
    """A bad ``faults.closures`` entry: the file and the entry's field on one line, exit 2,
    nothing written, from ``run`` and from ``validate``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(f"{TINY_LAYOUT}faults:\n  closures: {closures}\n", "utf-8")
    run = ["run", "s.yaml", "--steps", "5", "--seeds", "0", "--out", "out"]
    fails_cleanly(run, tmp_path, capsys, f"s.yaml: {expected}")
    fails_cleanly(["validate", "s.yaml"], tmp_path, capsys, f"s.yaml: {expected}")


def test_bad_closures_given_with_set_name_the_option(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(TINY_LAYOUT, "utf-8")
    bad = "faults.closures=[{cells: [[3, 3]], start_s: 3, end_s: 1}]"
    run = ["run", "s.yaml", "--steps", "5", "--seeds", "0", "--out", "out", "--set", bad]
    fails_cleanly(run, tmp_path, capsys, "--set faults.closures[0].end_s: must be after start_s")


def test_ensemble_checks_its_members_and_out(tmp_path, monkeypatch, capsys) -> None:
    """The same member twice used to average a network with itself; ``--out`` below a file or
    empty used to end in a traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text("{}", "utf-8")
    fails_cleanly(
        ["ensemble", "a.json", "./a.json", "--out", "e"], tmp_path, capsys, "a.json: MEMBERS: given"
    )
    fails_cleanly(
        ["ensemble", "a.json", "b.json", "--out", "a.json/e"],
        tmp_path,
        capsys,
        "a.json: --out: exists and is not a folder",
    )
    fails_cleanly(["ensemble", "a.json", "b.json", "--out", ""], tmp_path, capsys, "--out: empty")


# ---------------------------------------------------------- an --out holding an earlier run
@pytest.mark.parametrize(
    ("argv", "held"),
    [
        (RUN, "report.json"),
        (["sweep", "tiny", "--set", "fleet.robots=2,3", "--steps", "3", "--out", "o"], "sweep.csv"),
        (SHADOW, "shadow.json"),
    ],
)
def test_out_holding_an_earlier_run_is_refused(argv, held, tmp_path, monkeypatch, capsys) -> None:
    """Its files used to be replaced silently (other files in the folder are still fine)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / held).write_text("an earlier run", "utf-8")
    fails_cleanly(argv, tmp_path, capsys, f"o: --out: already holds {held}")
    assert (tmp_path / "o" / held).read_text("utf-8") == "an earlier run"


# ---------------------------------------------------------------- scenario and map files
@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("{station_walls: [west, west]}", "layout.station_walls: west given twice"),
        ("{station_walls: [west], parking_walls: [north, north]}", "layout.parking_walls: north"),
    ],
)
def test_a_wall_named_twice(layout, expected, tmp_path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"layout: {layout}\n", "utf-8")
    fails_cleanly(["validate", str(scenario)], tmp_path, capsys, f"{scenario}: {expected}")


NODES = '[{"id": 0, "pos": [0, 0], "kind": "station"}, {"id": 1, "pos": [0, 1], "kind": "pick"}]'
KEYS = (
    '<key id="r" for="node" attr.name="row" attr.type="double"/>'
    '<key id="c" for="node" attr.name="col" attr.type="double"/>'
    '<key id="k" for="node" attr.name="kind" attr.type="string"/>'
)


def graphml(nodes: str, keys: str = KEYS) -> str:
    return (
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        f'{keys}<graph edgedefault="undirected">{nodes}<edge source="a" target="b"/>'
        "</graph></graphml>"
    )


def node(name: str, row: int, col: int, kind: str, extra: str = "") -> str:
    data = f'<data key="r">{row}</data><data key="c">{col}</data><data key="k">{kind}</data>'
    return f'<node id="{name}">{data}{extra}</node>'


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "m.json",
            '{"nodes": ' + NODES + ', "edges": [], "nodes": [{"id": 0}]}',
            "nodes: key given twice in one JSON object",
        ),
        (
            "m.json",
            '{"nodes": ' + NODES + ', "edges": [{"source": 0, "target": 1}, '
            '{"source": 1, "target": 0, "length": 5}]}',
            "edges[1]: duplicate of edges[0]",
        ),
        (
            "m.graphml",
            graphml(node("a", 0, 0, "station") + node("b", 0, 1, "pick") + node("a", 5, 5, "pick")),
            "nodes[2]: node id 'a' repeats",
        ),
        (
            "m.graphml",
            graphml(
                node("a", 0, 0, "station", '<data key="k">pick</data>') + node("b", 0, 1, "pick")
            ),
            "node 'a': two values for key 'k'",
        ),
        (
            "m.graphml",
            graphml(
                node("a", 0, 0, "station") + node("b", 0, 1, "pick"),
                KEYS + '<key id="r" for="node" attr.name="kind" attr.type="string"/>',
            ),
            "key r: declared twice",
        ),
    ],
)  # fmt: skip
def test_graph_files_with_repeated_entries(name, text, expected, tmp_path, capsys) -> None:
    """JSON and networkx used to keep the last of two values silently."""
    (tmp_path / name).write_text(text, "utf-8")
    fails_cleanly(
        ["validate", str(tmp_path / name)], tmp_path, capsys, f"{tmp_path / name}: {expected}"
    )


# ------------------------------------------------------------------------- compare reports
def _report() -> dict[str, Any]:
    kpis = {"deliveries": {"mean": 2.0, "ci95": 1.0, "per_seed": [1, 3]}}
    return {"scenario": "t", "seeds": [0, 1], "steps": 30, "robots": 6,
            "runs": [{"policy": "rule_based", "kpis": kpis}]}  # fmt: skip


def _edit(path: str, value: Any) -> Any:
    def edit(report: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = report
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_edit("runs.0.kpis.deliveries.per_seed.0", float("nan")), "runs.0.kpis.deliveries."
         "per_seed.0: Input should be a finite number"),
        (_edit("runs.0.kpis.deliveries.per_seed.0", "NaN"), "runs.0.kpis.deliveries.per_seed.0"),
        (_edit("runs.0.kpis.deliveries.per_seed.0", True), "runs.0.kpis.deliveries.per_seed.0"),
        (_edit("steps", "30"), "steps: Input should be a valid integer"),
        (_edit("seeds", [0, 0]), "seeds: seeds repeat"),
        (_edit("seeds", [-1, 1]), "seeds: seeds must be ≥ 0"),
        (_edit("runs.0.kpis", {}), "runs.0.kpis: Dictionary should have at least 1 item"),
        (lambda r: r["runs"].append(r["runs"][0]), "runs: policy 'rule_based' appears twice"),
    ],
)  # fmt: skip
def test_compare_refuses_damaged_reports(edit, expected, tmp_path, capsys) -> None:
    """A NaN, a number as text or a repeated seed or policy used to be compared (a string
    ended in a traceback)."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_report()), "utf-8")
    report = _report()
    edit(report)
    bad.write_text(json.dumps(report), "utf-8")
    fails_cleanly(["compare", str(good), str(bad)], tmp_path, capsys, f"{bad}: {expected}")


def test_compare_refuses_a_repeated_json_key(tmp_path, capsys) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_report()), "utf-8")
    bad.write_text(json.dumps(_report())[:-1] + ', "steps": 99}', "utf-8")
    expected = f"{bad}: steps: key given twice"
    fails_cleanly(["compare", str(good), str(bad)], tmp_path, capsys, expected)


# ------------------------------------------------------------------------------ recordings
@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The arrays of a 5-step recording of ``tiny``."""
    from warehouse.cli.main import main

    folder = tmp_path_factory.mktemp("rec")
    argv = ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "5"]
    with pytest.raises(SystemExit) as done:
        main([*argv, "--out", str(folder / "o"), "--record", str(folder / "r.npz")])
    assert done.value.code == 0
    with np.load(folder / "r.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _meta(arrays: dict[str, np.ndarray], change: Any) -> dict[str, np.ndarray]:
    doc = json.loads(str(arrays["meta_json"]))
    change(doc)
    return {**arrays, "meta_json": np.asarray(json.dumps(doc))}


RECORDING_CASES = {
    "float positions": (lambda a: {**a, "pos": a["pos"] + 0.5}, "pos: expected whole numbers"),
    "phase out of range": (lambda a: {**a, "phase": a["phase"] * 0 + 9}, "phase: values outside"),
    "order out of range": (lambda a: {**a, "order": a["order"] * 0 + 999}, "order: values outside"),
    "action out of range": (lambda a: {**a, "actions": a["actions"] * 0 + 9}, "actions: values"),
    "NaN distance": (lambda a: {**a, "moved_m": a["moved_m"] * np.nan}, "moved_m: holds NaN"),
    "floor kind unknown": (lambda a: {**a, "floor_kind": a["floor_kind"] * 0 + 77}, "floor_kind"),
    "floor shorter": (lambda a: {**a, "floor_kind": a["floor_kind"][:-1]}, "floor_kind: shape"),
    "neighbour outside": (lambda a: {**a, "floor_nbr": a["floor_nbr"] + 10**6}, "floor_nbr"),
    "orders disagree": (
        lambda a: {**a, "orders_station": np.append(a["orders_station"], 0)},
        "orders_station: shape",
    ),
    "text array": (lambda a: {**a, "pos": a["pos"].astype(str)}, "pos: expected whole numbers"),
    "preferences shape": (
        lambda a: {**a, "preferences": a["preferences"][:, :, :2]},
        "preferences: shape",
    ),
    "cell size text": (
        lambda a: _meta(a, lambda d: d["floor"].update(cell_size="x")),
        "meta_json.floor.cell_size: expected a finite number > 0",
    ),
    "grid flag text": (
        lambda a: _meta(a, lambda d: d["floor"].update(is_grid="no")),
        "meta_json.floor.is_grid: expected true or false",
    ),
    "final counters text": (
        lambda a: _meta(a, lambda d: d["final"].update(deliveries="x")),
        "final.deliveries: expected",
    ),
    "config out of range": (
        lambda a: _meta(a, lambda d: d["config"]["fleet"].update(robots=-1)),
        "meta_json.config.fleet.robots: Input should be greater than or equal to 1",
    ),
    "repeated JSON key": (
        lambda a: {**a, "meta_json": np.asarray(str(a["meta_json"])[:-1] + ', "meta": {}}')},
        "meta_json: meta: key given twice",
    ),
}


@pytest.mark.parametrize("case", sorted(RECORDING_CASES))
def test_replay_refuses_damaged_recordings(case, recording, tmp_path, monkeypatch, capsys):
    """A damaged array used to end in a traceback mid-replay (after the frame folder was
    made), or to be shown as if nothing were wrong."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    change, expected = RECORDING_CASES[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **change(recording))
    argv = ["replay", str(path), "--headless-frames", str(tmp_path / "frames"), "--frames", "2"]
    fails_cleanly(argv, tmp_path, capsys, f"{path}: {expected}")


def test_an_untouched_recording_still_loads(recording, tmp_path) -> None:
    from warehouse.recording import load_recording

    np.savez(tmp_path / "ok.npz", **recording)
    assert load_recording(tmp_path / "ok.npz").steps == 5


# ----------------------------------------------------- result and benchmark scripts (python -m)
@pytest.mark.parametrize(
    ("module", "argv", "expected"),
    [
        (
            "agents.finetune_eval",
            ["--model", "m.json", "--scenarios", "faults,faults"],
            "--scenarios: faults given twice",
        ),
        (
            "agents.finetune_eval",
            ["--model", "m.json", "--collisions", "pibt,"],
            "--collisions: empty name",
        ),
        (
            "hierarchy.bench_dispatch",
            ["--scenarios", "medium,medium"],
            "--scenarios: medium given twice",
        ),
        (
            "hierarchy.bench_dispatch",
            ["--dispatchers", "greedy,greedy"],
            "--dispatchers: greedy given twice",
        ),
        ("warehouse.shield.bench_pibt", ["--robots", "100", "100"], "--robots: fleet sizes"),
        ("warehouse.shield.bench_pibt", ["--robotz", "100"], "unrecognized arguments"),
    ],
)
def test_scripts_refuse_repeats_in_one_line(module, argv, expected, capsys) -> None:
    """A repeated floor, mode or fleet size would print its rows twice: refused, one line."""
    import importlib

    with pytest.raises(SystemExit) as exc:
        importlib.import_module(module).main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: {expected}"), err
