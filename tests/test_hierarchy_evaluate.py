"""``hierarchy.evaluate``: the evaluation runner behind docs/results.md part 2."""

from __future__ import annotations

import json

import pytest

import hierarchy.evaluate as ev
from hierarchy.evaluate_rows import check_mergeable
from hierarchy.evaluate_summary import summarize, weights_line
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.errors import InputError


def _scenario(overrides: dict):
    sc, src = load_scenario("small")
    return apply_overrides(sc, overrides, src), src


def test_floor_cache_keys_on_the_whole_scenario() -> None:
    """A repeated scenario reuses its compiled floor; an override that changes the layout gets
    its own floor instead of the one compiled first for the same scenario name."""
    ev._FLOORS.clear()
    plain, src = _scenario({})
    first = ev._floor(plain, src, build_floor)
    assert ev._floor(_scenario({})[0], src, build_floor) is first
    bigger = ev._floor(_scenario({"layout.shelf_rows": 5})[0], src, build_floor)
    assert bigger.n_nodes > first.n_nodes


def test_run_one_is_deterministic_and_uses_its_overrides() -> None:
    a = ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {})
    assert ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {}) == a
    more_robots = ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {"robots": 40})
    assert (a["robots"], more_robots["robots"]) == (30, 40)


def test_lookahead_sets_the_order_pool_of_the_pooled_dispatchers(monkeypatch) -> None:
    """``--lookahead`` reaches greedy, Hungarian and PPO (their order pool), nobody else."""
    import hierarchy.dispatchers as d
    from hierarchy.ppo_dispatcher import PPODispatcher

    made: dict[str, object] = {}
    real = dict(d.DISPATCHERS)
    for name in ("greedy", "ppo", "fifo"):

        def spy(name=name, **kw):
            disp = real[name](**kw)
            made[name] = disp
            return disp

        monkeypatch.setitem(d.DISPATCHERS, name, spy)
    for name in ("greedy", "ppo", "fifo"):
        ev.run_one("tiny", name, "rule_based", "block", 0, 5, {}, lookahead=16)
    assert made["greedy"].lookahead == 16
    assert isinstance(made["ppo"], PPODispatcher) and made["ppo"].features.lookahead == 16
    assert not hasattr(made["fifo"], "lookahead")
    assert PPODispatcher.load().features.lookahead == 4  # the shipped pool


def test_a_larger_pool_lets_ppo_choose_among_more_orders() -> None:
    """With a backlog, the PPO dispatcher's candidates come from the oldest
    lookahead × deciding robots open orders (at least K)."""
    import numpy as np

    from hierarchy.features import decision_features
    from hierarchy.ppo_dispatcher import PPODispatcher
    from warehouse.core import Simulation

    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 5.0}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(0)
    for _ in range(30):  # a backlog builds up, nobody is dispatched
        sim.step(np.zeros(sim.n_robots, np.int64))
    robots = sim.idle_robots()[:2]
    open_ids = sim.open_orders()
    assert open_ids.size > 128  # more than the pool of 2 robots at lookahead 64
    seen = {}
    for look in (4, 64):
        cfg = PPODispatcher.load(lookahead=look).features
        dec = decision_features(sim, robots, cfg)
        chosen = dec.orders[dec.orders >= 0]
        pool = open_ids[: max(look * robots.size, cfg.candidates)]
        assert np.isin(chosen, pool).all()
        seen[look] = set(chosen.tolist())
    assert not seen[64] <= set(open_ids[:8].tolist())  # reaches past the 8 oldest


def test_unknown_scenarios_and_configs_are_refused_in_one_line(tmp_path, capsys) -> None:
    """A typo in ``--scenarios`` or ``--configs`` is an error (exit 2, one line naming the
    option), not a silently shorter table; nothing is written."""
    import pytest

    cases = [
        ("--scenarios", "small,smal", "unknown smal "),
        ("--configs", "rule_based (blok)", "blok"),
    ]
    for option, value, named in cases:
        with pytest.raises(SystemExit) as exc:
            ev.main(["--out", str(tmp_path / "out"), "--seeds", "1", "--steps", "5", option, value])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"error: {option}: " in err and named in err
    assert not (tmp_path / "out").exists()


