"""Entry points as an installed package declares them, for the plugin tests."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

from agents import NAVIGATORS
from hierarchy import DISPATCHERS
from warehouse import plugins
from warehouse.shield import SHIELDS


def installed_parts(
    monkeypatch: pytest.MonkeyPatch, parts: dict[str, list[tuple[str, str]]]
) -> Iterator[dict[str, list[tuple[str, str]]]]:
    """Serve ``parts`` (group → ``(name, "module:attr")``, editable while the test runs) as the
    installed entry points; yields them, then restores the registries and the loader's
    once-per-process flag."""

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [EntryPoint(name, value, group) for name, value in parts.get(group, [])]

    monkeypatch.setattr(plugins, "entry_points", entry_points)
    monkeypatch.setattr(plugins, "_loaded", False)
    before = dict(DISPATCHERS), dict(NAVIGATORS), dict(SHIELDS)
    yield parts
    for registry, saved in zip((DISPATCHERS, NAVIGATORS, SHIELDS), before, strict=True):
        registry.clear()
        registry.update(saved)
