"""Session 43: ``python -m agents.device_check``, the prepared check of the learned parts on an
accelerator (agreement with the CPU, inference speed, a fleet step, training speed), run here in
its quick form on the CPU, where the device path must agree with the plain path exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents import device_check


def test_a_quick_cpu_check_agrees_exactly_and_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "check"
    device_check.main(["--device", "cpu", "--quick", "--out", str(out)])
    report = json.loads((out / "device_check.json").read_text(encoding="utf-8"))
    assert report["machine"]["device"] == "cpu" and report["machine"]["torch_threads"] == 1
    rows = report["agreement"]
    assert {r["network"] for r in rows} == set(device_check.NETWORKS)
    assert {r["observations"] for r in rows} == {"random", "medium fleet"}
    for r in rows:  # the workspace path is the plain path's, bit for bit, on the CPU
        assert r["same_action_share"] == 1.0 and r["max_abs_score_diff"] == 0.0, r
    assert {(r["network"], r["robots"]) for r in report["inference"]} == {
        (net, n) for net in ("cql_pibt", "cql") for n in (10, 100)
    }
    assert all(r["decisions_per_s"] > 0 for r in report["inference"])
    step = report["fleet_step"]
    assert step["scenario"] == "tiny" and step["robots"] > 0 and step["ms_per_step"] > 0
    (train,) = report["training"]  # (the CPU is the device: one row)
    assert train["device"] == "cpu" and train["updates_per_s"] > 0
    md = (out / "device_check.md").read_text(encoding="utf-8")
    assert "| cql_pibt | medium fleet | 64 | 1.0000 | 0.00e+00 |" in md
    assert md in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", "tpu"], "--device: expected cpu, cuda, cuda:N or auto"),
        (["--threads", "0"], "--threads: expected 1 or more"),
        (["--out", "."], "exists; give a new folder"),
    ],
)
def test_bad_options_are_one_line_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = argv if "--out" in argv else ["--out", str(tmp_path / "new"), *argv]
    with pytest.raises(SystemExit) as exc:
        device_check.main(full)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "new").exists()
