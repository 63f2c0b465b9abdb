"""``warehouse train-navigator``: smoke run through the CLI, exact resume, exit code 2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import given_once

from agents.checkpoint import load_algorithm, read_checkpoint
from agents.dataset import CollectConfig, collect
from agents.train import TrainConfig, train
from warehouse.cli.main import main


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nav") / "ds"
    collect(CollectConfig(targets=("tiny",), episodes=1, steps=30, epsilon=0.2), out)
    return out


def _cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as ex:
        main(args)
    return 0 if ex.value.code is None else int(ex.value.code)


def test_cli_smoke_run(data: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    code = _cli(
        [
            "train-navigator",
            "--algo",
            "cql",
            "--data",
            str(data),
            "--steps",
            "6",
            "--out",
            str(run),
            "--ckpt-every",
            "3",
            "--eval-every",
            "3",
            "--eval-steps",
            "5",
            "--batch-size",
            "16",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "step 6:" in out and "td_loss" in out
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_00000003.json",
        "step_00000003.safetensors",
        "step_00000006.json",
        "step_00000006.safetensors",
    ]
    algo, meta = load_algorithm(run / "checkpoints" / "step_00000006")
    assert meta["step"] == 6 and meta["config"]["batch_size"] == 16
    assert meta["versions"]["torch"] == torch.__version__
    assert all(torch.isfinite(p).all() for p in algo.net.parameters())
    assert any((run / "tb").iterdir())
    model_meta, _ = read_checkpoint(run / "model")
    assert model_meta["kind"] == "weights"
    # Finite losses in the printed record.
    record = out.split("step 6:")[1].splitlines()[0]
    values = [float(part.split()[-1]) for part in record.split(",")]
    assert len(values) == 6 and np.isfinite(values).all()


def test_a_resumed_run_drops_the_events_logged_after_its_last_checkpoint(
    data: Path, tmp_path: Path
) -> None:
    """A run "killed" at step 6 with its last checkpoint at 4 (the checkpoint of 6 removed)
    and resumed to 8 logs each step once, as an uninterrupted run does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def steps_logged(run: Path) -> list[int]:
        acc = EventAccumulator(str(run / "tb"))
        acc.Reload()
        return sorted(e.step for e in acc.Scalars("train/loss"))

    cfg = TrainConfig(algo="bc", data=data, out=tmp_path / "a", steps=8, batch_size=16,
                      ckpt_every=4, log_every=2, seed=3)  # fmt: skip
    train(cfg, show_progress=False)
    killed = replace(cfg, out=tmp_path / "b", steps=6)
    train(killed, show_progress=False)
    for part in (tmp_path / "b" / "checkpoints").glob("step_00000006.*"):
        part.unlink()
    train(replace(killed, steps=8, resume=True), show_progress=False)
    assert steps_logged(tmp_path / "b") == steps_logged(tmp_path / "a") == [2, 4, 6, 8]


