"""Edited copies of recordings, for the tests that check what loading refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def rewrite_recording(
    src: Path,
    dst: Path,
    doc: dict[str, Any] | None = None,
    edit_doc: Callable[[dict[str, Any]], None] | None = None,
    **changes: Any,
) -> Path:
    """``src`` saved as ``dst`` with arrays replaced by ``changes`` (``None``: removed) and its
    ``meta_json`` replaced by ``doc`` or edited in place by ``edit_doc``."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if edit_doc is not None:
        doc = json.loads(str(arrays["meta_json"]))
        edit_doc(doc)
    if doc is not None:
        arrays["meta_json"] = np.asarray(json.dumps(doc))
    arrays.update(changes)
    np.savez(dst, **{k: v for k, v in arrays.items() if v is not None})
    return dst
