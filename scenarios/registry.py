"""Built-in scenarios: the YAML files shipped in ``scenarios/builtin``."""

from __future__ import annotations

from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    path = BUILTIN_DIR / f"{name}.yaml"
    return path if path.is_file() else None