def test_input_errors_cross_process_boundaries_intact() -> None:
    """Worker processes (``--jobs``) hand their errors back pickled: an ``InputError`` must come
    back as the same one-line error, not break the process pool."""
    import pickle

    from warehouse.errors import InputError

    err = InputError("runs/x/model.json", "weights_sha256", "does not match the file")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is InputError and back.one_line() == err.one_line()
    assert back.one_line() == "runs/x/model.json: weights_sha256: does not match the file"


def test_task_swaps_reach_the_dispatcher_and_the_summary_says_so() -> None:
    """``--task-swaps`` wraps the dispatcher of a run (``small`` at peak load: the greedy
    dispatcher's crossed assignments get undone, so less empty travel), and the summary's first
    line names the dispatch settings its rows were measured with."""
    load = {"tasks.arrival_rate": 1.0}
    plain = ev.run_one("small", "greedy", "rule_based", "block", 0, 250, load)
    swaps = ev.run_one("small", "greedy", "rule_based", "block", 0, 250, load, task_swaps=True)
    assert swaps["empty_travel_share"] < plain["empty_travel_share"]
    row = {"scenario": "small", "seen_in_training": False, "config": "rule_based (block)",
           "seed": 0, "lookahead": 16, "max_order_age": 200.0, "task_swaps": True,
           **swaps}  # fmt: skip
    head = summarize([row], "cql_tuned").splitlines()[0]
    assert "lookahead 16" in head and "200.0 s" in head and "Task swaps" in head
    assert "Task swaps" not in summarize([{**row, "task_swaps": False}], "x").splitlines()[0]


def test_rows_record_the_networks_they_ran_and_the_summary_names_them(
    tmp_path, monkeypatch
) -> None:
    """Each row of a config with a network records the files its parts loaded, with their full
    sha256 (:mod:`warehouse.provenance`); rows of rule-based configs record none. The summary
    names them from the rows, so a summary of merged rows does too."""
    from hierarchy.ppo_dispatcher import DEFAULT_WEIGHTS
    from warehouse.atomic import sha256_file

    ppo = sha256_file(DEFAULT_WEIGHTS.with_suffix(".safetensors"))
    monkeypatch.setattr(ev, "SCENARIOS", [("small", "small", False, {})])
    argv = ["--seeds", "1", "--steps", "10", "--scenarios", "small"]
    ev.main(["--out", str(tmp_path / "a"), *argv, "--configs",
             "rule_based (block),ppo + rule_based (pibt),hierarchical (pibt)"])  # fmt: skip
    rows = json.loads((tmp_path / "a" / "results.json").read_text())
    assert "weights" not in rows[0]  # rule-based: no network
    assert set(rows[1]["weights"]) == {"dispatcher"}
    assert rows[1]["weights"]["dispatcher"]["sha256"] == ppo
    assert rows[2]["weights"]["dispatcher"] == rows[1]["weights"]["dispatcher"]
    assert rows[2]["weights"]["navigator"]["file"].endswith("cql_pibt.json")
    line = (tmp_path / "a" / "summary.md").read_text(encoding="utf-8").splitlines()[2]
    name = f"dispatcher {rows[1]['weights']['dispatcher']['file']}"
    assert f"{name} `{ppo}`" in line and " or `" not in line
    # merged into a run that adds nothing: still named
    earlier = str(tmp_path / "a" / "results.json")
    ev.main(["--out", str(tmp_path / "b"), *argv, "--configs", "none", "--merge", earlier])
    assert line in (tmp_path / "b" / "summary.md").read_text(encoding="utf-8")
    # rows older than the record, and rows that ran another dispatcher, are counted apart
    old = {k: v for k, v in rows[2].items() if k != "weights"}
    mine = {**rows[2]["weights"]["dispatcher"], "sha256": "0123456789ab"}
    other = {**rows[2], "seed": 1, "weights": {**rows[2]["weights"], "dispatcher": mine}}
    text = weights_line([*rows, old, other])
    assert text is not None and text.endswith(" Not recorded in 1 row of learned configs.")
    assert f"{name} `{ppo}` (2 rows) or `0123456789ab` (1 row), navigator " in text
    assert weights_line([old, old]) == "Weights: not recorded in 2 rows."
    assert weights_line([rows[0]]) is None


