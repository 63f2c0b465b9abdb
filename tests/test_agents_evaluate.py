"""``python -m agents.evaluate``: the navigator comparison of docs/results.md, part 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.evaluate import main


def test_compares_policies_on_the_same_seeds(tmp_path: Path, capsys) -> None:
    """Seed ranges parse, every policy runs on every seed, and the JSON keeps per-seed KPIs."""
    out = tmp_path / "e.json"
    main(["--scenarios", "tiny", "--seeds", "3..4", "--steps", "30",
          "--policies", "rule_based,behavior", "--json", str(out)])  # fmt: skip
    rows = json.loads(out.read_text())
    assert [(r["scenario"], r["policy"]) for r in rows] == [
        ("tiny", "rule_based"),
        ("tiny", "behavior"),
    ]
    for r in rows:
        assert r["seeds"] == [3, 4] and len(r["per_seed"]) == 2
        assert r["deliveries"] == sum(k["deliveries"] for k in r["per_seed"]) / 2
    assert "| tiny | behavior |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--policies", "rule_based,cq1"], "--policies: unknown cq1"),
        (["--checkpoint", "runs/cql.json"], "--checkpoint: expected ALGO=PATH"),
        (["--seeds", "x"], "--seeds"),
        (["--scenarios", "no_such_floor"], "no_such_floor"),
        (["--scenarios", "tiny,tiny"], "--scenarios: tiny given twice"),
        (["--policies", "cql,cql"], "--policies: cql given twice"),
        (["--policies", "rule_based,"], "--policies: empty name"),
        (["--stepz", "5"], "unrecognized arguments: --stepz 5"),
    ],
)
def test_bad_arguments_are_one_line_errors(args: list[str], named: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--steps", "5", "--scenarios", "tiny", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0], err
