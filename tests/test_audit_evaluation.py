"""Audit of the evaluation and weight-building entry points: ``python -m hierarchy.evaluate``,
``agents.evaluate``, ``agents.finetune_eval``, ``hierarchy.bench_dispatch`` and the two
``make_weights`` commands (bad input in one line, rows that say what they measured, the summary's
arithmetic, ``--check``, and the command lines the docs cite)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import snapshot

import hierarchy.evaluate as ev
from hierarchy.evaluate_rows import read_rows
from hierarchy.evaluate_summary import summarize

ROOT = Path(__file__).resolve().parents[1]
#: one cheap run: one floor, one rule-based config, one seed, a few steps
CHEAP = ["--seeds", "1", "--steps", "5", "--scenarios", "small", "--configs", "rule_based (block)"]


def fails(main: Any, argv: list[str], root: Path, capsys: Any, expected: str) -> str:
    """``main(argv)`` exits 2 with one line starting ``error: EXPECTED``, no traceback, and
    ``root`` unchanged; returns the line."""
    before = snapshot(root)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), err
    assert "Traceback" not in out + err
    assert snapshot(root) == before
    return lines[0]


@pytest.fixture
def no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input must be refused before any run starts."""

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a run started on bad input")

    monkeypatch.setattr(ev, "_task", must_not_run)


