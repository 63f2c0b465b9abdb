"""Crash-safe file output shared by every artifact writer (reports, recordings, checkpoints,
datasets, floors): write to a temporary file in the same folder, then ``os.replace`` it into
place, so a reader never sees a half-written file and a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def link_or_move(item: Path, dest: Path) -> None:
    """Move the file ``item`` to ``dest``, raising :class:`FileExistsError` if ``dest`` exists
    (atomically where the file system has hard links)."""
    try:
        os.link(item, dest)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: check, then move
        if dest.exists():
            raise FileExistsError(dest) from None
        os.replace(item, dest)
        return
    item.unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is
    removed. Use it for writers that want a file name (``safetensors.save_file``)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes files private; give them the normal permissions of new files.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (flushed and fsynced before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` (``\\n`` line endings) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def save_figure_atomic(fig: Any, path: str | Path, **kwargs: Any) -> None:
    """``fig.savefig(path)`` atomically (a matplotlib figure; the format follows the suffix of
    ``path``, PNG without one): a link at ``path`` is replaced, never written through. The
    figure is closed afterwards, also when saving fails (pyplot keeps every open figure)."""
    import matplotlib.pyplot as plt

    kwargs.setdefault("format", Path(path).suffix.removeprefix(".") or "png")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, **kwargs)
    finally:
        plt.close(fig)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()
