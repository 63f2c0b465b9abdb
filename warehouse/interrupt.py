"""Ctrl-C and worker processes.

A terminal sends Ctrl-C (SIGINT) to every process of the foreground group: to a command's
worker processes (``--jobs``) as well. Each would raise KeyboardInterrupt and print a
traceback, or ``Process SpawnPoolWorker-1:``, over the command's one-line message. Workers
started inside :func:`workers_ignore_ctrl_c` do not see it: they start with SIGINT blocked (the
signal mask is inherited through fork and exec), and the command, which does see it, stops
them.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def ctrl_c_deferred() -> Iterator[None]:
    """A Ctrl-C during the block is held back and raised when the block ends. For steps that
    must not be cut in two: making a staging folder and taking note of it, so that the
    clean-up sees every folder made (:func:`signals_deferred` of SIGINT)."""
    with signals_deferred(signal.SIGINT):
        yield


@contextlib.contextmanager
def signals_deferred(*signums: int) -> Iterator[None]:
    """The signals ``signums`` arriving during the block are held back and raised, once each,
    when it ends, to the handlers that were in place (KeyboardInterrupt for SIGINT by default;
    ``warehouse collect``'s SIGTERM handler exits). For writes that must not be cut in two:
    an exception raised inside ``np.savez`` leaves its zip file half written, and closing it
    then fails with a second error that hides the first (a traceback instead of the one-line
    stop). Python runs signal handlers in the main thread whichever thread the signal reached,
    so this swaps the handlers rather than a thread's signal mask (torch and numba threads
    would take the signal instead). Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(caught):  # as the previous handler would have had it
            signal.raise_signal(s)


@contextlib.contextmanager
def workers_ignore_ctrl_c() -> Iterator[None]:
    """Block SIGINT in this thread for the block, where worker processes (and the threads that
    start more of them, such as a pool's) are started: they inherit the blocked signal, so a
    Ctrl-C reaches only the command, which stops them. Does nothing outside the main thread or
    where signal masks do not exist."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def quiet_pool(make_pool: Callable[..., Any]) -> Callable[..., Any]:
    """``make_pool`` (``multiprocessing.Pool``) whose workers ignore Ctrl-C
    (:func:`workers_ignore_ctrl_c`); the pool's ``terminate`` (its ``with`` block's end) stops
    them."""

    def pool(*args: Any, **kwargs: Any) -> Any:
        with workers_ignore_ctrl_c():
            return make_pool(*args, **kwargs)

    return pool


@contextlib.contextmanager
def stops_on_ctrl_c(executor: Any) -> Iterator[None]:
    """Inside, a Ctrl-C terminates the executor's workers (started inside
    :func:`workers_ignore_ctrl_c`) and drops the work not begun, then goes on up."""
    try:
        yield
    except KeyboardInterrupt:
        stop_workers(executor)
        raise


#: the exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
INTERRUPTED = 130


#: how long after a swallowed Ctrl-C it is pressed again (:func:`watch_ctrl_c`)
_PRESS_AGAIN_S = 0.05

_pressed = False  #: whether Ctrl-C was pressed since :func:`watch_ctrl_c` (:func:`ctrl_c_pressed`)


def ctrl_c_pressed() -> bool:
    """Whether Ctrl-C was pressed since :func:`watch_ctrl_c`: an error raised after it (numba
    left half way through compiling a kernel fails with its own ``RuntimeError``) is the
    interrupt's doing, and the command reports it as ``interrupted``."""
    return _pressed


def _on_ctrl_c(signum: int, frame: Any) -> None:
    global _pressed
    _pressed = True
    signal.default_int_handler(signum, frame)  # KeyboardInterrupt, as without this handler


def watch_ctrl_c() -> None:
    """Make Ctrl-C stop a command also while numba compiles a kernel (the first run after an
    install or an edit). Its compiler calls back into Python: a KeyboardInterrupt raised in
    such a callback is only printed ("Exception ignored on calling ctypes callback function")
    and the command ran on, or numba, left half way, failed later with a ``RuntimeError``.

    * A :data:`sys.unraisablehook` has a thread press a swallowed Ctrl-C again a moment later
      (``_thread.interrupt_main``; pressed at once it would land in the hook, still inside the
      callback); one that lands in a later callback comes back and is pressed again, until it
      reaches the command's own code. Other unraisable exceptions go to the hook there was.
    * Python's own SIGINT handler (only that one: not a handler someone else set, nor an
      ignored signal) is wrapped to note the press (:func:`ctrl_c_pressed`).

    Idempotent; the handler only in the main thread."""
    previous = sys.unraisablehook
    if not getattr(previous, "keeps_ctrl_c", False):

        def hook(unraisable: Any) -> None:
            if isinstance(unraisable.exc_value, KeyboardInterrupt):
                import _thread

                again = threading.Timer(_PRESS_AGAIN_S, _thread.interrupt_main)
                again.daemon = True
                again.start()
                return
            previous(unraisable)

        hook.keeps_ctrl_c = True  # type: ignore[attr-defined]
        sys.unraisablehook = hook
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_ctrl_c)


def run_main(main: Callable[[], Any]) -> None:
    """Run a ``python -m`` entry point: Ctrl-C prints one line, ``interrupted``, and exits
    :data:`INTERRUPTED`, with no traceback (as the ``warehouse`` command does)."""
    watch_ctrl_c()
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED)
    except Exception:
        if not ctrl_c_pressed():
            raise
        print("interrupted", file=sys.stderr, flush=True)  # (numba stopped half way, say)
        sys.exit(INTERRUPTED)


def stop_workers(executor: Any) -> None:
    """Stop a ``ProcessPoolExecutor`` whose workers ignore Ctrl-C: on an interrupt,
    ``shutdown`` would wait for their episodes to end. Its workers are terminated, then its
    manager thread is let finish: it fails the pending futures as broken. Cancelling them
    first (``cancel_futures``) races that thread, which then prints an ``InvalidStateError``
    traceback for each future it can no longer fail."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    executor.shutdown(wait=True)
