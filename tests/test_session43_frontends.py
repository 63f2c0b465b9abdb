"""Session 43, front ends: a shadow folder's ``scenario.yaml`` records the candidate that ran
(``policies.candidate``, with ``--collisions`` in its name), so the file alone shadows it again;
``--set policies.candidate`` is refused where nothing reads it; ``WAREHOUSE_MAPS`` names the
shared maps to the tests and to ``python -m hierarchy.evaluate``."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TINY, fails_cleanly, run_cli, run_ok, shadow_into, written_policies
from cli_helpers import assert_same_shadow as _same_shadow
from cli_helpers import tiny_with_policies as _scenario
from conftest import MAPS_VARIABLE, SHARED_MAPS, shared_maps_folder

import warehouse
from scenarios import load_scenario
from warehouse.compare import compare_reports
from warehouse.runner import scenario_names_policy

STEPS = ("--steps", "30")


def _written(folder: Path) -> dict[str, Any]:
    """The ``policies`` section of a shadow folder's ``scenario.yaml`` (empty: left out)."""
    return dict(written_policies(folder) or {})


def _shadow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, target: Path, *flags: str
) -> tuple[dict[str, Any], bytes]:
    """``warehouse shadow TARGET --steps 30 FLAGS --out NAME``: shadow.json, divergences.csv."""
    return shadow_into(tmp_path, capsys, name, target, *STEPS, *flags)


# ------------------------------------------------------ 1. shadow records its candidate


def test_a_shadow_folder_shadows_its_candidate_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``shadow OUT/scenario.yaml`` shadowed the default candidate (hierarchical), not
    ``--candidate random``, which OUT ran."""
    first = _shadow(tmp_path, capsys, "a", TINY, "--candidate", "random")
    assert _written(tmp_path / "a")["candidate"] == "random"
    again = _shadow(tmp_path, capsys, "b", tmp_path / "a" / "scenario.yaml")
    assert again[0]["candidate"]["policy"] == "random"
    _same_shadow(first, again)
    assert first[0]["navigation"]["decisions"] > 0
    # (the figures tell the candidates apart: the default one shadows otherwise)
    default = _shadow(tmp_path, capsys, "c", TINY)
    assert default[0]["candidate"]["policy"] == "hierarchical"
    assert default[0]["navigation"] != first[0]["navigation"]
    # the written file pairs the same way again: B's file is A's
    assert (tmp_path / "b" / "scenario.yaml").read_bytes() == (
        tmp_path / "a" / "scenario.yaml"
    ).read_bytes()


def test_the_written_candidate_names_the_collision_mode_it_proposed_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--collisions block`` sets the candidate's mode too (hierarchical then proposes with
    its network for block): the file records ``hierarchical/block``; re-shadowing it with
    ``--candidate hierarchical``, as the README said to, proposed with the pibt network."""
    first = _shadow(tmp_path, capsys, "a", TINY, "--collisions", "block")
    assert _written(tmp_path / "a")["candidate"] == "hierarchical/block"
    written = tmp_path / "a" / "scenario.yaml"
    _same_shadow(first, _shadow(tmp_path, capsys, "b", written))
    plain = _shadow(tmp_path, capsys, "c", written, "--candidate", "hierarchical")
    assert plain[0]["collisions"] == "block"
    assert plain[0]["navigation"] != first[0]["navigation"]


def test_the_candidate_flag_wins_over_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "s.yaml", {"candidate": "random"})
    by_file = _shadow(tmp_path, capsys, "file", path)
    assert by_file[0]["candidate"]["policy"] == "random"
    by_flag = _shadow(tmp_path, capsys, "flag", path, "--candidate", "rule_based")
    assert by_flag[0]["candidate"]["policy"] == "rule_based"
    assert _written(tmp_path / "flag")["candidate"] == "rule_based"
    assert by_flag[0]["navigation"]["agreement"] == 1.0  # (rule_based beside rule_based)
    assert by_file[0]["navigation"]["agreement"] < 1.0


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("ghost", "policies.candidate: unknown policy 'ghost'"),
        ("a,b", "policies.candidate: takes one policy, got 'a,b'"),
        ("rule_based:hungarian", "policies.candidate: cannot read the policy"),
    ],
)
def test_a_files_candidate_that_does_not_resolve_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], candidate: str, expected: str
) -> None:
    path = _scenario(tmp_path, "bad.yaml", {"candidate": candidate})
    argv = ["shadow", str(path), "--steps", "5", "--out", str(tmp_path / "o")]
    fails_cleanly(argv, tmp_path, capsys, f"{path}: {expected}")


