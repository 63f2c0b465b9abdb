"""Navigator names → factories. Learned navigators register here too (``cql``, ``bc``...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Navigator
from .finetune_nav import finetuned_navigator, sampled_bc_navigator, sampled_cql_navigator
from .guided import guided_navigator
from .lacam import lacam_navigator
from .learned import (
    bc_navigator,
    cql_navigator,
    cql_physical_navigator,
    cql_pibt_navigator,
    cql_tuned_navigator,
)
from .rule_based import RandomNavigator, RuleBasedNavigator

#: ε of the ``behavior`` navigator (and of the shipped datasets' behaviour fleet)
BEHAVIOR_EPSILON = 0.1


def _behavior_navigator(*, epsilon: float = BEHAVIOR_EPSILON, **_: object) -> Navigator:
    """The ε-greedy rule-based fleet (ε = 0.1) that logs the offline datasets: the behaviour
    policy the offline navigators are compared with (docs/results.md, part 1)."""
    from .dataset import EpsilonGreedyNavigator

    navigator = EpsilonGreedyNavigator(RuleBasedNavigator(), epsilon)
    # It decides without observations (the collector's own ε-greedy wrapper logs them): a run
    # computes none, and floors that are not grids are open to it like to rule_based.
    navigator.needs_observation = False
    return navigator


def _rule_based(**modes: bool) -> Callable[..., Navigator]:
    """A rule-based navigator's factory: ``patience`` is its one setting
    (``policies.navigator_args``); other keywords (a caller's ``device=``) are ignored."""

    def factory(*, patience: int = 8, **_: object) -> Navigator:
        return RuleBasedNavigator(patience=patience, **modes)

    return factory


#: name -> factory(**kwargs) -> Navigator. Factories accept ``checkpoint=`` and ``device=`` when
#: they are learned; rule-based ones ignore unknown keywords. The named keywords of a factory
#: are what ``policies.navigator_args`` may set.
NAVIGATORS: dict[str, Callable[..., Navigator]] = {
    "rule_based": _rule_based(),
    # the same, but robots making way push chains of idle robots towards a free node
    "rule_based_push": _rule_based(clear_idle=True),
    # the same as rule_based, but deadlocks between robots with orders come undone: a robot
    # making way follows only a robot that really leaves, tries every robot it could push back,
    # and cycles of robots turn
    "rule_based_unlock": _rule_based(strict_follow=True, rotate=True, retry_push=True),
    # both of the above
    "rule_based_push_unlock": _rule_based(
        clear_idle=True, strict_follow=True, rotate=True, retry_push=True
    ),
    "random": lambda **kw: RandomNavigator(),
    "behavior": _behavior_navigator,
    "cql": cql_navigator,  # shipped weights in agents/weights/ unless checkpoint= is given
    "bc": bc_navigator,
    # the CQL network fine-tuned online under the PIBT shield
    "cql_pibt": cql_pibt_navigator,
    # the CQL network fine-tuned online without a shield, sampled as PPO trained it
    "cql_physical": cql_physical_navigator,
    # the hierarchy's navigator: cql_pibt under PIBT, cql_physical without a shield, else cql
    "cql_tuned": cql_tuned_navigator,
    # samples softmax(Q/T) like PPO fine-tuning trained it (agents/finetune_nav.py)
    "cql_ft": finetuned_navigator,
    # the offline CQL network sampled at a fixed temperature (no retry loops without a shield)
    "cql_sampled": sampled_cql_navigator,
    # the BC network sampled the same way: the baseline of cql_sampled
    "bc_sampled": sampled_bc_navigator,
    # one-shot MAPF only (tasks.assignment: one_shot): the LaCAM search plans the whole fleet
    # to its goals (agents/lacam.py); node_budget is the search's iteration limit, refine
    # LaCAM*'s anytime refinement
    "lacam": lacam_navigator,
    # lifelong MAPF at high density: traffic-flow guide paths (agents/guided.py), to run under
    # a PIBT shield; vertex_weight and contraflow_weight weigh the congestion costs,
    # suboptimality the search's heuristic
    "guided": guided_navigator,
}


#: the navigators that run the network of a ``checkpoint=`` (``policies.navigator_checkpoint``).
#: The rule-based ones take no weights; ``cql_tuned`` runs the three shipped networks.
CHECKPOINT_NAVIGATORS = frozenset(NAVIGATORS) - {
    "rule_based",
    "rule_based_push",
    "rule_based_unlock",
    "rule_based_push_unlock",
    "random",
    "behavior",
    "cql_tuned",
    "lacam",
    "guided",
}


def make_navigator(name: str, **kwargs: Any) -> Navigator:
    """The navigator ``name`` built with ``kwargs``. One that lacks what a fleet calls, or an
    installed package's whose factory raises, is a one-line ``InputError``
    (:mod:`warehouse.plugins`)."""
    from warehouse.plugins import NAVIGATOR_GROUP, build_part, check_part

    try:
        factory = NAVIGATORS[name]
    except KeyError:
        raise ValueError(f"unknown navigator {name!r}; known: {sorted(NAVIGATORS)}") from None
    navigator = build_part(NAVIGATOR_GROUP, name, factory, kwargs)
    return check_part("navigator", name, navigator)  # type: ignore[no-any-return]
