"""Helper threads for the per-robot kernels that write only their own rows (observations).

Such a kernel takes a row range ``(lo, hi)`` first and is compiled with ``nogil=True``;
:func:`split_rows` cuts the fleet into equal ranges and runs the first ones on helper threads
while the caller runs the last, so a 2-core machine builds a 1,000-robot observation in about
two thirds of the time. Every row is computed by the same code whichever thread runs it, so
results are bit-identical for any thread count.

:func:`start_rows` starts the helpers and returns; the caller's own range runs when it calls
:meth:`RowJob.finish`, so Python work in between (the env's reward and info dicts) overlaps the
helpers' rows.

The thread count is process-wide: 1 (no helpers) unless the ``WAREHOUSE_THREADS`` environment
variable or :func:`set_threads` says otherwise. Fleets below :data:`MIN_ROWS_PER_THREAD` robots
per thread are not split (waking a thread costs more than it saves). The helpers are
re-created after ``fork()`` (a child has no copy of its parent's threads), and a caller that
finds them busy with another thread's call runs its kernel alone instead of waiting.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import InputError

MIN_ROWS_PER_THREAD = 256


class _Helper:
    """One daemon thread that runs a job when told to."""

    def __init__(self) -> None:
        self._go = threading.Event()
        self._done = threading.Event()
        self._job: Callable[[], None] | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._loop, name="warehouse-rows", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            try:
                assert self._job is not None
                self._job()
            except BaseException as exc:  # handed to the caller in wait()
                self._error = exc
            self._job = None
            self._done.set()

    def start(self, job: Callable[[], None]) -> None:
        self._job, self._error = job, None
        self._done.clear()
        self._go.set()

    def wait(self) -> BaseException | None:
        self._done.wait()
        return self._error


class _Pool:
    def __init__(self) -> None:
        self._threads: int | None = None  # read from WAREHOUSE_THREADS at first use
        self.helpers: list[_Helper] = []
        self.pid = os.getpid()
        self.lock = threading.Lock()

    @property
    def threads(self) -> int:
        if self._threads is None:
            self._threads = _threads_from_env()
        return self._threads

    @threads.setter
    def threads(self, n: int) -> None:
        self._threads = n

    def after_fork(self) -> None:
        """A forked child has none of its parent's helper threads (and maybe a held lock)."""
        if self.pid != os.getpid():
            self.helpers, self.pid, self.lock = [], os.getpid(), threading.Lock()

    def ensure(self, count: int) -> list[_Helper]:
        while len(self.helpers) < count:
            self.helpers.append(_Helper())
        return self.helpers[:count]


def _threads_from_env() -> int:
    raw = os.environ.get("WAREHOUSE_THREADS", "1")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(None, "WAREHOUSE_THREADS", f"expected a positive integer, got {raw!r}")
    return n


_POOL = _Pool()


def set_threads(n: int) -> None:
    """Threads (the caller included) that :func:`split_rows` may use; 1 turns helpers off."""
    if int(n) < 1:
        raise ValueError(f"threads: must be ≥ 1, got {n}")
    _POOL.threads = int(n)


def get_threads() -> int:
    """The current thread count of :func:`split_rows`."""
    return _POOL.threads


class RowJob:
    """Rows of a kernel being computed: the helpers' ranges run from :func:`start_rows` on,
    the caller's range runs in :meth:`finish`, so the caller can do other work in between."""

    def __init__(
        self, kernel: Callable[..., Any], n: int, args: tuple, caller_share: float | None
    ) -> None:
        self._kernel, self._n, self._args = kernel, n, args
        self._helpers: list[_Helper] = []
        self._lo = 0  # the caller's range is [lo, n)
        self._done = False
        parts = min(_POOL.threads, n // MIN_ROWS_PER_THREAD)
        if parts < 2:
            return
        _POOL.after_fork()
        if not _POOL.lock.acquire(blocking=False):  # another thread's call is running
            return
        try:
            share = 1.0 / parts if caller_share is None else min(max(caller_share, 0.0), 1.0)
            split = n - round(n * share)  # helpers: [0, split), caller: [split, n)
            bounds = [split * k // (parts - 1) for k in range(parts)]
            for k, helper in enumerate(_POOL.ensure(parts - 1)):
                lo, hi = bounds[k], bounds[k + 1]
                helper.start(functools.partial(kernel, lo, hi, *args))
                self._helpers.append(helper)
            self._lo = split
        except BaseException:
            self._wait()
            raise

    def _wait(self) -> list[BaseException | None]:
        errors = [helper.wait() for helper in self._helpers]
        if self._helpers:
            self._helpers = []
            _POOL.lock.release()
        return errors

    def finish(self) -> None:
        """Compute the caller's rows, wait for the helpers; re-raise any kernel error."""
        if self._done:
            return
        self._done = True
        try:
            self._kernel(self._lo, self._n, *self._args)
        finally:
            errors = self._wait()
        for error in errors:
            if error is not None:
                raise error


def start_rows(
    kernel: Callable[..., Any], n: int, *args: Any, caller_share: float | None = None
) -> RowJob:
    """Start ``kernel(lo, hi, *args)`` over the rows ``[0, n)`` split across the threads; the
    caller's rows (the last ``caller_share`` of them; default an equal share) run when
    :meth:`RowJob.finish` is called (always call it). A caller with other work to do before
    ``finish`` gives itself a smaller share."""
    return RowJob(kernel, n, args, caller_share)


def split_rows(kernel: Callable[..., Any], n: int, *args: Any) -> None:
    """Run ``kernel(lo, hi, *args)`` over the rows ``[0, n)``, split across the threads."""
    start_rows(kernel, n, *args).finish()
