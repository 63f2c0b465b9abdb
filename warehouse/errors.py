"""User-facing input errors.

Every problem with a file the user handed us (scenario, map, dataset, checkpoint) is raised as
:class:`InputError`. The CLI prints its one-line message and exits with code 2; no traceback.
"""

from __future__ import annotations

from pathlib import Path


def display_path(source: str | Path) -> str:
    """``source`` as the user would type it: relative to the working directory when it lies
    below it, else as given. Several runs' ``policy.json`` files stay told apart."""
    path = Path(source)
    if not path.is_absolute():
        return str(path)
    cwd = Path.cwd()
    # as written, then with links resolved (e.g. /tmp → /private/tmp)
    for inside, folder in ((path, cwd), (path.resolve(), cwd.resolve())):
        if inside.is_relative_to(folder):
            return str(inside.relative_to(folder))
    return str(path)


class InputError(Exception):
    """Bad user input, reported as ``FILE: FIELD: MESSAGE`` on one line."""

    def __init__(self, source: str | Path | None, field: str | None, message: str) -> None:
        self.source = display_path(source) if source is not None else None
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


class PartError(InputError, ValueError):
    """A part (a navigator, dispatcher or shield, often another package's) gave an answer a step
    cannot take: the one-line error naming the part, and a ``ValueError`` for scripts."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(None, part, message)

    def __reduce__(self) -> tuple[type[PartError], tuple[str, str]]:  # type: ignore[override]
        return (type(self), (self.field or "", self.message))
