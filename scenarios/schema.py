"""The scenario file schema: one YAML file describes a whole run.

A scenario is the core's :class:`~warehouse.config.SimConfig` (fleet, tasks, physics, reward,
faults, observation) plus the layout of the floor, the episode and the policies. Every field
carries its unit in its description; unknown keys are errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from warehouse.config import Section, SimConfig


class GeneratorLayout(Section):
    """A parametric warehouse (see :mod:`warehouse.floor.generator`)."""

    type: Literal["generator"] = "generator"
    shelf_rows: int = Field(4, ge=1, le=200, description="Shelf blocks stacked north-south.")
    shelf_cols: int = Field(4, ge=1, le=200, description="Shelf blocks side by side east-west.")
    block_length: int = Field(8, ge=1, le=200, description="Shelf cells per block along a row.")
    block_depth: int = Field(2, ge=1, le=20, description="Shelf rows per block.")
    aisle_width: int = Field(1, ge=1, le=10, description="Aisle width between blocks, cells.")
    station_zone: int = Field(
        3, ge=1, le=50, description="Open zone depth at station walls, cells."
    )
    station_walls: tuple[Literal["west", "east", "north", "south"], ...] = Field(
        ("west",), min_length=1, description="Walls that carry stations."
    )
    station_spacing: int = Field(3, ge=1, le=100, description="One station every N cells.")
    one_way: bool = Field(False, description="Alternate one-way aisle directions.")


class AsciiLayout(Section):
    """A floor drawn inline: ``.`` aisle, ``#``/``@`` shelf, ``p`` pick location, ``S`` station."""

    type: Literal["ascii"] = "ascii"
    map: str = Field(..., min_length=1, description="Rows of the floor, one text line per row.")


class FileLayout(Section):
    """A map file, resolved relative to the scenario file and kept inside its folder."""

    type: Literal["file"] = "file"
    path: str = Field(..., min_length=1, description="Map file path (relative to the scenario).")
    format: Literal["auto", "movingai", "pogema", "rhcr", "ascii", "json", "graphml"] = Field(
        "auto", description="File format; auto detects from the extension and header."
    )


Layout = Annotated[GeneratorLayout | AsciiLayout | FileLayout, Field(discriminator="type")]


class EpisodeConfig(Section):
    steps: int = Field(2000, ge=1, le=10_000_000, description="Steps per episode.")
    seeds: list[int] = Field(
        [0, 1, 2], min_length=1, max_length=10_000, description="Seeds run (one episode each)."
    )
    collect_every: int = Field(
        10, ge=1, le=1_000_000, description="Record the KPI time series every N steps."
    )


class PoliciesConfig(Section):
    dispatcher: str = Field("greedy", description="Dispatcher name (see `warehouse list`).")
    navigator: str = Field("rule_based", description="Navigator name.")
    shield: Literal["physical", "block", "pibt"] | None = Field(
        None, description="Collision handling for this policy; default: physics.collisions."
    )
    navigator_checkpoint: str | None = Field(
        None, description="Checkpoint for a learned navigator."
    )
    dispatcher_checkpoint: str | None = Field(
        None, description="Checkpoint for a learned dispatcher."
    )


class Scenario(SimConfig):
    """A whole run: floor layout, core settings, episode and policies."""

    name: str = Field("scenario", description="Short name used in reports.")
    description: str = Field("", description="One line on what the scenario is for.")
    layout: Layout = Field(default_factory=GeneratorLayout, description="The floor.")
    episode: EpisodeConfig = EpisodeConfig()
    policies: PoliciesConfig = PoliciesConfig()

    @model_validator(mode="before")
    @classmethod
    def _default_layout_type(cls, data: Any) -> Any:
        """A layout mapping without ``type`` is a generator layout."""
        if isinstance(data, dict) and isinstance(data.get("layout"), dict):
            if "type" not in data["layout"]:
                data = {**data, "layout": {"type": "generator", **data["layout"]}}
        return data

    def sim_config(self) -> SimConfig:
        """The part the core reads."""
        return SimConfig(**{k: getattr(self, k) for k in SimConfig.model_fields})