def test_an_empty_candidate_is_refused_by_the_schema(tmp_path: Path) -> None:
    from warehouse.errors import InputError

    path = _scenario(tmp_path, "empty.yaml", {"candidate": ""})
    with pytest.raises(InputError, match=r"policies\.candidate"):
        load_scenario(path)


IGNORED = "its value would be ignored: "
SHADOW_READS = "only `warehouse shadow` reads it"


@pytest.mark.parametrize(
    ("argv", "item", "expected"),
    [
        (["run", "tiny", "--steps", "3", "--seeds", "0"], "policies.candidate=random",
         f"--set policies.candidate: {IGNORED}{SHADOW_READS}"),
        (["run", "tiny", "--steps", "3", "--seeds", "0"], "policies={candidate: random}",
         f"--set policies: {IGNORED}policies.candidate: {SHADOW_READS}"),
        (["sweep", "tiny", "--steps", "3", "--seeds", "0"], "policies.candidate=random",
         f"--set policies.candidate: {IGNORED}{SHADOW_READS}"),
        (["view", "tiny", "--steps", "3"], "policies.candidate=random",
         f"--set policies.candidate: {IGNORED}{SHADOW_READS}"),
        (["collect", "tiny", "--steps", "3", "--episodes", "1"], "policies.candidate=random",
         f"--set policies.candidate: {IGNORED}{SHADOW_READS}"),
        (["shadow", "tiny", "--steps", "3"], "policies.candidate=random",
         "--set policies.candidate: --incumbent and --candidate pick the policies"),
    ],
)  # fmt: skip
def test_a_set_candidate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], item: str, expected: str
) -> None:
    """Nothing but shadow reads it, and shadow takes ``--candidate``: the value was ignored."""
    out = ["--headless-frames", str(tmp_path / "f")] if argv[0] == "view" else []
    out = out or ["--out", str(tmp_path / "out")]
    fails_cleanly([*argv, "--set", item, *out], tmp_path, capsys, expected)


def test_shadow_still_refuses_a_set_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["shadow", "tiny", "--steps", "3", "--out", str(tmp_path / "o")]
    fails_cleanly(
        [*argv, "--set", "policies.baseline=rule_based"],
        tmp_path,
        capsys,
        f"--set policies.baseline: {IGNORED}only `warehouse run` reads it",
    )


def test_evaluate_and_make_env_refuse_a_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hierarchy import evaluate as ev

    monkeypatch.chdir(tmp_path)
    argv = ["--seeds", "1", "--steps", "5", "--configs", "rule_based (block)"]
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", "o", *argv, "--scenarios", "small", "--set", "policies.candidate=x"])
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"--set policies.candidate: {IGNORED}{SHADOW_READS}" in line, line
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match=r"policies\.candidate='x' has no effect in the env"):
        warehouse.make_env("tiny", **{"policies.candidate": "x"})


