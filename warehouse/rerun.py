"""``scenario.yaml`` of a run folder: the effective scenario, written so that it loads from there.

``warehouse run RUN/scenario.yaml`` runs the same again. The floor of a map-file layout is
copied beside it (``scenario_map.EXT``: a scenario's map must lie in its folder), checkpoint
paths relative to the original scenario file become absolute, and a run of the command's
default policies leaves ``policies`` out but for the settings of the parts
(:data:`warehouse.runner.PART_SETTINGS`), so the file compares the same policies. Policies the
command's flags chose (``--policy``, ``--dispatcher``, ``--navigator``, ``--collisions``) are
listed as ``policies.run``, by the names ``report.json`` gives them, so the file alone runs them
again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic

#: the name of the copied map file, before its suffix
MAP_STEM = "scenario_map"


def map_copy_name(scenario: Any) -> str | None:
    """The file name a run folder gives the map of ``scenario`` (None: no map file)."""
    layout = scenario.layout
    if getattr(layout, "type", None) != "file":
        return None
    return MAP_STEM + Path(layout.path).suffix.lower()


def write_rerun_scenario(experiment: Any, folder: Path) -> list[Path]:
    """Write ``scenario.yaml`` (and the map copy) of ``experiment`` into ``folder``; returns the
    files written."""
    from scenarios.load import PATH_KEYS, layout_base, resolve_map_path
    from scenarios.schema import PoliciesConfig, floor_wide_last

    from .runner import PART_SETTINGS

    scenario = experiment.scenario.model_dump(mode="json")
    # the kind of floor first, the settings every kind has (layout.transpose) after its own
    scenario["layout"] = dict(floor_wide_last(scenario["layout"].items()))
    source = experiment.source
    base = source.parent if source is not None else Path.cwd()
    written = []
    if (name := map_copy_name(experiment.scenario)) is not None:
        original = resolve_map_path(scenario["layout"]["path"], layout_base(source), source)
        written.append(folder / name)
        shutil.copyfile(original, written[-1])
        scenario["layout"]["path"] = name
    settings = scenario.get("policies") or {}
    for key in (k.removeprefix("policies.") for k in PATH_KEYS):
        if settings.get(key):  # relative to the original file (given with --set: absolute)
            settings[key] = str((base / Path(settings[key]).expanduser()).resolve())
    # (a file that names no parts of its own, maybe a list of policies.run: as the default's)
    if not getattr(experiment, "names_parts", experiment.names_policy):
        scenario.pop("policies", None)
        unset = PoliciesConfig()
        kept = {k: settings[k] for k in PART_SETTINGS if settings[k] != getattr(unset, k)}
        if kept:  # re-running the file compares the same policies, with the same settings
            scenario["policies"] = kept
    # the policies the flags chose, else the file's own list, first (none: left out, as before)
    listed = getattr(experiment, "listed", None) or settings.get("run")
    rest = {k: v for k, v in (scenario.get("policies") or {}).items() if k != "run"}
    if listed:
        scenario["policies"] = {"run": list(listed), **rest}
    elif "policies" in scenario:
        scenario["policies"] = rest
    written.append(folder / "scenario.yaml")
    write_text_atomic(written[-1], _dump(scenario))
    return written


def _dump(data: dict[str, Any]) -> str:
    """YAML with multi-line text (a floor drawing) as a ``|`` block, so it reads as drawn, and
    lists of plain values (cells, walls, seeds) on one line."""
    import yaml

    from scenarios.safe_yaml import SafeDumper

    class Dumper(SafeDumper):  # (quotes text such as '1e3', which reads back as a number)
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value and not value.startswith((" ", "\n")) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    def flow(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
        """A list of plain values on one line: ``[4, 2]``, ``[west, east]``, ``[0, 1, 2]``."""
        flat = all(isinstance(v, int | float | bool) or v is None for v in value) or all(
            isinstance(v, str) and "\n" not in v for v in value
        )
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)

    Dumper.add_representer(str, text)
    Dumper.add_representer(list, flow)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True)
