"""numba's kernel cache follows every kernel source, not only the file a kernel is written in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from warehouse import jit_cache

ROOT = jit_cache.project_root()


def _copy_sources(dst: Path) -> None:
    for pkg in jit_cache.PACKAGES:
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__"))


def test_the_imported_package_uses_a_folder_named_after_its_sources() -> None:
    import numba

    folder = Path(os.environ["NUMBA_CACHE_DIR"])
    assert folder.name == jit_cache.source_digest()
    assert Path(numba.config.CACHE_DIR or os.environ["NUMBA_CACHE_DIR"]) == folder


def test_kernel_sources_are_the_files_that_use_numba() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in jit_cache.kernel_sources()}
    # pibt.py compiles in swap_rules.py's kernels: both must be hashed
    assert {"warehouse/shield/pibt.py", "warehouse/shield/swap_rules.py"} <= names
    assert "warehouse/kpis.py" not in names  # no numba there: editing it recompiles nothing


def test_editing_a_called_kernel_alone_changes_the_folder(tmp_path: Path) -> None:
    _copy_sources(tmp_path)
    before = jit_cache.source_digest(tmp_path)
    assert jit_cache.source_digest(tmp_path) == before  # stable
    rules = tmp_path / "warehouse" / "shield" / "swap_rules.py"
    rules.write_text(rules.read_text() + "\n# an edit of the callee only\n")
    assert jit_cache.source_digest(tmp_path) != before
    kpis = tmp_path / "warehouse" / "kpis.py"
    after = jit_cache.source_digest(tmp_path)
    kpis.write_text(kpis.read_text() + "\n# not a kernel source\n")
    assert jit_cache.source_digest(tmp_path) == after


def test_prune_removes_only_old_folders_of_other_versions(tmp_path: Path) -> None:
    keep, old, recent = (tmp_path / n for n in ("a" * 16, "b" * 16, "c" * 16))
    other = tmp_path / "notes"  # not a cache folder: left alone
    for d in (keep, old, recent, other):
        d.mkdir()
    month_ago = time.time() - 30 * 86400
    for d in (keep, old, other):
        os.utime(d, (month_ago, month_ago))
    assert jit_cache.prune(tmp_path, keep) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([keep.name, recent.name, "notes"])


def test_a_fresh_process_and_its_workers_share_one_folder_under_the_users_root(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if "NUMBA_CACHE" not in k}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    code = (
        "import os, subprocess, sys, warehouse;"
        "print(os.environ['NUMBA_CACHE_DIR']);"
        "sys.stdout.flush();"
        "subprocess.run([sys.executable, '-c', 'import warehouse, os;"
        'print(os.environ["NUMBA_CACHE_DIR"])\'], check=True)'
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(tmp_path / jit_cache.source_digest())] * 2


def test_an_unwritable_root_falls_back_to_the_temporary_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if "NUMBA_CACHE" not in k}
    env["NUMBA_CACHE_DIR"] = str(blocker / "cache")  # cannot be made: a file is in the way
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    code = "import os, warehouse; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(out).parent.parent == tmp_path / "tmp"
    assert Path(out).name == jit_cache.source_digest() and Path(out).is_dir()


def test_cold_until_some_kernel_is_compiled(tmp_path: Path) -> None:
    assert jit_cache.cold(tmp_path)
    (tmp_path / "warehouse_core").mkdir()
    (tmp_path / "warehouse_core" / "kernels.step-12.py311.nbi").write_bytes(b"")
    assert not jit_cache.cold(tmp_path)
    # this test process has run kernels by now, or loaded them from the folder
    import warehouse

    warehouse.make_env("tiny", seed=0)
    assert not jit_cache.cold()
