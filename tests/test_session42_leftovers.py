"""Session 42, leftovers of the front-end work: a ``--set policies.baseline`` that no part
reads is refused (a file's is recorded data, and loads); ``WarehouseEnv`` built directly runs a
file's ``policies.run`` as ``make_env`` does; shadow's ``scenario.yaml`` records the incumbent
that drove the floor."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, fails_cleanly, run_cli

import warehouse
from scenarios import build_floor, load_scenario
from warehouse.env import WarehouseEnv


def _scenario(tmp_path: Path, name: str, policies: dict[str, Any]) -> Path:
    """The built-in ``tiny`` scenario with this ``policies`` section."""
    path = tmp_path / name
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "policies": policies}), encoding="utf-8")
    return path


# ------------------------------------------------------ 1. --set policies.baseline, unread

IGNORED = "its value would be ignored: "
RUN_READS = "only `warehouse run` reads it"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["sweep", "tiny", "--steps", "3", "--seeds", "0"], "--set policies.baseline"),
        (["view", "tiny", "--steps", "3"], "--set policies.baseline"),
        (["shadow", "tiny", "--steps", "3"], "--set policies.baseline"),
        (["collect", "tiny", "--steps", "3", "--episodes", "1"], "--set policies.baseline"),
    ],
)
def test_a_set_baseline_is_refused_where_nothing_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    """These commands compare no policies: the ``--set`` was silently accepted."""
    out = ["--headless-frames", str(tmp_path / "f")] if argv[0] == "view" else []
    out = out or ["--out", str(tmp_path / "out")]
    fails_cleanly(
        [*argv, "--set", "policies.baseline=rule_based", *out],
        tmp_path,
        capsys,
        f"{field}: {IGNORED}{RUN_READS}",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "tiny", "--steps", "3", "--seeds", "0", "--set", "policies={baseline: random}"],
        ["view", "tiny", "--steps", "3", "--set", "policies={baseline: random}"],
    ],
)
def test_a_section_setting_the_baseline_is_refused_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    option = argv[-2]
    key = argv[-1].partition("=")[0]
    inside = "policies.baseline: " if key == "policies" else ""
    out = "--headless-frames" if argv[0] == "view" else "--out"
    fails_cleanly(
        [*argv, out, str(tmp_path / "out")],
        tmp_path,
        capsys,
        f"{option} {key}: {IGNORED}{inside}{RUN_READS}",
    )


def test_a_files_baseline_loads_and_runs_where_nothing_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder's ``scenario.yaml`` records ``--baseline``: recorded data, not a request.
    ``bench --policy`` refused a file whose baseline is not among the policies it times."""
    two = _scenario(tmp_path, "two.yaml", {"run": ["rule_based", "random"], "baseline": "random"})
    one = _scenario(tmp_path, "one.yaml", {"run": ["rule_based"], "baseline": "rule_based"})
    runs = [
        ["bench", "--scenario", str(two), "--policy", "rule_based", "--steps", "3"],
        ["sweep", str(one), "--steps", "3", "--seeds", "0", "--out", str(tmp_path / "sw")],
        ["shadow", str(one), "--steps", "3", "--out", str(tmp_path / "sh")],
    ]
    if importlib.util.find_spec("pygame") is not None:  # (view draws its frames with it)
        frames = ["--frames", "1", "--headless-frames", str(tmp_path / "f")]
        runs.append(["view", str(one), "--steps", "3", *frames])
    for argv in runs:
        code, out, err = run_cli(argv, capsys)
        assert code == 0, (argv, out, err)
    # warehouse run still checks it against the file's own list: it is the run that pairs
    out = ["--steps", "3", "--seeds", "0", "--out", str(tmp_path / "run")]
    code, _, err = run_cli(["run", str(one), "--set", "policies.run=[random]", *out], capsys)
    assert code == 0 and "policies.baseline 'rule_based' is not one of the policies" in err
    bad = _scenario(tmp_path, "bad.yaml", {"run": ["random"], "baseline": "rule_based"})
    code, _, err = run_cli(["run", str(bad), "--steps", "3"], capsys)
    assert code == 2 and "policies.baseline: 'rule_based' is not a policy of this run" in err


# ------------------------------------------------------ 2. WarehouseEnv built directly


def _direct(path: Path, **kwargs: Any) -> WarehouseEnv:
    sc, source = load_scenario(path)
    return WarehouseEnv(build_floor(sc, source), sc, source=source, **kwargs)


def _parts(env: Any) -> tuple[str, str]:
    return type(env.dispatcher).__name__, env.sim.config.physics.collisions


