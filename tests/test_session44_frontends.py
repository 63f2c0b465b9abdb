"""Session 44, front ends: a shadow folder's ``scenario.yaml`` records each side's own settings
(``policies.candidate_set`` / ``policies.incumbent_set``, as ``--candidate-set`` /
``--incumbent-set`` give them), so the file alone shadows the same sides again; those fields
are checked as the flags are, refused as ``--set`` where nothing reads them and skipped by
``warehouse compare``; a file's ``policies.candidate: a,b`` has its own message; the maps
folder is defined once (:mod:`warehouse.maps`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TINY, fails_cleanly, run_cli, run_ok, written_policies
from cli_helpers import assert_same_shadow as _same_shadow
from cli_helpers import shadow_into as _shadow
from cli_helpers import tiny_with_policies as _scenario

import warehouse
from scenarios import load_scenario
from warehouse.compare import compare_reports
from warehouse.runner import scenario_names_policy

REPO = Path(__file__).resolve().parents[1]
STEPS = ("--steps", "30")
#: a navigator checkpoint other than the one cql_pibt loads by default
OTHER_NAV = REPO / "agents" / "weights" / "cql_physical.safetensors"
#: a candidate whose own settings change its figures within 30 steps on tiny
CANDIDATE = ("--candidate", "ppo+cql_pibt")
#: a quick candidate with an order pool (no network)
HUNGARIAN = "rule_based:hungarian+rule_based"


# ------------------------------------------------ 1. shadow records each side's settings


def _written(folder: Path) -> dict[str, Any]:
    """The ``policies`` section of a shadow folder's ``scenario.yaml`` (empty: left out)."""
    return dict(written_policies(folder) or {})


def test_a_shadow_folder_shadows_its_sides_settings_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``shadow OUT/scenario.yaml`` ran the candidate with its default network and no guard,
    and the incumbent without parking: the flags' settings were in shadow.json only."""
    monkeypatch.chdir(REPO)  # (a relative checkpoint path counts from the current folder)
    first = _shadow(
        tmp_path, capsys, "a", TINY, *STEPS, *CANDIDATE,
        "--candidate-set", f"policies.navigator_checkpoint={OTHER_NAV.relative_to(REPO)}",
        "--candidate-set", "policies.max_order_age=3",
        "--incumbent-set", "policies.park_idle=4",
    )  # fmt: skip
    written = _written(tmp_path / "a")
    assert written["candidate_set"] == {
        "navigator_checkpoint": str(OTHER_NAV),  # (absolute: the file loads from anywhere)
        "max_order_age": 3,
    }
    assert written["incumbent_set"] == {"park_idle": 4}
    # (from the same folder: shadow.json names a network file under it relative to it)
    again = _shadow(tmp_path, capsys, "b", tmp_path / "a" / "scenario.yaml", *STEPS)
    _same_shadow(first, again)
    assert again[0]["candidate"]["settings"]["policies.max_order_age"] == 3
    assert again[0]["incumbent"]["settings"]["policies.park_idle"] == 4
    assert _written(tmp_path / "b") == written  # (and its own file records them again)
    # (the settings show in the figures: without them the candidate proposes otherwise)
    plain = _shadow(tmp_path, capsys, "c", TINY, *STEPS, *CANDIDATE)
    assert plain[0]["navigation"] != first[0]["navigation"]
    assert plain[0]["candidate"]["weights"] != first[0]["candidate"]["weights"]


def test_the_side_flags_win_over_the_file_key_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        "s.yaml",
        {"candidate": HUNGARIAN, "candidate_set": {"order_pool": 2, "max_order_age": 5}},
    )
    by_file = _shadow(tmp_path, capsys, "file", path, "--steps", "5")
    settings = by_file[0]["candidate"]["settings"]
    assert (settings["policies.order_pool"], settings["policies.max_order_age"]) == (2, 5)
    assert by_file[0]["incumbent"]["settings"]["policies.order_pool"] is None  # (one side's)
    flags = ("--steps", "5", "--candidate-set", "policies.max_order_age=9")
    by_flag = _shadow(tmp_path, capsys, "flag", path, *flags)
    settings = by_flag[0]["candidate"]["settings"]
    assert (settings["policies.order_pool"], settings["policies.max_order_age"]) == (2, 9)
    assert _written(tmp_path / "flag")["candidate_set"] == {"order_pool": 2, "max_order_age": 9}