def test_a_files_candidate_loads_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recorded data: it names no policy (the command's default policies still run) and every
    command loads it."""
    path = _scenario(tmp_path, "c.yaml", {"candidate": "random"})
    sc, _ = load_scenario(path)
    assert not scenario_names_policy(sc, {})
    runs = [
        ["run", str(path), "--policy", "rule_based", "--steps", "3", "--seeds", "0",
         "--out", str(tmp_path / "r")],
        ["bench", "--scenario", str(path), "--policy", "rule_based", "--steps", "3"],
        ["sweep", str(path), "--steps", "3", "--seeds", "0", "--out", str(tmp_path / "sw")],
        ["validate", str(path)],
    ]  # fmt: skip
    if importlib.util.find_spec("pygame") is not None:  # (view draws its frames with it)
        runs.append(["view", str(path), "--steps", "3", "--frames", "1",
                     "--headless-frames", str(tmp_path / "f")])  # fmt: skip
    for argv in runs:
        code, out, err = run_cli(argv, capsys)
        assert code == 0, (argv, out, err)
    assert _written(tmp_path / "r")["candidate"] == "random"  # (run keeps it, recorded)
    env = warehouse.make_env(path, seed=0)
    env.close()


def test_compare_lists_no_candidate_as_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like policies.baseline, the candidate is recorded data, not a setting of the runs."""
    flags = ("--policy", "rule_based", "--steps", "5", "--seeds", "0")
    a = run_ok(tmp_path / "a", capsys, _scenario(tmp_path, "a.yaml", {"candidate": "random"}),
               *flags)  # fmt: skip
    b = run_ok(tmp_path / "b", capsys, _scenario(tmp_path, "b.yaml", {"candidate": "guided"}),
               *flags)  # fmt: skip
    assert _written(a)["candidate"] != _written(b)["candidate"]
    assert compare_reports(a, b)["differ"] == {}


# ------------------------------------------------------ 2. WAREHOUSE_MAPS

#: a small MovingAI map (shelves in rows), standing in for lorr/warehouse_small.map
SHELVES = "..........\n.@@@..@@@.\n"
SMALL_MAP = "type octile\nheight 7\nwidth 10\nmap\n" + SHELVES * 3 + "..........\n"


def test_the_maps_variable_names_the_tests_maps_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAPS_VARIABLE, str(tmp_path))
    assert shared_maps_folder() == tmp_path
    # a folder that is not there fails the map tests, naming the variable (it skipped them all)
    missing = tmp_path / "nope"
    monkeypatch.setenv(MAPS_VARIABLE, str(missing))
    named = re.escape(f"{MAPS_VARIABLE}={missing}: no such folder")
    with pytest.raises(pytest.fail.Exception, match=named):
        shared_maps_folder()
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.setenv(MAPS_VARIABLE, str(tmp_path / "file"))
    with pytest.raises(pytest.fail.Exception, match="is not a folder"):
        shared_maps_folder()
    # not set (or empty): the folder beside the checkout, skipped where it is not there
    for unset in (True, False):
        if unset:
            monkeypatch.delenv(MAPS_VARIABLE)
        else:
            monkeypatch.setenv(MAPS_VARIABLE, "")
        if SHARED_MAPS.is_dir():
            assert shared_maps_folder() == SHARED_MAPS
        else:
            with pytest.raises(pytest.skip.Exception):
                shared_maps_folder()


def _evaluate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``python -m hierarchy.evaluate ARGV`` on the LoRR floor: (exit code, stderr)."""
    from hierarchy import evaluate as ev

    base = ["--seeds", "1", "--steps", "5", "--configs", "rule_based (block)"]
    try:
        ev.main([*argv, *base, "--scenarios", "lorr_warehouse_small"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def test_evaluate_reads_the_maps_the_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``WAREHOUSE_MAPS`` is ``--maps``'s default; an explicit ``--maps`` wins."""
    monkeypatch.chdir(tmp_path)
    maps = tmp_path / "maps"
    (maps / "lorr").mkdir(parents=True)
    (maps / "lorr" / "warehouse_small.map").write_text(SMALL_MAP, encoding="utf-8")
    monkeypatch.setenv(MAPS_VARIABLE, str(maps))
    code, err = _evaluate(["--out", "a"], capsys)
    assert code == 0, err
    rows = json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))
    assert {row["scenario"] for row in rows} == {"lorr_warehouse_small"}
    # the folder it names is read: one without the map is an error naming the variable
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(MAPS_VARIABLE, str(tmp_path / "empty"))
    code, err = _evaluate(["--out", "b"], capsys)
    assert code == 2
    assert err.strip().endswith(
        f"error: {MAPS_VARIABLE}: lorr_warehouse_small needs the map file "
        f"{tmp_path / 'empty' / 'lorr' / 'warehouse_small.map'}, which is not there"
    ), err
    assert not (tmp_path / "b").exists()
    monkeypatch.setenv(MAPS_VARIABLE, str(tmp_path / "nope"))
    code, err = _evaluate(["--out", "b"], capsys)
    assert code == 2
    assert err.strip() == f"error: {MAPS_VARIABLE}: {tmp_path / 'nope'}: no such folder", err
    # --maps wins over the variable
    code, err = _evaluate(["--out", "c", "--maps", str(maps)], capsys)
    assert code == 0, err
    assert (tmp_path / "c" / "results.json").is_file()
