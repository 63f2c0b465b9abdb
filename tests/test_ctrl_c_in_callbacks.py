"""A Ctrl-C that C code swallows (numba's compiler calls back into Python while it compiles a
kernel, and a KeyboardInterrupt raised in such a callback is only printed) still stops the
command: :func:`warehouse.interrupt.watch_ctrl_c`."""

from __future__ import annotations

import subprocess
import sys

from interrupt_helpers import _sigint_default

SCRIPT = """
import ctypes
import sys

if sys.argv[1] == "keep":
    from warehouse.interrupt import watch_ctrl_c

    watch_ctrl_c()
    watch_ctrl_c()  # (twice changes nothing)


def callback():
    raise KeyboardInterrupt  # as a Ctrl-C landing inside a compiler callback


def broken():
    raise ValueError("not a Ctrl-C")


ctypes.CFUNCTYPE(None)(broken)()  # other unraisable exceptions: reported as before
try:
    ctypes.CFUNCTYPE(None)(callback)()
    total = 0
    for i in range(10**7):  # the command's own work after the callback
        total += i
    print("ran on")
except KeyboardInterrupt:
    print("stopped")
"""


def run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120,
        preexec_fn=_sigint_default,
    )  # fmt: skip


def test_without_the_hook_a_swallowed_ctrl_c_lets_the_command_run_on() -> None:
    done = run("plain")
    assert done.stdout.strip() == "ran on"
    assert "KeyboardInterrupt" in done.stderr  # only printed


def test_with_the_hook_the_swallowed_ctrl_c_stops_the_command() -> None:
    done = run("keep")
    assert done.stdout.strip() == "stopped"
    assert "KeyboardInterrupt" not in done.stderr  # delivered, not printed
    assert "not a Ctrl-C" in done.stderr  # the hook before it still reports the others


def test_the_warehouse_command_installs_it() -> None:
    code = (
        "import sys; from warehouse.cli.main import main\n"
        "try:\n    main(['list'])\nexcept SystemExit:\n    pass\n"
        "print(getattr(sys.unraisablehook, 'keeps_ctrl_c', False))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "True", done.stderr


AFTER = """
import ctypes
import sys

from warehouse.interrupt import run_main


def command():
    if sys.argv[1] == "pressed":  # a Ctrl-C swallowed in a callback, then numba's own error
        import signal

        def callback():
            signal.raise_signal(signal.SIGINT)

        ctypes.CFUNCTYPE(None)(callback)()
    raise RuntimeError("no compiled object yet")


run_main(command)
"""


def test_an_error_after_ctrl_c_is_reported_as_the_interrupt() -> None:
    done = subprocess.run([sys.executable, "-c", AFTER, "pressed"], capture_output=True,
                          text=True, timeout=120, preexec_fn=_sigint_default)  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (130, "interrupted"), done.stderr
    plain = subprocess.run([sys.executable, "-c", AFTER, "not"], capture_output=True,
                           text=True, timeout=120, preexec_fn=_sigint_default)  # fmt: skip
    assert plain.returncode == 1 and "RuntimeError: no compiled object yet" in plain.stderr
