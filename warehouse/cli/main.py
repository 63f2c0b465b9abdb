"""Entry point of the ``warehouse`` command.

Sub-commands live in ``warehouse/cli/cmd_*.py``; each module defines ``register(app)`` and is
discovered here, so adding a command never edits this file. Dispatchers and navigators of
other installed packages are registered first (:mod:`warehouse.plugins`). Every
:class:`InputError` (and any command's ``typer.Exit(2)``) ends as one line on stderr and exit
code 2, with no traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from warehouse.errors import InputError

app = typer.Typer(
    name="warehouse",
    help="Simulate, learn to run, watch and measure warehouse robot fleets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Add every ``cmd_*`` module's commands to :data:`app`, once per process: registering
    them again on each :func:`main` call would multiply them, and typer rebuilds every
    registered command on each call (a slowdown that grows with every call in one process)."""
    from warehouse import cli

    if app.registered_commands:
        return
    for info in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"warehouse.cli.{info.name}").register(app)


def main(argv: list[str] | None = None) -> None:
    from warehouse.plugins import load_plugins

    _register_commands()
    try:
        load_plugins()  # other packages' dispatchers and navigators (entry points)
        app(args=argv, standalone_mode=True)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