def test_a_files_checkpoint_counts_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the file's own ``policies.navigator_checkpoint``: relative to the scenario file."""
    (tmp_path / "sub" / "w").mkdir(parents=True)
    copy = tmp_path / "sub" / "w" / OTHER_NAV.name
    for suffix in (".safetensors", ".json"):  # (the network and its settings)
        copy.with_suffix(suffix).write_bytes(OTHER_NAV.with_suffix(suffix).read_bytes())
    side = {"navigator_checkpoint": f"w/{OTHER_NAV.name}"}
    path = _scenario(
        tmp_path / "sub", "s.yaml", {"candidate": "ppo+cql_pibt", "candidate_set": side}
    )
    monkeypatch.chdir(tmp_path)  # (not the file's folder)
    summary, _ = _shadow(tmp_path, capsys, "o", path, "--steps", "3")
    assert summary["candidate"]["settings"]["policies.navigator_checkpoint"] == str(copy)
    assert _written(tmp_path / "o")["candidate_set"] == {"navigator_checkpoint": str(copy)}


ALLOWED = (
    "dispatcher_checkpoint, navigator_checkpoint, order_pool, anticipate, max_order_age, "
    "task_swaps, park_idle"
)


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ({"candidate_set": {"order_pool": 0}},
         "policies.candidate_set: order_pool: Input should be greater than or equal to 1, got 0"),
        ({"incumbent_set": {"max_order_age": "abc"}},
         "policies.incumbent_set: max_order_age: Input should be a valid number, got text 'abc'"),
        ({"candidate_set": {"order_poolx": 3}},
         f"policies.candidate_set: order_poolx: only {ALLOWED} can differ"),
        ({"candidate_set": {"policies.order_pool": 3}},
         "policies.candidate_set: policies.order_pool: only dispatcher_checkpoint"),
        ({"candidate_set": ["order_pool=3"]},
         "policies.candidate_set: expected a mapping (key: value)"),
        ({"candidate_set": {"park_idle": 3}},
         "policies.candidate_set: park_idle: the candidate's parking is never compared"),
        ({"candidate": "random", "candidate_set": {"dispatcher_checkpoint": "x.json"}},
         "policies.candidate_set: dispatcher_checkpoint: the dispatcher 'random' of 'random' "
         "loads no checkpoint"),
        ({"candidate": "rule_based:random+rule_based", "candidate_set": {"order_pool": 2}},
         "policies.candidate_set: order_pool: no dispatcher of this run has an order pool "
         "(random)"),
    ],
)  # fmt: skip
def test_a_files_side_settings_are_checked_as_the_flags_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policies: dict[str, Any], expected: str
) -> None:
    """One line naming the file and the field, exit 2, nothing written."""
    path = _scenario(tmp_path, "bad.yaml", policies)
    argv = ["shadow", str(path), "--steps", "3", "--out", str(tmp_path / "o")]
    fails_cleanly(argv, tmp_path, capsys, f"{path}: {expected}")


IGNORED = "its value would be ignored: "
SHADOW_READS = "only `warehouse shadow` reads it"


@pytest.mark.parametrize(
    ("argv", "item", "expected"),
    [
        (["run", "tiny", "--steps", "3", "--seeds", "0"], "policies.candidate_set={order_pool: 2}",
         f"--set policies.candidate_set: {IGNORED}{SHADOW_READS}"),
        (["run", "tiny", "--steps", "3", "--seeds", "0"],
         "policies={incumbent_set: {park_idle: 2}}",
         f"--set policies: {IGNORED}policies.incumbent_set: {SHADOW_READS}"),
        (["sweep", "tiny", "--steps", "3", "--seeds", "0"], "policies.incumbent_set={}",
         f"--set policies.incumbent_set: {IGNORED}{SHADOW_READS}"),
        (["view", "tiny", "--steps", "3"], "policies.candidate_set={order_pool: 2}",
         f"--set policies.candidate_set: {IGNORED}{SHADOW_READS}"),
        (["collect", "tiny", "--steps", "3", "--episodes", "1"],
         "policies.candidate_set={order_pool: 2}",
         f"--set policies.candidate_set: {IGNORED}{SHADOW_READS}"),
        (["shadow", "tiny", "--steps", "3"], "policies.candidate_set={order_pool: 2}",
         "--set policies.candidate_set: --candidate-set and --incumbent-set give each side"),
        (["shadow", "tiny", "--steps", "3"], "policies.incumbent_set={park_idle: 2}",
         "--set policies.incumbent_set: --candidate-set and --incumbent-set give each side"),
    ],
)  # fmt: skip
def test_a_set_side_setting_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], item: str, expected: str
) -> None:
    """Nothing but shadow reads them, and shadow takes the side flags: the value was ignored."""
    out = ["--headless-frames", str(tmp_path / "f")] if argv[0] == "view" else []
    out = out or ["--out", str(tmp_path / "out")]
    fails_cleanly([*argv, "--set", item, *out], tmp_path, capsys, expected)


