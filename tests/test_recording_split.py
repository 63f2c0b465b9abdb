"""Recording a run (:mod:`warehouse.recorder`) and reading it back (:mod:`warehouse.recording`)
are two modules: the recorder's names stay importable from ``warehouse.recording``, either
module imports first in a fresh interpreter, reading pulls in neither the recorder nor torch or
pygame (the one size rule both share: ``tests/test_audit_recording2.py``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import warehouse.recorder as recorder
import warehouse.recording as recording


def _fresh(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_recorders_names_are_importable_from_the_old_path():
    from warehouse.recording import EpisodeRecorder, check_recording_fits

    assert EpisodeRecorder is recorder.EpisodeRecorder
    assert check_recording_fits is recorder.check_recording_fits
    assert "EpisodeRecorder" in recording.__all__
    with pytest.raises(AttributeError, match="no_such_name"):
        recording.no_such_name  # noqa: B018


def test_the_recorder_imports_first_and_reading_imports_no_writer_torch_or_pygame():
    """(``warehouse.recorder`` imports ``warehouse.recording``; the reverse is lazy: no cycle.)"""
    code = "import sys, warehouse.recorder; print(sys.modules['warehouse.recording'].FORMAT)"
    assert _fresh(code) == recording.FORMAT
    code = (
        "import sys, warehouse.recording; "
        "print(sorted({'torch', 'pygame', 'warehouse.recorder'} & set(sys.modules)))"
    )
    assert _fresh(code) == "[]"