def test_the_first_window_after_a_resume_is_averaged_over_its_own_updates(
    data: Path, tmp_path: Path
) -> None:
    """Resumed at step 3 with a log every 2 steps, the point at step 4 is the mean of update 4
    alone (it was update 4's loss halved: the sum of one update over the window's length)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(algo="bc", data=data, out=tmp_path / "b", steps=3, batch_size=16,
                      ckpt_every=3, log_every=2, seed=3)  # fmt: skip
    train(cfg, show_progress=False)
    train(replace(cfg, steps=4, resume=True), show_progress=False)
    acc = EventAccumulator(str(tmp_path / "b" / "tb"))
    acc.Reload()
    at_4 = [e.value for e in acc.Scalars("train/accuracy") if e.step == 4]
    assert len(at_4) == 1 and 0.0 < at_4[0] <= 1.0
    full = TrainConfig(algo="bc", data=data, out=tmp_path / "a", steps=4, batch_size=16,
                       ckpt_every=4, log_every=1, seed=3)  # fmt: skip
    train(full, show_progress=False)
    acc = EventAccumulator(str(tmp_path / "a" / "tb"))
    acc.Reload()
    assert at_4[0] == pytest.approx([e.value for e in acc.Scalars("train/accuracy")][3])


def test_resume_matches_an_uninterrupted_run(data: Path, tmp_path: Path) -> None:
    base = TrainConfig(
        algo="cql",
        data=data,
        out=tmp_path / "a",
        steps=8,
        batch_size=32,
        ckpt_every=4,
        log_every=2,
        seed=3,
    )
    train(base, show_progress=False)
    part = replace(base, out=tmp_path / "b", steps=4)
    train(part, show_progress=False)
    train(replace(part, steps=8, resume=True), show_progress=False)
    a, _ = load_algorithm(tmp_path / "a" / "checkpoints" / "step_00000008")
    b, _ = load_algorithm(tmp_path / "b" / "checkpoints" / "step_00000008")
    for name in ("net", "target"):
        for pa, pb in zip(
            getattr(a, name).parameters(), getattr(b, name).parameters(), strict=True
        ):
            assert torch.equal(pa, pb), name
    # A second uninterrupted run from scratch with another seed differs (the check has teeth).
    train(replace(base, out=tmp_path / "c", seed=4), show_progress=False)
    c, _ = load_algorithm(tmp_path / "c" / "checkpoints" / "step_00000008")
    assert not all(
        torch.equal(x, y) for x, y in zip(a.net.parameters(), c.net.parameters(), strict=True)
    )


def test_bc_run_and_refusals(data: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "bc"
    args = [
        "train-navigator",
        "--algo",
        "bc",
        "--data",
        str(data),
        "--steps",
        "2",
        "--out",
        str(run),
        "--ckpt-every",
        "1",
        "--batch-size",
        "8",
        "--no-progress",
    ]
    assert _cli(args) == 0
    # Training into a run folder that has checkpoints without --resume is refused.
    assert _cli(args) == 2
    # A damaged latest checkpoint makes --resume fail cleanly.
    ck = run / "checkpoints" / "step_00000002.safetensors"
    ck.write_bytes(ck.read_bytes()[:100])
    capsys.readouterr()
    assert _cli(given_once(args, ["--steps", "4", "--resume"])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {ck}:")
    # Resuming with the other algorithm is refused as well.
    (run / "checkpoints" / "step_00000002.json").unlink()
    assert _cli(given_once(args, ["--algo", "cql", "--steps", "4", "--resume"])) == 2


def test_resume_refuses_settings_that_it_would_ignore(data: Path, tmp_path: Path, capsys) -> None:
    """--resume keeps the run's own settings: repeating one is fine, a different value is an
    error instead of being silently ignored."""
    run = tmp_path / "r"
    base = ["train-navigator", "--algo", "cql", "--data", str(data), "--out", str(run)]
    opts = ["--batch-size", "16", "--ckpt-every", "2", "--device", "cpu", "--no-progress"]
    assert _cli([*base, "--steps", "2", "--alpha", "2.0", *opts]) == 0
    capsys.readouterr()
    assert _cli([*base, "--steps", "4", "--alpha", "3.0", "--resume", *opts]) == 2
    err = capsys.readouterr().err
    assert "--alpha" in err and "2.0" in err and "Traceback" not in err
    assert _cli([*base, "--steps", "4", "--alpha", "2.0", "--resume", *opts]) == 0  # same value
    assert _cli([*base, "--steps", "6", "--resume", "--device", "cpu", "--no-progress"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").glob("*.json"))[-1] == "step_00000006.json"


def test_training_runs_stay_in_their_own_folders(data: Path, tmp_path: Path, capsys) -> None:
    """A navigator and a dispatcher run never train into one folder, and --resume on the other
    kind of navigator run says what the folder holds."""
    from cli_helpers import fails_cleanly

    nav = tmp_path / "nav"
    offline = ["train-navigator", "--algo", "bc", "--data", str(data), "--steps", "2",
               "--batch-size", "8", "--device", "cpu", "--no-progress"]  # fmt: skip
    assert _cli([*offline, "--out", str(nav)]) == 0
    fails_cleanly(["train-dispatcher", "tiny", "--steps", "100", "--out", str(nav)], tmp_path,
                  capsys, f"{nav}: --out: already holds model.json of an earlier run")  # fmt: skip
    ppo = ["train-navigator", "--algo", "ppo", "--steps", "2", "--out", str(nav), "--resume",
           "--scenarios", "tiny", "--no-progress", "--device", "cpu"]  # fmt: skip
    fails_cleanly(ppo, tmp_path, capsys, f"{nav}: --resume: it holds an offline (cql/bc) run")
    disp = tmp_path / "disp"
    (disp / "checkpoint").mkdir(parents=True)
    (disp / "policy.json").write_text("{}")
    fails_cleanly([*offline, "--out", str(disp)], tmp_path, capsys,
                  f"{disp}: --out: already holds policy.json of an earlier run")  # fmt: skip


def test_a_shard_the_manifest_does_not_list_is_refused(data: Path, tmp_path: Path, capsys):
    import shutil

    from cli_helpers import fails_cleanly

    copy = tmp_path / "ds"
    shutil.copytree(data, copy)
    shard = next(copy.glob("*.npz"))
    shutil.copy(shard, copy / "shard_99999.npz")
    argv = ["train-navigator", "--algo", "bc", "--data", str(copy), "--steps", "2",
            "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]  # fmt: skip
    fails_cleanly(argv, tmp_path, capsys,
                  f"{copy / 'shard_99999.npz'}: a shard not listed in manifest.json")  # fmt: skip