def test_a_directly_built_env_runs_the_files_list_as_make_env_does(tmp_path: Path) -> None:
    """``WarehouseEnv(floor, scenario)`` ran the file's own ``policies.dispatcher`` and
    ``policies.shield`` (random under block), where ``make_env`` ran the listed policy's."""
    path = _scenario(
        tmp_path,
        "own.yaml",
        {
            "dispatcher": "random",
            "shield": "block",
            "run": ["rule_based:hungarian+rule_based/pibt"],
        },
    )
    made, direct = warehouse.make_env(path), _direct(path)
    assert _parts(direct) == _parts(made) == ("HungarianDispatcher", "pibt")
    # the env's scenario says what runs: those parts, the list left out
    for env in (made, direct):
        assert (env.scenario.policies.dispatcher, env.scenario.policies.shield) == (
            "hungarian",
            "pibt",
        )
        assert env.scenario.policies.run is None
    # the same episode, move for move
    for env in (made, direct):
        env.reset(seed=4)
    for _ in range(5):
        a = made.step(dict.fromkeys(made.agents, 0))
        b = direct.step(dict.fromkeys(direct.agents, 0))
        assert json.dumps(a[1], sort_keys=True, default=str) == json.dumps(
            b[1], sort_keys=True, default=str
        )
    # a file that lists none runs its own parts, as before
    plain = _scenario(tmp_path, "plain.yaml", {"dispatcher": "random", "shield": "block"})
    assert _parts(_direct(plain)) == ("RandomDispatcher", "block")


def test_a_directly_built_env_refuses_a_list_that_differs_unless_a_dispatcher_is_given(
    tmp_path: Path,
) -> None:
    path = _scenario(tmp_path, "two.yaml", {"run": ["hierarchical", "rule_based"]})
    with pytest.raises(ValueError, match=r"^WarehouseEnv: .*make_env\(\.\.\., dispatcher=NAME\)"):
        _direct(path)
    greedy = warehouse.make_env("tiny").dispatcher
    # a dispatcher given is no choice of the list's; the modes still differ
    with pytest.raises(ValueError, match=r"collision modes block, pibt.*collisions=MODE"):
        _direct(path, dispatcher=greedy)
    same = _scenario(tmp_path, "same.yaml", {"run": ["hierarchical", "guided/pibt"]})
    assert _parts(_direct(same, dispatcher=greedy)) == ("GreedyDispatcher", "pibt")


# ------------------------------------------------------ 3. shadow records its incumbent


def _shadow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, target: Path, *flags: str
) -> dict[str, Any]:
    """``warehouse shadow TARGET FLAGS`` (30 steps): its shadow.json."""
    out = tmp_path / name
    argv = ["shadow", str(target), "--steps", "30", *flags, "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, (stdout, err)
    return json.loads((out / "shadow.json").read_text(encoding="utf-8"))


def _figures(summary: dict[str, Any]) -> tuple[Any, ...]:
    return summary["dispatch"], summary["navigation"], summary["collisions"]


def _listed(folder: Path) -> Any:
    data = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    return data.get("policies")


def test_shadows_scenario_yaml_records_the_incumbent_that_drove_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``--incumbent random`` on a file listing ``rule_based``, the written file listed
    ``rule_based`` (and its baseline): shadowing it again drove another incumbent."""
    path = _scenario(tmp_path, "s.yaml", {"run": ["rule_based"], "baseline": "rule_based"})
    cand = ("--candidate", "rule_based")
    first = _shadow(tmp_path, capsys, "first", path, "--incumbent", "random", *cand)
    # (no baseline of another policy; the candidate: tests/test_session43_frontends.py)
    assert _listed(tmp_path / "first") == {"run": ["random"], "candidate": "rule_based"}
    again = _shadow(tmp_path, capsys, "again", tmp_path / "first" / "scenario.yaml", *cand)
    assert again["incumbent"]["policy"] == "random"
    assert _figures(again) == _figures(first)
    # (the figures tell the incumbents apart: the file's own drives another floor)
    own = _shadow(tmp_path, capsys, "own", path, *cand)
    assert own["incumbent"]["policy"] == "rule_based"
    assert _figures(own) != _figures(first)
    assert _listed(tmp_path / "own") == {
        "run": ["rule_based"],
        "baseline": "rule_based",
        "candidate": "rule_based",
    }


def test_shadows_scenario_yaml_names_the_incumbents_collision_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--collisions`` set the floor's mode; the written file lists the incumbent with it, as
    ``run --policy rule_based --collisions pibt`` lists ``rule_based/pibt``."""
    path = _scenario(tmp_path, "s.yaml", {"run": ["random"]})
    cand = ("--candidate", "rule_based/pibt")
    flags = ("--incumbent", "rule_based", "--collisions", "pibt", *cand)
    first = _shadow(tmp_path, capsys, "first", path, *flags)
    assert _listed(tmp_path / "first") == {
        "run": ["rule_based/pibt"],
        "candidate": "rule_based/pibt",
    }
    again = _shadow(tmp_path, capsys, "again", tmp_path / "first" / "scenario.yaml", *cand)
    assert again["collisions"] == first["collisions"] == "pibt"
    assert _figures(again) == _figures(first)


def test_evaluate_refuses_a_set_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m hierarchy.evaluate --set policies.baseline=...`` ran every config without it."""
    from hierarchy import evaluate as ev

    monkeypatch.chdir(tmp_path)
    argv = ["--seeds", "1", "--steps", "5", "--configs", "rule_based (block)"]
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", "o", *argv, "--scenarios", "small", "--set", "policies.baseline=x"])
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"--set policies.baseline: {IGNORED}{RUN_READS}" in line, line
    assert not (tmp_path / "o").exists()