def test_evaluate_and_make_env_refuse_the_side_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hierarchy import evaluate as ev

    monkeypatch.chdir(tmp_path)
    argv = ["--seeds", "1", "--steps", "5", "--configs", "rule_based (block)"]
    item = "policies.candidate_set={order_pool: 2}"
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", "o", *argv, "--scenarios", "small", "--set", item])
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"--set policies.candidate_set: {IGNORED}{SHADOW_READS}" in line, line
    assert not (tmp_path / "o").exists()
    for key in ("policies.candidate_set", "policies.incumbent_set"):
        with pytest.raises(ValueError, match=rf"{key}=.* has no effect in the env"):
            warehouse.make_env("tiny", **{key: {"order_pool": 2}})


def test_a_files_side_settings_load_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recorded data: they name no policy (the command's default policies still run), every
    command loads them, and a run's own scenario.yaml keeps them."""
    sides = {"candidate_set": {"order_pool": 2}, "incumbent_set": {"park_idle": 3}}
    path = _scenario(tmp_path, "c.yaml", sides)
    sc, _ = load_scenario(path)
    assert not scenario_names_policy(sc, {})
    runs = [
        ["run", str(path), "--policy", "rule_based", "--steps", "3", "--seeds", "0",
         "--out", str(tmp_path / "r")],
        ["sweep", str(path), "--steps", "3", "--seeds", "0", "--out", str(tmp_path / "sw")],
        ["validate", str(path)],
    ]  # fmt: skip
    for argv in runs:
        code, out, err = run_cli(argv, capsys)
        assert code == 0, (argv, out, err)
    assert {k: _written(tmp_path / "r")[k] for k in sides} == sides
    env = warehouse.make_env(path, seed=0)
    env.close()


def test_compare_lists_no_side_setting_as_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like policies.candidate, they are recorded data, not settings of the runs."""
    flags = ("--policy", "rule_based", "--steps", "5", "--seeds", "0")
    a_file = _scenario(tmp_path, "a.yaml", {"candidate_set": {"order_pool": 2}})
    b_file = _scenario(tmp_path, "b.yaml", {"incumbent_set": {"park_idle": 3}})
    a = run_ok(tmp_path / "a", capsys, a_file, *flags)
    b = run_ok(tmp_path / "b", capsys, b_file, *flags)
    assert _written(a) != _written(b)
    assert compare_reports(a, b)["differ"] == {}


# ------------------------------------------------ 4. a file's candidate list


def test_a_files_candidate_list_has_its_own_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said ``warehouse run --policy A,B runs several``: no advice for a shadow file."""
    path = _scenario(tmp_path, "two.yaml", {"candidate": "random, guided"})
    argv = ["shadow", str(path), "--steps", "3", "--out", str(tmp_path / "o")]
    line = fails_cleanly(argv, tmp_path, capsys, f"{path}: policies.candidate: ")
    assert line.endswith(
        "takes one policy, got 'random, guided' (shadow logs one candidate's decisions; shadow "
        "each candidate in turn)"
    ), line
    # (the flag gives the same advice since the forty-fifth session; the incumbent's keeps
    # run's, which compares several policies driving the floor)
    argv = ["shadow", "tiny", "--candidate", "a,b", "--out", str(tmp_path / "o")]
    line = fails_cleanly(argv, tmp_path, capsys, "--candidate: takes one policy, got 'a,b'")
    assert line.endswith("(shadow logs one candidate's decisions; shadow each candidate in turn)")
    argv = ["shadow", "tiny", "--incumbent", "a,b", "--out", str(tmp_path / "o")]
    line = fails_cleanly(argv, tmp_path, capsys, "--incumbent: takes one policy, got 'a,b'")
    assert "warehouse run --policy A,B runs several" in line


# ------------------------------------------------ 3. the maps folder, defined once


def test_the_maps_folder_is_defined_once(tmp_path: Path) -> None:
    import conftest

    from hierarchy import evaluate
    from warehouse import maps

    assert conftest.MAPS_VARIABLE is evaluate.MAPS_VARIABLE is maps.MAPS_VARIABLE
    assert conftest.SHARED_MAPS is evaluate.SHARED_MAPS is maps.SHARED_MAPS
    assert maps.SHARED_MAPS == REPO.parent / "shared" / "maps"  # (beside the checkout)
    variable = maps.MAPS_VARIABLE
    assert maps.maps_folder({variable: str(tmp_path)}) == tmp_path
    assert maps.named_maps_folder({variable: str(tmp_path)}) == tmp_path
    for unset in ({}, {variable: ""}):  # (set but empty: not set)
        assert maps.named_maps_folder(unset) is None
        assert maps.maps_folder(unset) == maps.SHARED_MAPS
