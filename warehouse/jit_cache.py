"""Where numba keeps the compiled kernels: a folder per version of the compiled sources.

numba's on-disk cache (``@numba.njit(cache=True)``) checks a kernel against the file it is
written in, not against the files of the kernels it calls. ``pibt_search`` in
``warehouse/shield/pibt.py`` compiles in the swap rules of ``swap_rules.py``; after an edit or
an upgrade that changes ``swap_rules.py`` alone, numba would load the old machine code and run
the old rules without a word. That breaks "same code, same seed, same trajectory".

So the cache lives in a folder named after a hash of every source file of the project that
uses numba, plus the numba and Python versions: any change to any of them starts a fresh
folder, and unchanged sources reuse theirs. The root is ``$NUMBA_CACHE_DIR`` when the user set
it, else the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) under
``warehouse-fleet/numba``; where that cannot be written, a folder in the temporary directory.
Folders not used for :data:`KEEP_DAYS` days are removed.

:func:`configure` runs once when :mod:`warehouse` is imported (``agents`` and ``hierarchy``
import it first), before any kernel is compiled.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

#: the packages whose modules define numba kernels
PACKAGES = ("warehouse", "agents", "hierarchy")
#: cache folders of other source versions unused this long are deleted
KEEP_DAYS = 14
_ENV_ROOT = "WAREHOUSE_NUMBA_CACHE_ROOT"  #: the root chosen by the first configure (for workers)

_configured: Path | None = None


def project_root() -> Path:
    """The folder that holds the ``warehouse``, ``agents`` and ``hierarchy`` packages."""
    return Path(__file__).resolve().parent.parent


def kernel_sources(root: Path | None = None) -> list[Path]:
    """The project's source files that use numba, sorted (the files a kernel can call into)."""
    root = project_root() if root is None else root
    files: list[Path] = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            if b"numba" in path.read_bytes():
                files.append(path)
    return files


def source_digest(root: Path | None = None) -> str:
    """A hash of the kernel sources (path and content) and the numba and Python versions."""
    from importlib.metadata import version

    root = project_root() if root is None else root
    h = hashlib.sha256()
    h.update(f"numba {version('numba')} python {sys.version}\n".encode())
    for path in kernel_sources(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def default_root() -> Path:
    """``$NUMBA_CACHE_DIR`` as the user set it, else ``~/.cache/warehouse-fleet/numba``."""
    if given := os.environ.get(_ENV_ROOT) or os.environ.get("NUMBA_CACHE_DIR"):
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "warehouse-fleet" / "numba"


def prune(root: Path, keep: Path, days: float = KEEP_DAYS) -> list[Path]:
    """Delete the cache folders under ``root`` other than ``keep`` unused for ``days`` days."""
    removed: list[Path] = []
    cutoff = time.time() - days * 86400.0
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if entry == keep or not entry.is_dir() or len(entry.name) != 16:
            continue
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry)
                removed.append(entry)
        except OSError:
            continue
    return removed


def configure(root: Path | None = None) -> Path:
    """Point numba's cache at the folder of these sources (idempotent); returns the folder.

    Sets ``NUMBA_CACHE_DIR`` (read when numba is imported, and inherited by worker processes)
    and, when numba is already imported, ``numba.config.CACHE_DIR`` too, so it must run before
    the first ``@njit(cache=True)`` kernel is defined.
    """
    global _configured
    if _configured is not None and root is None:
        return _configured
    digest = source_digest()
    user = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"warehouse-fleet-numba-{user}"
    for cache_root in (default_root() if root is None else root, fallback):
        folder = cache_root / digest
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.utime(folder)  # marks it used, for prune()
            break
        except OSError:
            continue  # not writable (a read-only home): the temporary folder instead
    else:
        return folder  # neither is writable: numba keeps its own locations
    os.environ.setdefault(_ENV_ROOT, str(cache_root))
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if (numba := sys.modules.get("numba")) is not None:
        numba.config.CACHE_DIR = str(folder)
    prune(cache_root, folder)
    _configured = folder
    return folder


def cold(folder: Path | None = None) -> bool:
    """Whether no kernel of these sources is compiled yet (``folder``, by default that of
    :func:`configure`, holds no numba index): the first run of a version compiles them all,
    about a minute on two cores."""
    folder = configure() if folder is None else folder
    try:
        return not any(folder.rglob("*.nbi"))
    except OSError:
        return False
