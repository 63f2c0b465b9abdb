"""``python -m agents.scratch_a2c``: a policy learned from scratch over the array API."""

from __future__ import annotations

import numpy as np
import pytest

from agents.scratch_a2c import main, train


def test_a_short_run_is_reproducible_and_logs_each_update() -> None:
    lines: list[str] = []
    a = train("tiny", updates=3, steps=30, progress=1.0, seed=4, log=lines.append)
    b = train("tiny", updates=3, steps=30, progress=1.0, seed=4, log=lambda _: None)
    assert a == b and len(a["deliveries"]) == 3
    assert lines[0].startswith("update    0") and lines[-1].startswith("held-out seed:")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--scenario", "nope"], "error: nope: no such built-in scenario or file"),
        (["--updates", "0"], "error: --updates and --steps must be ≥ 1"),
        (["--progress", "nan"], "error: --progress: expected a finite number, got nan"),
    ],
)
def test_bad_options_are_one_line(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == expected


@pytest.mark.slow
def test_progress_shaping_is_what_makes_it_learn() -> None:
    """On ``small`` the delivery reward alone is too sparse for this learner within 120
    updates; with ``reward.progress`` it learns to deliver (docs: README, "The environment")."""
    plain = train("small", updates=120, steps=200, progress=0.0, log=lambda _: None)
    shaped = train("small", updates=120, steps=200, progress=2.0, log=lambda _: None)
    late = slice(-20, None)
    assert np.mean(shaped["deliveries"][late]) > 3 * max(1.0, np.mean(plain["deliveries"][late]))
