"""The run plots' time axis."""

from __future__ import annotations

import pytest

from warehouse.plots import _time_axis


@pytest.mark.parametrize(
    ("steps", "step_seconds", "expected"),
    [
        (100, 1.0, (1.0, "s")),
        (179, 1.0, (1.0, "s")),
        (180, 1.0, (60.0, "min")),
        (2000, 1.0, (60.0, "min")),
        (3 * 3600, 1.0, (3600.0, "h")),
        (4500, 0.8, (60.0, "min")),  # an hour of 0.8 s steps
        (20000, 0.8, (3600.0, "h")),
    ],
)
def test_time_axis_unit_follows_the_simulated_time(steps, step_seconds, expected) -> None:
    assert _time_axis(steps, step_seconds) == expected