def test_merge_refuses_a_config_measured_with_other_networks() -> None:
    """Two rows of one (scenario, config) that record different networks cannot share a mean:
    refused, naming the network that differs. A row that records none (older) passes."""
    base = {"scenario": "small", "config": "hierarchical (pibt)", "dispatcher": "ppo",
            "navigator": "cql_tuned", "steps": 20}  # fmt: skip
    ours = {"ppo_dispatcher": "aaaaaaaaaaaa", "cql": "bbbbbbbbbbbb"}
    theirs = {**ours, "ppo_dispatcher": "cccccccccccc"}
    check_mergeable([("a.json", [{**base, "seed": 0, "weights": ours}]),
                        ("b.json", [{**base, "seed": 1}])])  # fmt: skip
    with pytest.raises(InputError) as exc:
        check_mergeable([("a.json", [{**base, "seed": 0, "weights": ours}]),
                            ("this run", [{**base, "seed": 1, "weights": theirs}])])  # fmt: skip
    assert str(exc.value) == (
        "this run: small / hierarchical (pibt): measured with ppo_dispatcher `cccccccccccc`, "
        "but a.json has it with ppo_dispatcher `aaaaaaaaaaaa`"
    )


def test_ratio_table_gives_the_paired_difference_per_seed() -> None:
    """Next to each target ratio the summary gives the per-seed difference over the seeds both
    configs ran, mean ± 95 % CI (Student t): here differences 1, 2, 3 → +2.0 ± 2.5
    (t(0.975, 2) = 4.303, s.d. 1, √3); a seed only one config ran is left out."""
    kpis = ev.run_one("small", "greedy", "rule_based", "block", 0, 20, {})

    def row(config: str, seed: int, deliveries: int) -> dict:
        return {**kpis, "scenario": "small", "seen_in_training": False, "config": config,
                "seed": seed, "deliveries": deliveries}  # fmt: skip

    ppo, hung = "hierarchical (pibt)", "hungarian + NAV (pibt)"
    rows = [row(ppo, 0, 10), row(ppo, 1, 12), row(ppo, 2, 14), row(ppo, 3, 99)]
    rows += [row(hung, 0, 9), row(hung, 1, 10), row(hung, 2, 11)]
    line = next(x for x in summarize(rows, "x").splitlines() if "ppo / hungarian, same" in x)
    assert line.endswith("| +2.0 ± 2.5 |")
    assert f"| {(10 + 12 + 14) / (9 + 10 + 11):.3f} |" in line  # ratio of means, same seeds


def test_set_changes_every_floor_and_is_recorded(tmp_path, capsys) -> None:
    """``--set`` reaches the runs (a strip of parking cells changes what robots do) and the rows
    say which settings they ran with; a bad setting stops before any run, in one line."""
    argv = ["--seeds", "2", "--steps", "150", "--scenarios", "small", "--configs",
            "rule_based (block)", "--park-idle", "0"]  # fmt: skip
    ev.main(["--out", str(tmp_path / "a"), *argv])
    ev.main(["--out", str(tmp_path / "b"), *argv, "--set", "layout.parking_walls=[north,south]"])
    plain, strips = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("a", "b"))
    assert "settings" not in plain[0]
    assert all(r["settings"] == {"layout.parking_walls": ["north", "south"]} for r in strips)
    assert [r["distance_m"] for r in plain] != [r["distance_m"] for r in strips]
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert 'Scenario settings (`--set`): {"layout.parking_walls": ["north", "south"]}.' in summary
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", str(tmp_path / "c"), *argv, "--set", "layout.parking_walls=[west]"])
    assert exc.value.code == 2 and not (tmp_path / "c").exists()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "error: --set layout.parking_walls: west carries stations; parking needs another wall "
        "(on small)"
    )


