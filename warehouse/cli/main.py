"""Entry point of the ``warehouse`` command.

Sub-commands live in ``warehouse/cli/cmd_*.py``; each module defines ``register(app)`` and is
discovered here, so adding a command never edits this file. Dispatchers and navigators of
other installed packages are registered first (:mod:`warehouse.plugins`). Every
:class:`InputError`, every usage error of the command line (an unknown option, a value out of
range or of the wrong type, a missing argument) and any command's ``typer.Exit(2)`` ends as one
line on stderr and exit code 2, with no traceback. Ctrl-C ends as ``interrupted`` on stderr,
exit code 130 (worker processes keep quiet: :mod:`warehouse.interrupt`). An option that takes one
value given twice (``--steps 10 --steps 20``), or an on/off flag given both ways (``--resume
--no-resume``), is such a usage error in every command (:class:`GivenOnce`): click would keep the
last and silently drop the others.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import typer
from typer._click import Command, Context
from typer.core import TyperCommand

from warehouse.errors import InputError
from warehouse.interrupt import INTERRUPTED, ctrl_c_pressed, watch_ctrl_c

app = typer.Typer(
    name="warehouse",
    help="Simulate, learn to run, watch and measure warehouse robot fleets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # markdown: docstring paragraphs are reflowed, and "[a,b]" is text, not a rich markup tag
    rich_markup_mode="markdown",
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
    _group_commands(app)
    for cmd in app.registered_commands:  # every command refuses a single-value option twice
        base = cmd.cls or TyperCommand
        if not issubclass(base, GivenOnce):
            cmd.cls = type(base.__name__, (GivenOnce, base), {})


class GivenOnce(Command):
    """A command (mixed in before typer's command class) that refuses, as a usage error, an
    option taking one value given more than once and an on/off flag given both ways: click keeps
    the last value and silently drops the others. Options meant to repeat (``multiple``: ``--set``,
    ``--target``), counters and a flag repeated the same way are left alone; so is a command line
    asking for ``--help``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            try:
                _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            except _click_exceptions().UsageError:
                pass  # (click's own parse below reports it)
            else:
                _check_given_once(order, args, ctx)
        return super().parse_args(ctx, args)


def _check_given_once(order: list[Any], args: Sequence[str], ctx: Context) -> None:
    """Raise a usage error for the first option of the command line ``args`` (parsed in
    ``order``, one entry per occurrence) that takes one value and is given twice, or for an
    on/off flag given both ways."""
    if any(getattr(param, "is_eager", False) for param in order):  # --help: shown, nothing run
        return
    counts: dict[int, int] = {}
    for param in order:
        counts[id(param)] = counts.get(id(param), 0) + 1
    shown = set()
    for param in order:
        if counts[id(param)] < 2 or id(param) in shown or param.param_type_name != "option":
            continue
        shown.add(id(param))
        if param.multiple or param.count:
            continue
        name = max(param.opts, key=len)
        if not param.is_flag:
            times = "twice" if counts[id(param)] == 2 else f"{counts[id(param)]} times"
            raise _click_exceptions().UsageError(f"{name}: given {times}", ctx)
        given = args[: args.index("--")] if "--" in args else args  # (the flags' spellings)
        on = [o for o in param.opts if o in given]
        off = [o for o in param.secondary_opts if o in given]
        if on and off:
            raise _click_exceptions().UsageError(f"{name}: given as {on[0]} and {off[0]}", ctx)


#: ``warehouse --help`` lists the commands in these panels, in this order: the flow of a user's
#: work. A command missing here goes to a last panel, "Other", in the order it was registered.
HELP_PANELS: dict[str, tuple[str, ...]] = {
    "Run and measure": ("run", "sweep", "compare", "validate", "list"),
    "Watch": ("view", "replay"),
    "Learn": ("collect", "train-navigator", "train-dispatcher", "ensemble", "shadow"),
    "Speed": ("bench",),
}


def _group_commands(app: typer.Typer) -> None:
    """Give every registered command its :data:`HELP_PANELS` panel and sort them to match."""
    order = [name for names in HELP_PANELS.values() for name in names]
    panel_of = {name: panel for panel, names in HELP_PANELS.items() for name in names}
    for cmd in app.registered_commands:
        if not isinstance(cmd.rich_help_panel, str):  # typer's placeholder: no panel chosen
            cmd.rich_help_panel = panel_of.get(cmd.name or "", "Other")
    rank = {name: i for i, name in enumerate(order)}
    app.registered_commands.sort(key=lambda c: rank.get(c.name or "", len(order)))


#: Options naming a file or folder: an empty value would silently mean the current folder.
PATH_OPTIONS = ("--out", "--record", "--headless-frames", "--init", "--learned", "--data")


def _click_exceptions() -> ModuleType:
    """click's exception classes (typer, from the 0.29 floor on, vendors click as
    ``typer._click``)."""
    from typer._click import exceptions

    return exceptions


def _check_empty_paths(args: list[str]) -> None:
    """``--out ""`` is refused: as a path it would be ``.``, the current folder."""
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in PATH_OPTIONS and (value if eq else "".join(args[i + 1 : i + 2]) or "") == "":
            if eq or i + 1 < len(args):  # (a flag without any value is click's to report)
                raise InputError(None, flag, "empty path")


def usage_line(exc: Any, exceptions: ModuleType, args: Sequence[str] = ()) -> str:
    """A click usage error on one line, as ``OPTION: MESSAGE`` where it names an option. A NaN
    or infinite value fails a range check with a message about the bound; it is named instead
    (``args``: the command line, where the value is read)."""
    param = getattr(exc, "param", None)
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    if isinstance(exc, exceptions.BadParameter) and opts and exc.message:
        if (value := _value_of(opts, list(args))) is not None:
            if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
                return f"{opts[0]}: expected a finite number, got {value}"
        return f"{opts[0]}: {' '.join(str(exc.message).split())}"
    return " ".join(exc.format_message().split())


def _value_of(opts: list[str], args: list[str]) -> str | None:
    """The value given to the option ``opts`` on the command line ``args`` (the last one)."""
    found = None
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in opts:
            found = value if eq else (args[i + 1] if i + 1 < len(args) else None)
    return found


#: the arguments of the ``main`` call running now (in-process calls do not set ``sys.argv``)
_INVOKED: list[str] = []


def invoked_command() -> str:
    """The ``warehouse ...`` command line being run, shell-quoted."""
    import shlex

    return shlex.join(["warehouse", *(_INVOKED or sys.argv[1:])])


def main(argv: list[str] | None = None) -> None:
    from warehouse.plugins import load_plugins

    watch_ctrl_c()  # (a Ctrl-C while numba compiles still stops the command)
    _register_commands()
    exceptions = _click_exceptions()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        _check_empty_paths(args)
        load_plugins()  # other packages' dispatchers and navigators (entry points)
        _INVOKED[:] = args  # (invoked_command)
        code = app(args=args, standalone_mode=False)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)
    except exceptions.NoArgsIsHelpError as exc:  # ``warehouse`` alone: the help text
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(2)
    except exceptions.UsageError as exc:
        print(f"error: {usage_line(exc, exceptions, args)}", file=sys.stderr)
        sys.exit(2)
    except exceptions.ClickException as exc:
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except KeyboardInterrupt:  # (before or after the command: typer turns one in it into 130)
        code = INTERRUPTED
    except Exception:
        if not ctrl_c_pressed():
            raise
        code = INTERRUPTED  # the interrupt's doing (numba stopped half way through a kernel)
    if code == INTERRUPTED:  # Ctrl-C: one line, no traceback (typer swallowed it silently)
        print("interrupted", file=sys.stderr)
    # As click's standalone mode: always exit, with a command's typer.Exit(N) code (3: paused).
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
