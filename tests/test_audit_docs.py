"""Every command line in the fenced blocks of ``docs/**/*.md`` is accepted as written.

A new user copies these: ``warehouse SUB ...``, ``python -m MODULE ...`` and ``python FILE.py ...``
lines (after ``nice``, ``time``, ``env``, ``cd X &&`` and the like) must name a command, module
or script that exists, with options its parser accepts; the scenario names, configs, policies
and repository files they name must exist. Nothing is run: click's ``make_context`` and
argparse's ``parse_args`` parse, then the test stops. Shell variables set in the same block,
``for`` loops and ``\\``-continuations are expanded as a shell would; the few prose placeholders
(``(the 12 floors)``) are listed in :data:`PLACEHOLDERS`.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import runpy
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Public benchmark maps, outside the repository: commands naming them skip when absent.
SHARED = ROOT.parent / "shared"

#: Prose in a command line standing for values (text → what the test puts there). Each entry
#: must still occur in the docs (test_every_placeholder_is_still_used).
PLACEHOLDERS: dict[str, str] = {
    "--seed S": "--seed 0",  # "S = 0 … 4" and the like, said next to the command
    "--seed N": "--seed 0",
    "bench ...": "bench",  # "the same as above"
    "[--set battery.waiting_cells=true]": "--set battery.waiting_cells=true",  # optional
    "[--set 'battery.chargers=[[0,0],[6,0],[12,0]]']": (
        "--set 'battery.chargers=[[0,0],[6,0],[12,0]]'"
    ),
}
#: ``cd`` targets standing for the repository (a checkout of another commit).
CHECKOUTS = ("TREE",)

#: Programs that prefix a command without changing it (with the options they take a value for).
WRAPPERS = {"nice": ("-n",), "time": (), "env": ("-u",), "exec": ()}
PYTHONS = ("python", "python3", ".venv/bin/python")
WAREHOUSES = ("warehouse", ".venv/bin/warehouse")


@dataclass(frozen=True)
class DocCommand:
    """One command line of the docs: ``where`` (``docs/FILE.md:LINE``), ``kind`` (``warehouse``,
    ``module``, ``script`` or ``code``), ``name`` (sub-command, module, script path or code) and
    its arguments."""

    where: str
    cwd: str
    kind: str
    name: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.name} {shlex.join(self.args)} (in {self.cwd})"


def _fenced_blocks(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, lines)`` of each fenced block of ``path``."""
    start, block = 0, None
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            if block is None:
                start, block = number + 1, []
            else:
                yield start, block
                block = None
        elif block is not None:
            block.append(line)


