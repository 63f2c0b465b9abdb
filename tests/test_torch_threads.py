"""torch's thread count: training and evaluation commands set their own for the work and give
the caller's back (a Python session that calls them through ``main()`` keeps its setting)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from cli_helpers import run_cli

from warehouse.threads import torch_threads


@pytest.fixture
def two_threads() -> Iterator[None]:
    """The caller runs torch on 2 threads (a count no command sets)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Wrap ``module.name`` so that each call records torch's thread count, then runs."""
    seen: list[int] = []
    real: Callable[..., Any] = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


def test_torch_threads_sets_and_gives_back(two_threads) -> None:
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with torch_threads(0):  # 0: as it is
        assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="the count comes back"), torch_threads(1):
        raise RuntimeError("the count comes back on errors too")
    assert torch.get_num_threads() == 2


def test_train_dispatcher_trains_on_one_thread_and_gives_the_count_back(
    two_threads, tmp_path: Path, monkeypatch, capsys
) -> None:
    import hierarchy.train

    seen = _spy(monkeypatch, hierarchy.train, "train")
    argv = ["train-dispatcher", "tiny", "--steps", "20", "--out", str(tmp_path / "run")]
    argv += ["--envs", "1", "--horizon", "20", "--imitation", "0", "--eval-every", "0"]
    code, _, err = run_cli([*argv, "--no-tensorboard", "--no-progress"], capsys)
    assert code == 0, err
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_fine_tuning_runs_on_threads_and_gives_the_count_back(
    two_threads, tmp_path: Path, monkeypatch, capsys
) -> None:
    import agents.finetune
    from agents.learned import DEFAULT_WEIGHTS

    seen = _spy(monkeypatch, agents.finetune, "finetune")
    argv = [
        "train-navigator",
        "--algo",
        "ppo",
        "--init",
        str(DEFAULT_WEIGHTS / "cql.json"),
        "--steps",
        "1",
    ]
    argv += ["--out", str(tmp_path / "r"), "--scenarios", "tiny", "--rollout-steps", "8"]
    code, _, err = run_cli([*argv, "--no-progress", "--device", "cpu", "--threads", "1"], capsys)
    assert code == 0, err
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_offline_training_gives_the_count_back(two_threads, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(
        ["collect", "tiny", "--episodes", "1", "--steps", "4", "--out", str(tmp_path / "ds")],
        capsys,
    )
    assert code == 0, err
    argv = ["train-navigator", "--algo", "bc", "--data", str(tmp_path / "ds"), "--steps", "2"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "run"), "--no-progress"], capsys)
    assert code == 0, err
    assert torch.get_num_threads() == 2


def test_evaluation_runner_gives_the_count_back(two_threads, tmp_path: Path, monkeypatch) -> None:
    import hierarchy.evaluate as ev

    seen = _spy(monkeypatch, ev, "run_recorded")  # (the runner records the weights too)
    monkeypatch.setattr(ev, "SCENARIOS", [("small", "small", False, {})])
    ev.main(["--out", str(tmp_path / "e"), "--seeds", "1", "--steps", "10",
             "--scenarios", "small", "--configs", "rule_based (block)"])  # fmt: skip
    assert seen == [1]
    assert torch.get_num_threads() == 2


def _recorder(seen: list[int], result: Any = None) -> Callable[..., Any]:
    """A stand-in for a long job: records torch's thread count when called, returns ``result``."""

    def record(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return result

    return record


def test_navigator_recipe_rounds_give_the_count_back(
    two_threads, tmp_path: Path, monkeypatch
) -> None:
    import agents.rounds as rounds

    seen: list[int] = []
    monkeypatch.setattr(rounds, "collect", _recorder(seen))
    monkeypatch.setattr(rounds, "train", _recorder(seen, {"model": "m"}))
    rounds.run(rounds.RoundsConfig(data=rounds.BASE_DATA, rounds=0), tmp_path, log=lambda _: None)
    assert seen == [1, 1, 1]  # round 0's data, then CQL and BC
    assert torch.get_num_threads() == 2


def test_weight_recipes_train_on_one_thread_and_give_the_count_back(
    two_threads, tmp_path: Path, monkeypatch
) -> None:
    import agents.make_weights as nav_weights
    import hierarchy.make_weights as disp_weights

    seen: list[int] = []
    monkeypatch.setattr(nav_weights, "finetune", _recorder(seen))
    nav_weights._finetune_quietly(nav_weights.FINETUNE, tmp_path / "ft", tmp_path / "init.json")
    monkeypatch.setattr(disp_weights, "train", _recorder(seen))
    disp_weights._train_member(0, tmp_path)
    assert seen == [1, 1]
    assert torch.get_num_threads() == 2


def test_benchmark_and_comparison_scripts_give_the_count_back(
    two_threads, tmp_path: Path, monkeypatch, capsys
) -> None:
    import agents.batched as batched
    import agents.evaluate as nav_eval
    import agents.finetune_eval as ft_eval
    from hierarchy.bench_dispatch import time_dispatch
    from warehouse.fleet import Fleet

    seen = _spy(monkeypatch, Fleet, "run")
    assert len(time_dispatch("small_peak", "greedy", False, steps=3, seed=0)) == 3
    assert seen == [1]
    assert torch.get_num_threads() == 2

    seen = _spy(monkeypatch, nav_eval, "compare")
    nav_eval.main(["--scenarios", "tiny", "--seeds", "0", "--steps", "3", "--policies",
                   "rule_based", "--json", str(tmp_path / "nav.json")])  # fmt: skip
    assert seen == [1]
    assert torch.get_num_threads() == 2

    seen = []
    monkeypatch.setattr(ft_eval, "compare", _recorder(seen, []))
    monkeypatch.setattr(ft_eval, "report", lambda *a, **k: None)
    ft_eval.main(["--model", "m.json", "--seeds", "0"])
    assert seen == [1]
    assert torch.get_num_threads() == 2

    seen = []
    monkeypatch.setattr(batched, "benchmark", _recorder(seen, []))
    batched.main(["--threads", "1"])
    assert "threads=1" in capsys.readouterr().out
    assert seen == [1]
    assert torch.get_num_threads() == 2
