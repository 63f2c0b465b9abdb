"""Pressing Ctrl-C on a command the way a terminal does: SIGINT to its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux: ``/proc``)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _sigint_default() -> None:
    """In the child before it runs: Ctrl-C's default disposition. A shell starts background
    jobs with SIGINT ignored, and Python then installs no KeyboardInterrupt handler, so a test
    run from such a job (``cmd &`` in a script) would press a Ctrl-C nobody hears."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def press_ctrl_c(
    argv: Sequence[str],
    cwd: Path,
    ready: Callable[[subprocess.Popen], bool],
    *,
    settle_s: float = 0.0,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Start ``argv`` in its own process group, wait until ``ready(proc)`` (its workers or its
    output exist), ``settle_s`` more, then send SIGINT to the group. Returns ``(exit code,
    stdout, stderr)``. The deadlines guard against a hang only; no timing is asserted."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_sigint_default,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not ready(proc) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[:4]} never got ready")
            time.sleep(0.1)
        time.sleep(settle_s)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, out, err