def test_merge_refuses_rows_that_cannot_share_a_table(tmp_path, capsys) -> None:
    """Merged rows add configs or seeds. A (scenario, config) measured under another setup
    (steps, ``--set``, dispatch flags) or a seed given twice would be averaged into one row of
    the table: refused in one line naming the file, exit 2, nothing written."""
    argv = ["--seeds", "2", "--steps", "20", "--scenarios", "small"]
    ev.main(["--out", str(tmp_path / "a"), *argv, "--configs", "rule_based (block)"])
    earlier = str(tmp_path / "a" / "results.json")
    # another config, the same setup: merged (the earlier rows come first)
    ev.main(["--out", str(tmp_path / "b"), *argv, "--configs", "rule_based (pibt)",
             "--merge", earlier])  # fmt: skip
    rows = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [(r["config"], r["seed"]) for r in rows] == [
        ("rule_based (block)", 0), ("rule_based (block)", 1),
        ("rule_based (pibt)", 0), ("rule_based (pibt)", 1),
    ]  # fmt: skip
    # more seeds of the same config and setup: refused, seeds 0 and 1 would count twice
    cases = [
        (["--configs", "rule_based (block)"], "small / rule_based (block): seed 0 is also in"),
        (["--configs", "rule_based (block)", "--seeds", "1", "--steps", "30"],
         "small / rule_based (block): run with steps 30, but"),
        (["--configs", "rule_based (block)", "--task-swaps"], "run with steps 20, task_swaps true"),
        (["--configs", "none", "--set", "fleet.robots=3"], None),  # no new rows: fine
    ]  # fmt: skip
    for extra, expected in cases:
        out = tmp_path / "c"
        call = ["--out", str(out), *argv, *extra, "--merge", earlier]
        if expected is None:
            ev.main(call)
            assert out.exists()
            continue
        with pytest.raises(SystemExit) as exc:
            ev.main(call)
        assert exc.value.code == 2 and not out.exists()
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "error: --merge: this run: " in err and expected in err, err
    # the same file twice, a seed twice within one file
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", str(tmp_path / "d"), *argv, "--configs", "none",
                 "--merge", earlier, earlier])  # fmt: skip
    assert exc.value.code == 2 and "seed 0 is also in" in capsys.readouterr().err
    rows = json.loads((tmp_path / "a" / "results.json").read_text())
    (tmp_path / "twice.json").write_text(json.dumps([rows[0], rows[0]]))
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", str(tmp_path / "d"), *argv, "--configs", "none",
                 "--merge", str(tmp_path / "twice.json")])  # fmt: skip
    assert exc.value.code == 2 and "seed 0 appears twice" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "file: cannot read: No such file or directory"),
        ("{not json", "line 1: invalid JSON: "),
        ('{"a": 1}', "rows: expected a non-empty list of result rows"),
        ("[]", "rows: expected a non-empty list of result rows"),
        ('[{"scenario": "small", "seed": 0}]', "row 0: not a result row (no config)"),
        ('[{"scenario": "small", "config": "x", "seed": [1]}]', "row 0 seed: expected a whole"),
        ('[{"scenario": "small", "config": "x", "seed": true}]', "row 0 seed: expected a whole"),
        ('[{"scenario": "small", "config": "x", "seed": -1}]', "row 0 seed: expected a whole"),
        ('[{"scenario": "", "config": "x", "seed": 0}]', "row 0 scenario: expected a name"),
        ('[{"scenario": "s", "config": "x", "seed": 0, "steps": "400"}]', "row 0 steps: "),
        (
            '[{"scenario": "s", "config": "x", "seed": 0, "deliveries": NaN}]',
            "row 0 deliveries: not a finite number",
        ),
        ('[{"scenario": "s", "config": "x", "seed": 0, "seed": 1}]', "seed: key given twice"),
    ],
)
def test_merge_reports_unreadable_files_in_one_line(text, expected, tmp_path, capsys) -> None:
    path = tmp_path / "earlier.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", str(tmp_path / "o"), "--configs", "none", "--merge", str(path)])
    assert exc.value.code == 2 and not (tmp_path / "o").exists()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: --merge: {path}: {expected}" in err, err


