"""Reading the JSON side files of artifacts (checkpoint metadata, dataset manifests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError


def read_json_object(path: str | Path) -> dict[str, Any]:
    """Parse ``path`` as a JSON object; anything else is an :class:`InputError` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, None, f"cannot read JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a JSON object")
    return data