def _logical_lines(start: int, lines: list[str]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` with ``\\``-continuations joined and a quote left open carried
    on to the next line, as the shell reads them."""
    i = 0
    while i < len(lines):
        number, text = start + i, lines[i]
        while i + 1 < len(lines) and (text.endswith("\\") or _open_quote(text)):
            text = text[:-1] + " " if text.endswith("\\") else text + "\n"
            i += 1
            text += lines[i].strip()
        yield number, text.strip().removeprefix("$ ")
        i += 1


def _open_quote(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _expand(text: str, env: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` of ``env`` replaced (others left as they are)."""

    def value(m: re.Match[str]) -> str:
        return env.get(m.group(1) or m.group(2), m.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def _simple_commands(text: str) -> list[list[str]]:
    """The simple commands of one shell line (split at ``;``, ``&&``, ``||``, ``|``, ``&``)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _classify(where: str, cwd: str, words: list[str]) -> DocCommand | None:
    """The command ``words`` runs, ``None`` when it is none of ours (``cd``, ``echo``, ...)."""
    while words:
        head = words[0]
        if head in WRAPPERS:
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in WRAPPERS[head] else words[1:]
        elif re.fullmatch(r"\w+=.*", head, re.S) and len(words) > 1:
            words = words[1:]  # VAR=value before a command: its environment
        else:
            break
    if not words:
        return None
    head, rest = words[0], words[1:]
    if head in WAREHOUSES and rest:
        return DocCommand(where, cwd, "warehouse", rest[0], tuple(rest[1:]))
    if head not in PYTHONS or not rest:
        return None
    if rest[0] == "-m" and len(rest) > 1:
        if rest[1] == "warehouse.cli.main" and len(rest) > 2:
            return DocCommand(where, cwd, "warehouse", rest[2], tuple(rest[3:]))
        return DocCommand(where, cwd, "module", rest[1], tuple(rest[2:]))
    if rest[0] == "-c" and len(rest) > 1:
        return DocCommand(where, cwd, "code", rest[1], ())
    return DocCommand(where, cwd, "script", rest[0], tuple(rest[1:]))


@dataclass
class _Shell:
    """What a block's earlier lines set: variables and the working folder."""

    env: dict[str, str]
    cwd: str = "."
    before: str = "."  #: the folder ``cd -`` returns to


def _block_commands(path: Path, start: int, lines: list[str]) -> Iterator[DocCommand]:
    """The commands of one block, its variables, ``cd`` and ``for`` loops followed."""
    shell = _Shell({})
    loop: tuple[str, list[str], list[tuple[int, str]]] | None = None
    for number, text in _logical_lines(start, lines):
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        if loop is not None:
            if re.match(r"done\b", text):
                var, values, body = loop
                for value in values:
                    inner = _Shell(shell.env | {var: value}, shell.cwd)
                    for n, line in body:
                        yield from _line_commands(path, n, line, inner)
                loop = None
            else:
                loop[2].append((number, text))
            continue
        if m := re.fullmatch(r"for (\w+) in (.*?); do", text):
            loop = (m.group(1), shlex.split(_expand(m.group(2), shell.env)), [])
            continue
        yield from _line_commands(path, number, text, shell)


def _braces(word: str) -> list[str]:
    """``word`` brace-expanded as bash does (``s{0,1}`` and ``s{0..2}``)."""
    m = re.search(r"\{([^{}]*,[^{}]*|\d+\.\.\d+)\}", word)
    if m is None or re.search(r"\s", word):  # (a quoted word, most likely)
        return [word]
    inner = m.group(1)
    if ".." in inner and "," not in inner:
        low, high = map(int, inner.split(".."))
        items = [str(i) for i in range(low, high + 1)]
    else:
        items = inner.split(",")
    head, tail = word[: m.start()], word[m.end() :]
    return [out for item in items for out in _braces(head + item + tail)]


def _line_commands(path: Path, number: int, text: str, shell: _Shell) -> Iterator[DocCommand]:
    """The commands of one logical line; its assignments and ``cd`` change ``shell``."""
    where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{number}"
    for words in _simple_commands(text):  # the assignments first, in order
        if len(words) == 1 and (m := re.fullmatch(r"(\w+)=(.*)", words[0], re.S)):
            shell.env[m.group(1)] = _expand(m.group(2), shell.env)
    for words in _simple_commands(_expand(text, shell.env)):
        if words[0] == "cd" and len(words) == 2:
            to = shell.before if words[1] == "-" else str(Path(shell.cwd, words[1]))
            shell.before, shell.cwd = shell.cwd, "." if words[1] in CHECKOUTS else to
        elif not (len(words) == 1 and re.fullmatch(r"\w+=.*", words[0], re.S)):
            words = [out for word in words for out in _braces(word)]
            if (command := _classify(where, shell.cwd, words)) is not None:
                yield command


def doc_commands() -> list[DocCommand]:
    """Every command of the docs' fenced blocks."""
    return [
        command
        for path in sorted(DOCS.rglob("*.md"))
        for start, lines in _fenced_blocks(path)
        for command in _block_commands(path, start, lines)
    ]


COMMANDS = doc_commands()


class _Parsed(Exception):
    """Raised by the patched ``parse_args``: the command line parsed, nothing is run."""

    def __init__(self, namespace: argparse.Namespace) -> None:
        super().__init__()
        self.namespace = namespace


def _parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ArgumentParser.parse_args`` parses, then raises :class:`_Parsed`."""
    original = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_args)


def _argparse_namespace(
    command: DocCommand, run: object, monkeypatch: pytest.MonkeyPatch, capsys
) -> argparse.Namespace:
    """What ``run()`` (a module's ``main`` or a script) parses from the command's arguments;
    fails with argparse's message if it refuses them."""
    _parse_only(monkeypatch)
    monkeypatch.setattr(sys, "argv", [command.name, *command.args])
    try:
        run()  # type: ignore[operator]
    except _Parsed as parsed:
        return parsed.namespace
    except SystemExit:
        pytest.fail(f"{command}\n  refused: {capsys.readouterr().err.strip()}")
    pytest.fail(f"{command}\n  parsed no command line")


def _is_shared(text: str) -> bool:
    return "shared/" in text or "shared\\" in text


def _check_repo_path(command: DocCommand, text: str, cwd: Path) -> None:
    """A repository file the command names (``docs/...yaml``, ``agents/weights/cql.json``)
    exists; outputs (``runs/``, ``/tmp``), variables and the public maps are not checked."""
    if "$" in text or not re.search(r"\.(ya?ml|json|py|npz|safetensors|csv|md)$", text):
        return
    if text.startswith(("runs/", "/")) or _is_shared(text):
        return
    if "/" in text and not (cwd / text).exists():
        pytest.fail(f"{command}\n  names {text}, which does not exist")


def _check_scenario(command: DocCommand, target: str, sets: list[str], cwd: Path) -> None:
    """``target`` (a built-in name or a scenario file) loads with ``sets`` applied."""
    from scenarios.registry import load_with_sets
    from warehouse.errors import InputError

    if "$" in target:
        return
    if _is_shared(target) and not SHARED.is_dir():
        pytest.skip(f"{target}: the public maps are not at {SHARED}")
    path = cwd / target
    try:
        load_with_sets(path if path.suffix in (".yaml", ".yml") else target, sets)
    except InputError as exc:
        if not SHARED.is_dir() and "shared" in str(exc):  # a floor built from a public map
            pytest.skip(f"{target}: the public maps are not at {SHARED}")
        pytest.fail(f"{command}\n  {target} {' '.join(sets)}: {exc.one_line()}")


def _check_policy(command: DocCommand, flag: str, name: str) -> None:
    """``name`` is a preset, a navigator or ``DISPATCHER+NAVIGATOR`` of registered parts."""
    from agents import NAVIGATORS
    from hierarchy import DISPATCHERS
    from warehouse.plugins import load_plugins
    from warehouse.policies import PRESETS

    load_plugins()
    disp, plus, nav = name.partition("+")
    if name in PRESETS or name in NAVIGATORS:
        return
    if plus and disp in DISPATCHERS and nav in NAVIGATORS:
        return
    pytest.fail(f"{command}\n  {flag} {name}: no such policy")


def _check_known(command: DocCommand, flag: str, text: str, known: object) -> None:
    from warehouse.cli.checks import name_list

    if "$" in text:
        return
    if bad := [n for n in name_list(text, flag) if n not in known]:  # type: ignore[operator]
        pytest.fail(f"{command}\n  {flag}: unknown {bad}")


def _check_collisions(command: DocCommand, flag: str, text: str) -> None:
    from warehouse.errors import InputError
    from warehouse.policies import checked_collisions

    for mode in text.split(","):
        try:
            checked_collisions(mode, flag)
        except InputError as exc:
            pytest.fail(f"{command}\n  {exc.one_line()}")


def _first_values(items: list[str]) -> list[str]:
    """A sweep's ``--set KEY=V1,V2`` as ``KEY=V1`` (a bracketed value kept whole)."""
    out = []
    for item in items:
        key, _, value = item.partition("=")
        out.append(f"{key}={value.split(',')[0]}" if "[" not in value else item)
    return out


#: ``warehouse`` commands whose ``target`` is a comma-separated list of floors.
TARGET_LISTS = ("collect", "train-dispatcher")
#: ``warehouse`` commands whose ``--set`` items are scenario settings (not the trainer's).
SCENARIO_SETS = ("run", "sweep", "validate", "view", "collect", "shadow")


def _check_warehouse(command: DocCommand, cwd: Path) -> None:
    import typer

    from warehouse.cli.main import _register_commands, app

    _register_commands()
    group = typer.main.get_command(app)
    sub = group.commands.get(command.name)  # type: ignore[attr-defined]
    if sub is None:
        pytest.fail(f"{command}\n  no command {command.name!r}")
    try:
        ctx = sub.make_context(command.name, list(command.args))
    except Exception as exc:  # click's usage errors
        pytest.fail(f"{command}\n  refused: {exc}")
    params = ctx.params
    sets = list(params.get("sets") or ()) if command.name in SCENARIO_SETS else []
    if command.name == "sweep":
        sets = _first_values(sets)
    if (target := params.get("target")) is not None:
        for one in target.split(",") if command.name in TARGET_LISTS else [target]:
            _check_scenario(command, one, sets, cwd)
    for key in ("scenario", "scenarios", "eval_scenario"):
        for one in (params.get(key) or "").split(",") if params.get(key) else []:
            _check_scenario(command, one, [], cwd)
    for key in ("policy", "candidate", "incumbent"):
        for one in (params.get(key) or "").split(",") if params.get(key) else []:
            _check_policy(command, f"--{key}", one)
    if params.get("collisions"):
        _check_collisions(command, "--collisions", params["collisions"])
    for arg in command.args:
        for piece in re.split(r"[,=]", arg):
            _check_repo_path(command, piece, cwd)


def _module_names(module: str) -> dict[str, object]:
    """Per option (argparse ``dest``) of ``module``, the names it may list."""
    if module == "hierarchy.evaluate":
        from hierarchy.evaluate import CONFIGS, SCENARIOS

        return {"scenarios": {n for n, *_ in SCENARIOS}, "configs": CONFIGS}
    if module == "hierarchy.bench_dispatch":
        from hierarchy import DISPATCHERS
        from hierarchy.bench_dispatch import FLOORS

        return {"scenarios": FLOORS, "dispatchers": DISPATCHERS}
    if module == "agents.evaluate":
        from agents import NAVIGATORS

        return {"policies": NAVIGATORS}
    if module == "warehouse.shield.bench_pibt":  # its own "greedy": GreedyNavigator
        from agents import NAVIGATORS

        return {"navigator": {*NAVIGATORS, "greedy"}}
    return {}


#: ``python -m`` modules whose ``--scenarios`` are floors of the ``warehouse`` command.
SCENARIO_MODULES = ("agents.evaluate", "agents.finetune_eval")


def _check_module(command: DocCommand, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    try:
        module = importlib.import_module(command.name)
    except ImportError as exc:
        pytest.fail(f"{command}\n  no module: {exc}")
    source = Path(module.__file__ or "").read_text("utf-8")
    if not re.search(r"^if __name__ == .__main__.:", source, re.M):
        pytest.fail(f"{command}\n  {command.name} runs nothing under python -m")
    args = _argparse_namespace(
        command, lambda: module.main(list(command.args)), monkeypatch, capsys
    )
    for dest, known in _module_names(command.name).items():
        if isinstance(getattr(args, dest, None), str):
            _check_known(command, f"--{dest}", getattr(args, dest), known)
    if command.name in SCENARIO_MODULES:
        for one in args.scenarios.split(","):
            _check_scenario(command, one, [], cwd)
    if (
        isinstance(getattr(args, "collisions", None), str)
        and command.name != "warehouse.shield.bench_pibt"
    ):
        _check_collisions(command, "--collisions", args.collisions)
    for arg in command.args:
        for piece in re.split(r"[,=]", arg):
            _check_repo_path(command, piece, cwd)


def _check_script(command: DocCommand, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = cwd / command.name
    if (ROOT / "runs") in (path.resolve(), *path.resolve().parents):
        return  # an experiment script in the git-ignored runs/ (the docs say so)
    if not path.is_file():
        pytest.fail(f"{command}\n  no script {path.relative_to(ROOT)}")
    _argparse_namespace(
        command, lambda: runpy.run_path(str(path), run_name="__main__"), monkeypatch, capsys
    )
    for arg in command.args:
        for piece in re.split(r"[,=]", arg):
            _check_repo_path(command, piece, cwd)


def _check_code(command: DocCommand) -> None:
    """``python -c CODE`` compiles and its imports resolve (nothing else of it runs)."""
    tree = ast.parse(command.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            try:
                exec(compile(ast.Module([node], []), "<doc>", "exec"), {})
            except ImportError as exc:
                pytest.fail(f"{command}\n  {exc}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.where)
def test_every_docs_command_line_is_accepted(
    command: DocCommand, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A reader pastes these: each names a command, module or script that exists, options its
    parser accepts, and floors, policies, configs and files that exist (nothing is run)."""
    cwd = ROOT / command.cwd
    monkeypatch.chdir(cwd if cwd.is_dir() else ROOT)
    if command.kind == "warehouse":
        _check_warehouse(command, cwd)
    elif command.kind == "module":
        _check_module(command, cwd, monkeypatch, capsys)
    elif command.kind == "script":
        _check_script(command, cwd, monkeypatch, capsys)
    else:
        _check_code(command)


def test_the_docs_commands_are_all_found() -> None:
    """The extraction finds the docs' commands of every kind (an empty list passes nothing)."""
    kinds = {c.kind for c in COMMANDS}
    assert kinds == {"warehouse", "module", "script", "code"}, kinds
    assert len(COMMANDS) >= 150
    assert len({c.name for c in COMMANDS if c.kind == "module"}) >= 8


def test_every_placeholder_is_still_used() -> None:
    """A placeholder the docs no longer hold is dropped from :data:`PLACEHOLDERS`."""
    text = "".join(
        "\n".join(t for _, t in _logical_lines(start, lines))
        for path in sorted(DOCS.rglob("*.md"))
        for start, lines in _fenced_blocks(path)
    )
    assert [p for p in PLACEHOLDERS if p not in text] == []


def test_the_extraction_reads_blocks_as_a_shell_does(tmp_path: Path) -> None:
    """Continuations, variables, ``for`` loops, ``cd`` (and ``cd -``), wrappers and brace
    expansion, as bash reads them; output lines and other programs are no commands."""
    doc = tmp_path / "x.md"
    doc.write_text(
        'text\n```bash\nS=small; P=rule_based\nR="--policy $P --seeds 0..4"\n'
        "for f in a b; do\n  nice -n 10 warehouse run $f.yaml $R \\\n    --out runs/$f\ndone\n"
        "cd sub && PYTHONPATH=. python tool.py --x 1   # a comment\ncd -\n"
        'time .venv/bin/python -m hierarchy.evaluate --configs "$P (pibt)"\n'
        "warehouse ensemble runs/s{0,1}/p.json --set 'k=[{a: 1, b: 2}]'\n"
        "echo done\n| 12 | 13 |\n```\n",
        "utf-8",
    )
    got = [(c.kind, c.name, c.args, c.cwd) for _, lines in _fenced_blocks(doc)
           for c in _block_commands(doc, 1, lines)]  # fmt: skip
    policy = ("--policy", "rule_based", "--seeds", "0..4")
    assert got == [
        ("warehouse", "run", ("a.yaml", *policy, "--out", "runs/a"), "."),
        ("warehouse", "run", ("b.yaml", *policy, "--out", "runs/b"), "."),
        ("script", "tool.py", ("--x", "1"), "sub"),
        ("module", "hierarchy.evaluate", ("--configs", "rule_based (pibt)"), "."),
        ("warehouse", "ensemble",
         ("runs/s0/p.json", "runs/s1/p.json", "--set", "k=[{a: 1, b: 2}]"), "."),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (DocCommand("x", ".", "warehouse", "run", ("small", "--no-such", "1")), "refused"),
        (DocCommand("x", ".", "warehouse", "runn", ("small",)), "no command"),
        (DocCommand("x", ".", "warehouse", "run", ("smal",)), "smal"),
        (DocCommand("x", ".", "warehouse", "run", ("small", "--set", "fleet.robotz=3")), "robotz"),
        (DocCommand("x", ".", "warehouse", "run", ("small", "--policy", "greedy+nope")), "policy"),
        (DocCommand("x", ".", "warehouse", "run", ("small", "--collisions", "pibbt")), "pibbt"),
        (DocCommand("x", ".", "warehouse", "train-navigator",
                    ("--algo", "ppo", "--steps", "1", "--out", "o",
                     "--init", "agents/weights/nope.json")),
         "does not exist"),
        (DocCommand("x", ".", "module", "hierarchy.evaluate", ("--out", "o", "--lookahed", "8")),
         "refused"),
        (DocCommand("x", ".", "module", "hierarchy.evaluate",
                    ("--out", "o", "--configs", "hierarchical (pibt),nope (pibt)")), "nope"),
        (DocCommand("x", ".", "module", "hierarchy.nothing", ()), "no module"),
        (DocCommand("x", ".", "module", "hierarchy.settings", ()), "runs nothing"),
        (DocCommand("x", ".", "script", "docs/nothing.py", ()), "no script"),
        (DocCommand("x", ".", "code", "from agents import NoSuchThing", ()), "NoSuchThing"),
    ],
)  # fmt: skip
def test_a_stale_command_line_is_caught(
    command: DocCommand, expected: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Each check above fails on the stale line it is there for."""
    with pytest.raises(pytest.fail.Exception, match=re.escape(expected)):
        test_every_docs_command_line_is_accepted(command, monkeypatch, capsys)


def _inline_warehouse_spans() -> list[tuple[str, str]]:
    """``(file, span)`` of every inline code span of the docs' prose starting ``warehouse ``."""
    spans = []
    for path in sorted(DOCS.rglob("*.md")):
        prose = re.sub(r"^\s*```.*?^\s*```", "", path.read_text("utf-8"), flags=re.S | re.M)
        for m in re.finditer(r"`(warehouse [^`]+)`", prose.replace("\n", " ")):
            spans.append((str(path.relative_to(ROOT)), m.group(1)))
    return spans


def test_every_option_named_in_the_docs_prose_exists() -> None:
    """Prose spans like `warehouse train-navigator --algo ppo --lane-view` are fragments (not
    parsed whole), but each names a command and options it has."""
    import typer

    from warehouse.cli.main import _register_commands, app

    _register_commands()
    group = typer.main.get_command(app)
    spans = _inline_warehouse_spans()
    assert len(spans) >= 50
    stale = []
    for where, span in spans:
        name = span.split()[1]
        sub = group.commands.get(name)  # type: ignore[attr-defined]
        if sub is None:
            stale.append((where, span))
            continue
        opts = {o for p in sub.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        flags = [w.strip("[]").split("=")[0] for w in span.split()[2:]]
        stale += [(where, span) for f in flags if f.startswith("--") and f not in opts]
    assert stale == []
