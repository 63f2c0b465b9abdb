"""TensorBoard writers whose event files sort in the order they were made.

TensorBoard reads the event files of a folder in name order, and a writer names its file
``events.out.tfevents.SECONDS.HOST.PID.COUNTER``: whole seconds, then the process id and a
per-process counter, both compared as text. Two writers made in one second (a ``--resume``
started in the second its run stopped, or two writers of one run folder) may therefore be read
in the wrong order ("10" sorts before "9"), and the resumed curve's purge then drops or keeps
the wrong points. :func:`summary_writer` waits, when needed, until the clock is past the newest
event file already in the folder, so its own file sorts after every earlier one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

#: the start of every event file's name
EVENT_PREFIX = "events.out.tfevents."
#: an event file stamped further ahead than this (seconds) comes from a clock set ahead of this
#: one: no short wait puts a new file after it, so none is made
MAX_WAIT_S = 2.0


def newest_event_second(folder: Path) -> int | None:
    """The largest whole-second stamp of the event files in ``folder`` (None: no event file)."""
    stamps = [
        int(stamp)
        for path in folder.glob(f"{EVENT_PREFIX}*")
        if (stamp := path.name.removeprefix(EVENT_PREFIX).split(".")[0]).isdigit()
    ]
    return max(stamps, default=None)


def wait_past_newest_event(
    folder: Path,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait until the clock's whole second is past that of every event file in ``folder`` (at
    most :data:`MAX_WAIT_S` seconds); return the seconds waited."""
    newest = newest_event_second(folder)
    start = now = clock()
    if newest is None or newest + 1 - now > MAX_WAIT_S:
        return 0.0
    while int(now) <= newest:
        sleep(newest + 1 - now + 1e-3)
        now = clock()
    return now - start


def summary_writer(folder: Path, purge_step: int | None = None) -> SummaryWriter:
    """A ``SummaryWriter`` on ``folder`` whose event file sorts after every event file already
    in it (:func:`wait_past_newest_event`); ``purge_step`` as ``SummaryWriter`` takes it."""
    from torch.utils.tensorboard import SummaryWriter

    wait_past_newest_event(folder)
    return SummaryWriter(str(folder), purge_step=purge_step)
