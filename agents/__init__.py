"""Navigation policies: what each robot does next to reach its sub-goal.

Every navigator maps the fleet to ``(actions, preferences)`` in one call: ``actions`` is an int
array ``(N,)`` and ``preferences`` an ``(N, A)`` float array (higher is better, ``-inf`` for
masked actions) that a shield such as PIBT uses to pick alternatives.
"""

import warehouse  # noqa: F401  (first: it points numba's cache at these sources)

from .base import Navigator
from .registry import CHECKPOINT_NAVIGATORS, NAVIGATORS, make_navigator
from .rule_based import RandomNavigator, RuleBasedNavigator

__all__ = [
    "CHECKPOINT_NAVIGATORS",
    "NAVIGATORS",
    "Navigator",
    "RandomNavigator",
    "RuleBasedNavigator",
    "make_navigator",
]
