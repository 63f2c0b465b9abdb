"""A training run's TensorBoard event files sort in the order they were made.

TensorBoard reads a folder's event files in name order (``events.out.tfevents.SECONDS.HOST.PID.
COUNTER``, the process id and counter compared as text). A ``--resume`` started in the second its
run stopped, from a process whose id sorts first, was read before the run: the resume's purge
then came first and the run's later points stayed. Each trainer's writer now waits, when
needed, for a later second (:mod:`warehouse.tb`).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from warehouse import tb

pytest.importorskip("tensorboard")


def _event_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{tb.EVENT_PREFIX}*"))


def _as_from_another_process(path: Path, stamp: int) -> Path:
    """Rename the event file ``path`` as if another process, whose id sorts after this one's as
    text, had written it in the second ``stamp`` (the names TensorBoard orders files by)."""
    _, _, _, _, host_pid_uid = path.name.split(".", 4)
    uid = host_pid_uid.rsplit(".", 1)[1]
    host = host_pid_uid.removesuffix(f".{os.getpid()}.{uid}")
    new = path.with_name(f"{tb.EVENT_PREFIX}{stamp:010d}.{host}.99999999.{uid}")
    return path.rename(new)


def _curve(folder: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_a_resume_in_the_same_second_is_read_after_its_run(tmp_path: Path) -> None:
    """The run (another process, this very second) logs steps 1-4; the resume, from step 3,
    logs steps 3-4 again: its file sorts last, so TensorBoard shows the resumed points."""
    folder = tmp_path / "tb"
    run = tb.summary_writer(folder)
    for step in (1, 2, 3, 4):
        run.add_scalar("loss", 1.0, step)
    run.close()
    (first,) = _event_files(folder)
    first = _as_from_another_process(first, int(time.time()))
    resume = tb.summary_writer(folder, purge_step=3)
    for step in (3, 4):
        resume.add_scalar("loss", 2.0, step)
    resume.close()
    files = _event_files(folder)
    assert len(files) == 2 and files[0] == first  # name order is creation order
    assert _curve(folder, "loss") == [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0)]


def test_the_wait_reaches_the_second_after_the_newest_file(tmp_path: Path) -> None:
    """No event file, or one from an earlier second: no wait. One from this second: a wait to
    the next. One from a clock set far ahead: no wait (none would help)."""
    now = [100.25]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def wait() -> float:
        return tb.wait_past_newest_event(tmp_path, clock=lambda: now[0], sleep=sleep)

    assert wait() == 0.0 and sleeps == []
    (tmp_path / f"{tb.EVENT_PREFIX}0000000099.host.1.0").touch()
    (tmp_path / "events.out.tfevents.notastamp").touch()  # (ignored)
    assert wait() == 0.0 and sleeps == []
    (tmp_path / f"{tb.EVENT_PREFIX}0000000100.host.1.1").touch()
    assert 0.75 <= wait() < 0.8 and int(now[0]) == 101
    (tmp_path / f"{tb.EVENT_PREFIX}0000000200.host.1.2").touch()
    sleeps.clear()
    assert wait() == 0.0 and sleeps == []


@pytest.mark.slow  # (about 30 s: three short training runs)
def test_a_dispatcher_training_resumed_in_the_same_second_keeps_its_curve(tmp_path: Path) -> None:
    """``train-dispatcher``'s resume, started at once (no pause) by a process whose id sorts
    first, shows the curve of an uninterrupted run."""
    import torch
    from test_train_dispatcher import TINY  # (its smoke run's config)

    from hierarchy.train import train

    torch.set_num_threads(1)
    train(TINY, tmp_path / "full")
    train(replace(TINY, total_steps=2 * 60), tmp_path / "part")
    (first,) = _event_files(tmp_path / "part" / "tb")
    _as_from_another_process(first, int(time.time()))
    train(TINY, tmp_path / "part", resume=True)
    assert len(_event_files(tmp_path / "part" / "tb")) == 2
    full = _curve(tmp_path / "full" / "tb", "rollout/deliveries")
    assert _curve(tmp_path / "part" / "tb", "rollout/deliveries") == full
    assert [step for step, _ in full] == [60, 120, 180]