# --- hierarchy.evaluate: arguments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("afile", "afile: --out: exists and is not a folder"),
        ("afile/sub", "afile/sub: --out: 'afile' is a file, not a folder"),
    ],
)
def test_evaluate_out_that_cannot_be_a_folder_is_one_line(
    out, expected, tmp_path, monkeypatch, capsys, no_runs
) -> None:
    """It was a FileExistsError / NotADirectoryError traceback from ``mkdir``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    fails(ev.main, ["--out", out, *CHEAP], tmp_path, capsys, expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--seeds", "0"], "--seeds: expected a whole number ≥ 1, got 0"),
        (["--steps", "0"], "--steps: expected a whole number ≥ 1, got 0"),
        (["--steps", "-5"], "--steps: expected a whole number ≥ 1, got -5"),
        (["--jobs", "0"], "--jobs: expected a whole number ≥ 1, got 0"),
    ],
)
def test_evaluate_counts_below_one_are_refused(
    argv, expected, tmp_path, monkeypatch, capsys, no_runs
) -> None:
    """``--seeds 0`` wrote an empty results.json (which ``--merge`` then refuses) and
    ``--steps 0`` rows that ``--merge`` refuses (steps ≥ 1); ``--jobs 0`` ran as 1."""
    monkeypatch.chdir(tmp_path)
    fails(ev.main, ["--out", "o", *CHEAP, *argv], tmp_path, capsys, expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lookahead", "0"], "--lookahead: Input should be greater than or equal to 1"),
        (["--park-idle", "-1"], "--park-idle: Input should be greater than or equal to 0"),
        (["--max-order-age", "-5"], "--max-order-age: Input should be greater than 0"),
        (
            ["--set", "policies.navigator_checkpoint=agents/weights/cql.json"],
            "--set policies.navigator_checkpoint: no navigator of this run loads a checkpoint",
        ),
    ],
)
def test_evaluate_bad_dispatch_flags_are_refused_before_any_run(
    argv, expected, tmp_path, capsys, no_runs
) -> None:
    """A dispatch flag's bad value was an InputError traceback from the first run, after the
    output folder was made (left empty); a checkpoint no config loads was silently ignored."""
    argv = [a.replace("agents/", f"{ROOT}/agents/") for a in argv]
    fails(ev.main, ["--out", str(tmp_path / "o"), *CHEAP, *argv], tmp_path, capsys, expected)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_evaluate_a_run_that_fails_is_one_line_from_any_process(jobs, tmp_path, capsys) -> None:
    """An InputError in a run (here a BC network given to the CQL navigator) was a traceback
    and left the output folder behind; from a worker process (``--jobs 2``) too. It is one line
    naming the file, the field and the run, and nothing is written."""
    bc = ROOT / "agents" / "weights" / "bc.json"
    argv = ["--out", str(tmp_path / "o"), "--seeds", "2", "--steps", "3", "--scenarios", "small"]
    argv += ["--configs", "greedy + cql frozen (pibt)", "--jobs", jobs]
    argv += ["--set", f"policies.navigator_checkpoint={bc}"]
    from warehouse.errors import display_path

    expected = f"{display_path(bc)}: algo: checkpoint holds a 'bc' network"
    line = fails(ev.main, argv, tmp_path, capsys, expected)
    assert line.endswith("(small, greedy + cql frozen (pibt), seed 0)")


# --- hierarchy.evaluate: rows -----------------------------------------------------------------


def test_evaluate_a_navigator_checkpoint_reaches_the_navigator(monkeypatch) -> None:
    """``--set policies.navigator_checkpoint`` was recorded in the rows' ``weights`` but the
    navigator was built without it, so the rows measured the shipped network."""
    from agents.registry import NAVIGATORS

    given: list[Any] = []
    real = NAVIGATORS["cql"]

    def spy(**kwargs: Any) -> Any:
        given.append(kwargs.get("checkpoint"))
        return real(**kwargs)

    monkeypatch.setitem(NAVIGATORS, "cql", spy)
    pibt = ROOT / "agents" / "weights" / "cql_pibt.json"
    ev.run_one("tiny", "greedy", "cql", "pibt", 0, 2, {})
    ev.run_one("tiny", "greedy", "cql", "pibt", 0, 2, {"policies.navigator_checkpoint": str(pibt)})
    assert given == [None, pibt]


def test_rows_record_the_networks_their_parts_ran() -> None:
    """A part that loads a ``--set`` checkpoint records it; ``cql_tuned`` (which loads none)
    records the shipped network it runs, not the checkpoint."""
    from warehouse.errors import display_path

    pibt = ROOT / "agents" / "weights" / "cql_pibt.json"
    given = {"policies.navigator_checkpoint": str(pibt)}
    _, frozen = ev.run_recorded("tiny", "greedy", "cql", "block", 0, 2, given)
    assert frozen["navigator"]["file"] == display_path(pibt)
    _, tuned = ev.run_recorded("tiny", "ppo", "cql_tuned", "block", 0, 2, given)
    assert set(tuned) == {"dispatcher", "navigator"}  # the PPO dispatcher and one network
    assert tuned["navigator"]["file"] == display_path(ROOT / "agents" / "weights" / "cql.json")
    assert ev.run_recorded("tiny", "greedy", "rule_based", "block", 0, 2, given)[1] == {}


def test_evaluate_rows_repeat_and_do_not_depend_on_jobs(tmp_path) -> None:
    """The same arguments give identical rows, with one process or two; each row records its
    seed, steps and config parts."""
    argv = ["--seeds", "2", "--steps", "15", "--scenarios", "small"]
    argv += ["--configs", "rule_based (block),rule_based (pibt)", "--park-idle", "5"]
    runs = []
    for name, jobs in (("a", "1"), ("b", "1"), ("c", "2")):
        ev.main(["--out", str(tmp_path / name), *argv, "--jobs", jobs])
        runs.append((tmp_path / name / "results.json").read_text())
    assert runs[0] == runs[1] == runs[2]
    rows = json.loads(runs[0])
    assert [(r["config"], r["seed"]) for r in rows] == [
        ("rule_based (block)", 0), ("rule_based (block)", 1),
        ("rule_based (pibt)", 0), ("rule_based (pibt)", 1),
    ]  # fmt: skip
    assert all(r["steps"] == 15 and r["park_idle"] == 5.0 for r in rows)
    assert {(r["dispatcher"], r["navigator"]) for r in rows} == {("greedy", "rule_based")}


_ROW = {"scenario": "s", "config": "x", "seed": 0, "seen_in_training": False}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({k: v for k, v in _ROW.items() if k != "seen_in_training"}, "row 0 seen_in_training: "),
        ({**_ROW, "seen_in_training": "no"}, "row 0 seen_in_training: expected true or false"),
        ({**_ROW, "deliveries": "many"}, "row 0 deliveries: expected a number or null"),
        ({**_ROW, "lookahead": "4"}, "row 0 lookahead: expected a number or null"),
        ({**_ROW, "robots": True}, "row 0 robots: expected a number or null"),
        ({**_ROW, "settings": [1]}, "row 0 settings: expected an object of settings"),
        ({**_ROW, "weights": "abc"}, "row 0 weights: expected an object of networks"),
        ({**_ROW, "navigator": ["cql"]}, "row 0 navigator: expected a name"),
        ({**_ROW, "task_swaps": "yes"}, "row 0 task_swaps: expected true or false"),
    ],
)
def test_merge_refuses_rows_the_summary_cannot_read(row, expected, tmp_path, capsys) -> None:
    """Such rows passed the check and broke the summary (KeyError, ValueError, TypeError,
    AttributeError tracebacks) after results.json had been written."""
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps([row]))
    argv = ["--out", str(tmp_path / "o"), "--configs", "none", "--merge", str(path)]
    fails(ev.main, argv, tmp_path, capsys, f"--merge: {path}: {expected}")


def test_every_committed_results_file_can_be_merged() -> None:
    """The row check refuses nothing that the committed tables were made of."""
    files = [
        p
        for p in sorted((ROOT / "docs").rglob("results.json"))
        if '"seen_in_training"' in p.read_text(encoding="utf-8")
    ]
    assert len(files) > 10
    for path in files:
        assert read_rows(path)


# --- hierarchy.evaluate: summary.md -----------------------------------------------------------


def _row(config: str, seed: int, deliveries: int, **kpis: Any) -> dict[str, Any]:
    shares = {"empty_travel_share": 0.2, "loaded_travel_share": 0.3, "handling_share": 0.1,
              "blocked_share": 0.05}  # fmt: skip
    return {"scenario": "s", "seen_in_training": False, "config": config, "seed": seed,
            "deliveries": deliveries, "robots": 10, "steps": 100, **shares, **kpis}  # fmt: skip


def _cells(text: str, first: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(f"| {first} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_summary_tables_match_hand_computed_values() -> None:
    """Mean ± std (over seeds, population s.d.), the ratio of the means, the paired per-seed
    difference with its Student-t 95 % half-width, and the robot-time breakdown (pooled robot-
    steps per delivery), all from hand-computed values."""
    hb, hh = "hierarchical (pibt)", "hungarian + NAV (pibt)"
    rows = [_row(hb, s, d) for s, d in enumerate((10, 14, 18))]
    rows += [_row(hh, s, d) for s, d in enumerate((9, 10, 14))]
    text = summarize(rows, "x")
    # 10, 14, 18: mean 14, population s.d. √(32/3) = 3.27
    assert _cells(text, hb)[:3] == [hb, "3", "14.0 ± 3.3"]
    assert _cells(text, hh)[:3] == [hh, "3", "11.0 ± 2.2"]  # √(14/3) = 2.16
    # differences 1, 4, 4: mean 3, s.d. √3, t(0.975, 2) = 4.303 → 4.303 · √3 / √3
    ratio = _cells(text, "throughput ppo / hungarian, same NAV + pibt (target ≥ 1.0)")
    assert ratio[1:] == [f"{14 / 11:.3f}", "+3.0 ± 4.3"]
    # 3 seeds × 10 robots × 100 steps = 3000 robot-steps, 42 deliveries
    time = [c for c in text.split("| config | empty travel")[1].splitlines() if c.startswith("|")]
    assert _cells("\n".join(time), hb) == [
        hb, f"{600 / 42:.1f}", f"{1200 / 42:.1f}", f"{150 / 42:.1f}", "0.050", "0.400"
    ]  # fmt: skip


def test_time_breakdown_is_undefined_when_nothing_was_delivered() -> None:
    """Robot-steps per delivery were divided by max(1, deliveries): a config that delivered
    nothing showed all its robot-time as the cost of one delivery."""
    rows = [_row("rule_based (block)", s, 0) for s in range(2)]
    text = summarize(rows, "x").split("| config | empty travel")[1]
    assert _cells(text, "rule_based (block)")[1:4] == ["n/a", "n/a", "n/a"]


# --- the command lines the docs cite ----------------------------------------------------------

#: the entry points whose command lines the docs cite, and the options naming what they run
ENTRY_POINTS = (
    "hierarchy.evaluate",
    "agents.evaluate",
    "agents.finetune_eval",
    "hierarchy.bench_dispatch",
    "agents.make_weights",
    "hierarchy.make_weights",
)


def doc_commands() -> list[tuple[str, str, str]]:
    """``(file, module, command line)`` of every ``python -m MODULE`` line in a code block of
    README.md and docs/, continuation lines joined; shell variables set in the same block
    substituted, and a placeholder such as ``(the 12 floors)`` read as ``small``."""
    found = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        for block in re.findall(r"```[^\n]*\n(.*?)```", text, re.S):
            env: dict[str, str] = {"floor": "small_peak"}  # (a for loop's variable)
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.strip()
                if m := re.match(r"([A-Za-z_]\w*)=(\S.*)$", line):
                    try:
                        env[m[1]] = shlex.split(m[2], comments=True)[0]
                    except (ValueError, IndexError):
                        pass
                for module in ENTRY_POINTS:
                    if f"python -m {module} " in f"{line} ":
                        line = re.sub(r"\(the\b[^)]*\)", "small", line)
                        for k, v in env.items():
                            line = line.replace(f'"${k}"', shlex.quote(v)).replace(f"${k}", v)
                        found.append((str(md.relative_to(ROOT)), module, line))
    return found


def test_docs_cite_command_lines_that_parse() -> None:
    """Every such command line parses with its module's parser (nothing is run), and the
    floors and configs it names for ``hierarchy.evaluate`` exist."""
    import importlib

    commands = doc_commands()
    assert {m for _, m, _ in commands} == set(ENTRY_POINTS)
    for md, module, line in commands:
        tokens = shlex.split(line, comments=True)
        argv = tokens[tokens.index(module) + 1 :]
        parser = importlib.import_module(module).parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # pragma: no cover - the failure names the line
            pytest.fail(f"{md}: {line}")
        if module == "hierarchy.evaluate":
            floors = {name for name, *_ in ev.SCENARIOS}
            named = args.scenarios or ",".join(ev.DEFAULT_SCENARIOS)  # (None: the default set)
            assert set(named.split(",")) <= floors, (md, line)
            assert set(args.configs.split(",")) <= set(ev.CONFIGS), (md, line)


# --- agents.evaluate, agents.finetune_eval, hierarchy.bench_dispatch --------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--json", "folder"], "folder: --json: is a folder"),
        (["--json", "afile/x.json"], "afile/x.json: --json: 'afile' is not a folder"),
        (["--json", "afile"], "afile: --json: already exists"),
        (["--steps", "0"], "--steps: expected a whole number ≥ 1, got 0"),
        (["--policies", "behavior", "--epsilon", "3"], "--epsilon: expected a probability"),
        (
            ["--policies", "cql", "--checkpoint", "cql=a.json", "--checkpoint", "cql=b.json"],
            "--checkpoint cql: given twice",
        ),
        (
            ["--policies", "rule_based,cql_sampled", "--checkpoint", "bc=a.json"],
            "--checkpoint bc: no policy of this run loads it (those that do: cql, cql_sampled)",
        ),
    ],
)
def test_agents_evaluate_bad_options_before_any_run(
    argv, expected, tmp_path, monkeypatch, capsys
) -> None:
    """An unwritable ``--json`` was a traceback after every run had finished; ``--steps 0``
    ran; ``--epsilon 3`` was a ValueError traceback (``behavior``) or ignored; a checkpoint
    given twice, or for no policy of the run, was silently dropped."""
    import agents.evaluate as ae

    monkeypatch.setattr(ae, "compare", lambda *a, **k: pytest.fail("ran on bad input"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "folder").mkdir()
    base = ["--scenarios", "tiny", "--seeds", "0", "--steps", "3", "--policies", "rule_based"]
    fails(ae.main, [*base, *argv], tmp_path, capsys, expected)


def test_agents_evaluate_rows_say_how_they_were_measured(tmp_path, capsys) -> None:
    """The JSON rows did not record the run length, the collision mode (``collisions`` in
    them is the KPI), ε or the network: a row could not be told from one of another setup."""
    from agents.evaluate import main

    out = tmp_path / "e.json"
    main(["--scenarios", "tiny", "--seeds", "0", "--steps", "3", "--policies", "behavior,cql",
          "--collisions", "pibt", "--epsilon", "0.2", "--json", str(out)])  # fmt: skip
    capsys.readouterr()
    behavior, cql = json.loads(out.read_text())
    shipped = json.loads((ROOT / "agents" / "weights" / "cql.json").read_text())
    assert (behavior["steps"], behavior["collisions_mode"], behavior["epsilon"]) == (3, "pibt", 0.2)
    assert "weights_sha256" not in behavior and "epsilon" not in cql
    assert cql["checkpoint"] is None and cql["weights_sha256"] == shipped["weights_sha256"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--seeds", "x"], "--seeds: cannot parse 'x'"),
        (["--seeds", "5-3"], "--seeds: bad range '5..3'"),
        (["--steps", "0"], "--steps: expected a whole number ≥ 1, got 0"),
        (["--model", "missing.json"], "missing.json: checkpoint file not found"),
        (["--collisions", "bogus"], "collisions: expected a collision mode"),
    ],
)
def test_finetune_eval_bad_input_is_one_line(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    """These were ValueError / InputError tracebacks, or (``5-3``) an empty seed list whose
    means were NaN."""
    from agents.finetune_eval import main

    monkeypatch.chdir(tmp_path)
    model = str(ROOT / "agents" / "weights" / "cql_pibt.json")
    base = ["--model", model, "--scenarios", "tiny", "--seeds", "0", "--steps", "2"]
    fails(main, [*base, "--collisions", "pibt", *argv], tmp_path, capsys, expected)


def test_finetune_eval_seeds_read_both_spellings() -> None:
    from agents.finetune_eval import _seeds

    assert _seeds("100-103") == _seeds("100..103") == [100, 101, 102, 103]
    assert _seeds("4,7") == [4, 7]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dispatchers", "greedy,bogus"], "--dispatchers: unknown bogus"),
        (["--steps", "0"], "--steps: expected a whole number ≥ 1, got 0"),
        (["--park-idle", "-1"], "--park-idle: Input should be greater than or equal to 0"),
        (["--dispatchers", "fifo", "--anticipate"], "--anticipate: no dispatcher of this run"),
    ],
)
def test_bench_dispatch_bad_input_is_one_line(
    argv, expected, tmp_path, monkeypatch, capsys
) -> None:
    """An unknown dispatcher was a ValueError traceback, ``--steps 0`` an IndexError one, a bad
    ``--park-idle`` an InputError one; ``--anticipate`` on ``fifo`` was silently ignored."""
    import hierarchy.bench_dispatch as bd

    monkeypatch.setattr(bd, "time_dispatch", lambda *a, **k: pytest.fail("ran on bad input"))
    fails(bd.main, ["--scenarios", "small_peak", *argv], tmp_path, capsys, expected)


# --- make_weights --check ---------------------------------------------------------------------


def _network(stem: Path, blob: bytes, recorded: bytes | None = None, **meta: Any) -> None:
    """A fake network ``stem.safetensors`` + ``stem.json`` whose JSON records the sha256 of
    ``recorded`` (default: of ``blob``, as a real one does)."""
    import hashlib

    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".safetensors").write_bytes(blob)
    digest = hashlib.sha256(blob if recorded is None else recorded).hexdigest()
    meta = {"weights_sha256": digest, "sha256": digest, "extra": {"data_id": "d1"}, **meta}
    stem.with_suffix(".json").write_text(json.dumps(meta))


def test_agents_check_compares_the_weight_files_themselves(tmp_path, capsys) -> None:
    """``--check`` compared the digests the JSON files record: a shipped safetensors file that
    no longer matched its JSON (replaced, damaged) still came out "identical"."""
    from agents.make_weights import compare_with_shipped

    work, dest = tmp_path / "work", tmp_path / "dest"
    _network(work / "cql" / "model", b"same")
    _network(dest / "cql", b"same")
    assert compare_with_shipped(work, dest, ["cql"])
    assert capsys.readouterr().out.split()[:2] == ["cql", "identical"]
    _network(dest / "cql", b"changed", recorded=b"same")  # the JSON still says "same"
    assert not compare_with_shipped(work, dest, ["cql"])
    assert "DIFFERS" in capsys.readouterr().out
    _network(dest / "cql", b"same", extra={"data_id": "d2"})  # same weights, other data
    assert not compare_with_shipped(work, dest, ["cql"])
    assert "data DIFFERS" in capsys.readouterr().out
    (work / "cql" / "model.safetensors").unlink()
    from warehouse.errors import InputError

    with pytest.raises(InputError, match=r"model\.safetensors: cannot read"):
        compare_with_shipped(work, dest, ["cql"])


def test_dispatcher_check_compares_the_weight_files_themselves(tmp_path, capsys) -> None:
    from hierarchy.make_weights import compare_with_shipped

    built, shipped = tmp_path / "built" / "policy.json", tmp_path / "ppo_dispatcher.json"
    _network(built.with_suffix(""), b"same")
    _network(shipped.with_suffix(""), b"same")
    assert compare_with_shipped(built, shipped)
    _network(shipped.with_suffix(""), b"changed", recorded=b"same")  # its JSON says "same"
    assert not compare_with_shipped(built, shipped)
    assert "ppo_dispatcher DIFFERS" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["agents.make_weights", "hierarchy.make_weights"])
def test_check_without_shipped_files_stops_before_rebuilding(
    module, tmp_path, monkeypatch, capsys
) -> None:
    """``--check`` against a ``--dest`` without the files found out only after the whole
    rebuild (a FileNotFoundError traceback); usage errors were argparse's two lines."""
    import importlib

    mod = importlib.import_module(module)
    for name in ("run_rounds", "build"):
        if hasattr(mod, name):
            monkeypatch.setattr(mod, name, lambda *a, **k: pytest.fail("rebuilt"))
    dest = tmp_path / ("none" if module.startswith("agents") else "none/ppo_dispatcher.json")
    argv = ["--work", str(tmp_path / "w"), "--dest", str(dest), "--check"]
    line = fails(mod.main, argv, tmp_path, capsys, "")
    assert "--dest: not found (nothing to compare)" in line
    fails(mod.main, ["--bogus"], tmp_path, capsys, "unrecognized arguments: --bogus")
