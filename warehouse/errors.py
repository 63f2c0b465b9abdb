"""User-facing input errors.

Every problem with a file the user handed us (scenario, map, dataset, checkpoint) is raised as
:class:`InputError`. The CLI prints its one-line message and exits with code 2; no traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input, reported as ``FILE: FIELD: MESSAGE`` on one line."""

    def __init__(self, source: str | Path | None, field: str | None, message: str) -> None:
        self.source = str(Path(source).name) if source is not None else None
        self.field = field
        self.message = message.replace("\n", " ").strip()
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[type[InputError], tuple[str | None, str | None, str]]:
        """Rebuilt from its parts, so an error raised in a worker process (``--jobs``) reaches
        the parent as the same one-line error instead of breaking the process pool."""
        return (type(self), (self.source, self.field, self.message))

    def one_line(self) -> str:
        parts = [p for p in (self.source, self.field, self.message) if p]
        return ": ".join(parts)
