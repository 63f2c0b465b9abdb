"""Reading JSON input: the side files of artifacts (checkpoint metadata, dataset manifests),
run reports, recordings' metadata and graph map files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError

#: largest JSON side file read (checkpoint metadata, manifests, reports), bytes
MAX_JSON_BYTES = 64 * 2**20


def loads_json_strict(text: str, source: str | Path | None) -> Any:
    """``json.loads`` that refuses a key repeated in one object (plain ``json`` silently keeps
    the last); syntax errors and nesting too deep name the line. ``NaN`` and ``Infinity`` are
    read as floats, for the caller's checks to refuse by field name."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(source, key, "key given twice in one JSON object")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(source, None, "invalid JSON: nested too deeply") from None


def read_json_object(path: str | Path) -> dict[str, Any]:
    """Parse ``path`` as a JSON object (:func:`loads_json_strict`); anything else is an
    :class:`InputError` naming the file. Only a regular file of at most :data:`MAX_JSON_BYTES`
    is read (a FIFO or a device such as ``/dev/zero`` would never end)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(path, None, "is a folder, expected a JSON file")
        if path.exists() and not path.is_file():
            raise InputError(path, None, "not a regular file")
        if path.exists() and path.stat().st_size > MAX_JSON_BYTES:
            raise InputError(path, None, f"larger than {MAX_JSON_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"cannot read JSON: {exc}") from None
    data = loads_json_strict(text, path)
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a JSON object")
    return data
