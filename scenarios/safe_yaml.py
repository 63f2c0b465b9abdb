"""Bounded YAML reading for files handed to us by users.

:func:`read_yaml` is ``yaml.safe_load`` with the hostile cases turned into one-line
:class:`~warehouse.errors.InputError` messages instead of hangs, tracebacks or memory blow-ups:

* only the safe tags load (``!!python/...`` is refused);
* nesting deeper than :data:`MAX_DEPTH` is refused while composing (no ``RecursionError``);
* alias bombs ("billion laughs") are refused by counting the nodes the document would expand to
  (aliases counted at every use) before anything is constructed — at most :data:`MAX_NODES`;
  self-referencing aliases are refused too;
* a key repeated in one mapping is refused (plain PyYAML keeps the last one silently);
* empty, binary (NUL bytes / not UTF-8) and oversized (> :data:`MAX_BYTES`) files are refused.

Numbers in scientific notation read as YAML 1.2 reads them: ``1e3``, ``-2E-2``, ``1.5e3`` are
floats (YAML 1.1, which PyYAML follows, wants a dot and a signed exponent and read them as text).
:class:`SafeDumper` writes text that would read as such a number in quotes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from warehouse.errors import InputError

MAX_BYTES = 16 * 1024 * 1024  #: largest file read, bytes
MAX_DEPTH = 64  #: deepest nesting of lists / mappings
MAX_NODES = 1_000_000  #: most nodes after expanding every alias


#: Floats with an exponent that YAML 1.2's core schema reads and YAML 1.1 does not: no dot
#: (``1e3``) or an unsigned exponent (``1.5e3``). The rest of 1.1's floats resolve as before.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")


def _read_exponent_floats(cls: type[yaml.SafeLoader] | type[yaml.SafeDumper]) -> None:
    """Resolve :data:`_EXPONENT_FLOAT` scalars of ``cls`` (a loader, or a dumper: which then
    quotes such text) as floats, after the resolvers it has."""
    cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+.0123456789"))


class SafeDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` whose output :func:`parse_yaml` reads back as written: text such as
    ``'1e3'`` is quoted."""


_read_exponent_floats(SafeDumper)


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """A pure-Python SafeLoader whose composer stops at :data:`MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_read_exponent_floats(_BoundedLoader)


def _line(mark: Any) -> str | None:
    return f"line {mark.line + 1}" if mark is not None else None


def expanded_size(root: Node, source: str | Path | None, limit: int = MAX_NODES) -> int:
    """Nodes of the document with every alias expanded in place; refuse above ``limit``.

    Shared nodes are sized once (memoized by identity), so this is linear in the composed graph
    even for an alias bomb whose expansion is astronomically large.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (node, children visited?)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > limit:
                raise InputError(
                    source,
                    _line(node.start_mark),
                    f"document expands to more than {limit:,} nodes (alias bomb?)",
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise InputError(source, _line(node.start_mark), "recursive alias")
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node, source)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise InputError(source, _line(child.start_mark), "recursive alias")
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _check_duplicate_keys(node: MappingNode, source: str | Path | None) -> None:
    """``a: 1`` twice in one mapping is an error (PyYAML would silently keep the last)."""
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise InputError(
                    source, _line(key_node.start_mark), f"duplicate key {key_node.value!r}"
                )
            seen.add(key_node.value)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def read_text(path: Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """UTF-8 text of a user file; missing, unreadable, binary, empty or huge (``max_bytes``)
    files refused."""
    try:
        if not path.is_file():
            why = "is not a regular file" if path.exists() else "not found"
            raise InputError(path, None, f"{what} {why}")
        if path.stat().st_size > max_bytes:
            raise InputError(path, None, f"{what} is larger than {max_bytes // 2**20} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read {what}: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise InputError(path, None, f"{what} is binary, expected UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, None, f"{what} is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise InputError(path, None, f"{what} is empty")
    return text


def parse_yaml(text: str, source: str | Path | None) -> Any:
    """Parse one YAML document from ``text`` within the limits of this module."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node, source)
        return loader.construct_document(node)
    except _TooDeep as exc:
        raise InputError(
            source, _line(exc.mark), f"nesting deeper than {MAX_DEPTH} levels"
        ) from None
    except yaml.constructor.ConstructorError as exc:
        msg = str(exc.problem or "cannot construct value")
        if "python/" in msg or "could not determine a constructor" in msg:
            msg = "unsupported YAML tag (only plain YAML is allowed; no !!python/... tags)"
        raise InputError(source, _line(exc.problem_mark), msg) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _line(mark)
        if where and mark is not None:
            where += f", column {mark.column + 1}"
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(source, where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(source, None, f"YAML error: {exc}") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise InputError(source, None, "document nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml(path: Path, *, what: str = "scenario file") -> Any:
    """:func:`read_text` then :func:`parse_yaml`."""
    return parse_yaml(read_text(path, what=what), path)