def test_summary_names_the_dispatcher_a_set_gives_instead_of_the_shipped_one(
    tmp_path, monkeypatch, capsys
) -> None:
    """With ``--set policies.dispatcher_checkpoint=FILE`` the summary gives FILE's sha256, not
    the shipped dispatcher's, which these rows did not run."""
    from cli_helpers import run_cli

    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "20", "--out", "d", "--no-tensorboard"]
    argv += ["--envs", "1", "--horizon", "20", "--imitation", "0", "--eval-every", "0"]
    code, _, err = run_cli([*argv, "--no-progress"], capsys)
    assert code == 0, err
    mine = json.loads((tmp_path / "d" / "policy.json").read_text())["sha256"]
    from hierarchy.ppo_dispatcher import DEFAULT_WEIGHTS

    shipped = json.loads(DEFAULT_WEIGHTS.read_text(encoding="utf-8"))["sha256"]
    assert shipped != mine
    mine_set = ["--set", "policies.dispatcher_checkpoint=d/policy.json"]
    ev.main(["--out", "e", "--seeds", "1", "--steps", "10", "--scenarios", "small",
             "--configs", "hierarchical (pibt)", *mine_set])  # fmt: skip
    head, _, line = (tmp_path / "e" / "summary.md").read_text().splitlines()[:3]
    assert f"dispatcher d/policy.json `{mine}`" in line
    # the rows keep the absolute path they ran with; the summary shows it as typed
    rows = json.loads((tmp_path / "e" / "results.json").read_text())
    assert rows[0]["settings"] == {
        "policies.dispatcher_checkpoint": str(tmp_path / "d/policy.json")
    }
    assert '{"policies.dispatcher_checkpoint": "d/policy.json"}' in head
    assert "ppo_dispatcher" not in line and shipped not in line and "cql_pibt" in line


def test_summary_counts_the_gridlocked_seeds_of_each_config() -> None:
    """The per-floor table counts the seeds that ended with a quarter of the fleet jammed
    (``jammed_robots``), not merely stuck; rows from before that KPI say n/a."""
    kpis = ev.run_one("small", "greedy", "rule_based", "block", 0, 20, {})

    def row(config: str, seed: int, stuck: int, jammed: int | None) -> dict:
        r = {**kpis, "scenario": "small", "seen_in_training": False, "config": config,
             "seed": seed, "robots": 8, "stuck_robots": stuck, "jammed_robots": jammed}  # fmt: skip
        if jammed is None:
            del r["jammed_robots"]
        return r

    rows = [row("rule_based (block)", 0, 8, 2), row("rule_based (block)", 1, 8, 1),
            row("rule_based (pibt)", 0, 8, 0), row("greedy + NAV (pibt)", 0, 8, None)]  # fmt: skip
    table = {
        line.split(" | ")[0].lstrip("| "): line.rstrip(" |").split(" | ")[-1]
        for line in summarize(rows, "x").splitlines()
        if line.startswith("| ") and line.count("|") == 9
    }
    assert table["config"] == "gridlocked"
    assert table["rule_based (block)"] == "1/2"  # a quarter of 8: 2 jammed count, 1 does not
    assert table["rule_based (pibt)"] == "0/1"  # all 8 stuck, none jammed
    assert table["greedy + NAV (pibt)"] == "n/a"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--seeds", "2"], "error: the following arguments are required: --out"),
        (["--out", "o", "--seeds", "many"], "error: argument --seeds: invalid int value: 'many'"),
        (
            ["--out", "o", "--set", "fleet.robotz=3"],
            "error: --set fleet.robotz: unknown setting (allowed: robots, start, start_cells) "
            "(on train_wide)",
        ),
        # fits the schema, not the floor: the option is named, not the floor's scenario file
        (
            ["--out", "o", "--scenarios", "small", "--set", "fleet.robots=5000"],
            "error: --set fleet.robots: must be ≤ free cells (383) (on small)",
        ),
        (
            [
                *("--out", "o", "--scenarios", "small,faults", "--set", "fleet.robots=3"),
                *("--set", "faults.closures=[{cells: [[99, 99]], start_s: 0}]"),
            ],
            "error: --set faults.closures[0].cells[0]: (99, 99) is not a floor cell: "
            "outside the floor (rows 0..12, cols 0..58) (on small)",
        ),
        (["--out", "o", "--scenarios", "small,,faults"], "error: --scenarios: empty name"),
        (["--out", "o", "--scenarios", "small,small"], "error: --scenarios: small given twice"),
        (
            ["--out", "o", "--configs", "rule_based (block),rule_based (block)"],
            "error: --configs: rule_based (block) given twice",
        ),
        (
            ["--out", "o", "--set", "policies.park_idle=5", "--set", "policies.park_idle=6"],
            "error: --set policies.park_idle: given twice",
        ),
        (
            ["--out", "o", "--park-idle", "5", "--set", "policies.park_idle=30"],
            "error: --set policies.park_idle: --park-idle sets it too",
        ),
        (
            ["--out", "o", "--task-swaps", "--set", "policies.task_swaps=true"],
            "error: --set policies.task_swaps: --task-swaps sets it too",
        ),
    ],
)
def test_usage_errors_are_one_line(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        ev.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and err.startswith(expected), err
    assert not (tmp_path / "o").exists()


def test_energy_per_delivery_is_undefined_when_nothing_was_delivered() -> None:
    """It was the whole run's energy over max(1, deliveries), so a fleet that delivered nothing
    looked as frugal as one that delivered once; the summary averages the seeds that define it."""
    kpis = ev.run_one("tiny", "greedy", "rule_based", "block", 0, 3, {})
    assert kpis["deliveries"] == 0 and kpis["energy_kwh"] > 0
    assert kpis["energy_per_delivery_wh"] is None
    done = ev.run_one("tiny", "greedy", "rule_based", "block", 0, 120, {})
    assert done["energy_per_delivery_wh"] == 1000 * done["energy_kwh"] / done["deliveries"]

    def row(seed: int, k: dict) -> dict:
        return {**k, "scenario": "tiny", "seen_in_training": False, "seed": seed,
                "config": "rule_based (physical)"}  # fmt: skip

    lines = summarize([row(0, kpis), row(1, done)], "x").splitlines()
    cells = next(x for x in lines if x.startswith("| rule_based (physical) | 2 |")).split(" | ")
    assert cells[5] == f"{done['energy_per_delivery_wh']:.1f} ± 0.0 (1/2 seeds)"  # seed 1 only
    lines = summarize([row(0, kpis)], "x").splitlines()
    assert (
        next(x for x in lines if x.startswith("| rule_based (physical) | 1 |")).split(" | ")[5]
        == "n/a"
    )


def test_a_named_floor_without_its_map_is_refused(tmp_path, capsys, monkeypatch) -> None:
    """A floor on a map of ``../shared/maps`` that is not there (a checkout without
    ``../shared``): named with ``--scenarios`` it is an error (exit 2, one line naming the floor
    and the file) before anything runs, not a table that silently lacks it."""
    import pytest

    ghost = tmp_path / "nowhere" / "kiva.map"
    monkeypatch.setattr(ev, "SCENARIOS", [*ev.SCENARIOS, ("ghost_peak", str(ghost), False, {})])
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", str(tmp_path / "out"), "--seeds", "1", "--steps", "5",
                 "--scenarios", "small,ghost_peak", "--configs", "rule_based (block)"])  # fmt: skip
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: --scenarios: ghost_peak needs the map file {ghost}" in err
    assert not (tmp_path / "out").exists()
