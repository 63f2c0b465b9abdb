"""Helper threads for observation rows: same bits for any thread count, errors, fork, races."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

import warehouse
from agents import RuleBasedNavigator
from warehouse.core import threads
from warehouse.errors import InputError


@pytest.fixture
def small_rows(monkeypatch):
    """Split fleets of a few robots too, and restore the thread count afterwards."""
    monkeypatch.setattr(threads, "MIN_ROWS_PER_THREAD", 2)
    before = threads.get_threads()
    yield
    threads.set_threads(before)


def _trajectory(n_threads: int, api: str, intent: bool) -> list[np.ndarray]:
    threads.set_threads(n_threads)
    env = warehouse.make_env(
        "small", robots=24, steps=60, **{"observation.intent": intent, "faults.closure_prob": 0.2}
    )
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    out = []
    if api == "array":
        obs, mask = env.reset_arrays(seed=3)
        for _ in range(40):
            actions, prefs = nav.act(env.sim, obs, mask)
            obs, mask, _ = env.step_arrays(actions, prefs)
            out.append(obs)
    else:
        env.reset(seed=3)
        for _ in range(40):
            actions, _ = nav.act(env.sim, None, env.sim.action_mask())
            step = env.step(dict(zip(env.agents, actions.tolist(), strict=True)))
            out.append(np.stack([step[0][a]["observation"] for a in env.possible_agents]))
    return out


@pytest.mark.parametrize("api", ["array", "pettingzoo"])
@pytest.mark.parametrize("intent", [False, True])
def test_observations_are_bit_identical_for_any_thread_count(small_rows, api, intent):
    one = _trajectory(1, api, intent)
    for n in (2, 3):
        many = _trajectory(n, api, intent)
        assert all(np.array_equal(a, b) for a, b in zip(one, many, strict=True))
    assert len(threads._POOL.helpers) >= 2  # the helpers did run


def _fill(lo: int, hi: int, out: np.ndarray) -> None:
    out[lo:hi] = np.arange(lo, hi)


@pytest.mark.parametrize("share", [None, 0.0, 0.3, 1.0])
def test_rows_are_covered_exactly_once_whatever_the_caller_share(small_rows, share):
    threads.set_threads(3)
    out = np.full(101, -1)
    seen = np.zeros(101, dtype=int)

    def kernel(lo: int, hi: int) -> None:
        _fill(lo, hi, out)
        seen[lo:hi] += 1  # ranges are disjoint: no two threads write one entry

    job = threads.start_rows(kernel, 101, caller_share=share)
    job.finish()
    job.finish()  # a second finish does nothing
    assert out.tolist() == list(range(101))
    assert (seen == 1).all()


def test_a_helper_error_reaches_the_caller_and_frees_the_helpers(small_rows):
    threads.set_threads(2)

    def kernel(lo: int, hi: int) -> None:
        if lo == 0:
            raise IndexError("row 0 is bad")

    with pytest.raises(IndexError, match="row 0 is bad"):
        threads.split_rows(kernel, 10)
    out = np.zeros(10)
    threads.split_rows(_fill, 10, out)  # the pool is usable again
    assert out.tolist() == list(range(10))


def test_two_python_threads_can_split_at_once(small_rows):
    threads.set_threads(2)
    results: dict[int, list[float]] = {}

    def worker(k: int) -> None:
        for _ in range(200):
            out = np.zeros(64)
            threads.split_rows(_fill, 64, out)
            if out.tolist() != list(range(64)):
                results[k] = out.tolist()
                return
        results[k] = []

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert results == {0: [], 1: [], 2: []}


def _child_rows(_: int) -> list[int]:
    threads.MIN_ROWS_PER_THREAD = 2
    out = np.zeros(16)
    threads.split_rows(_fill, 16, out)
    return out.astype(int).tolist()


def test_a_forked_child_starts_its_own_helpers(small_rows):
    threads.set_threads(2)
    out = np.zeros(16)
    threads.split_rows(_fill, 16, out)  # the parent's helpers exist now
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.map_async(_child_rows, [0]).get(timeout=60)
    assert got == [list(range(16))]


def test_bad_thread_counts_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="threads"):
        warehouse.set_threads(0)
    monkeypatch.setenv("WAREHOUSE_THREADS", "two")
    with pytest.raises(InputError, match="WAREHOUSE_THREADS"):
        threads._threads_from_env()
    monkeypatch.setenv("WAREHOUSE_THREADS", "0")
    with pytest.raises(InputError, match="WAREHOUSE_THREADS"):
        threads._threads_from_env()
    monkeypatch.setenv("WAREHOUSE_THREADS", "2")
    assert threads._threads_from_env() == 2


def test_a_bad_warehouse_threads_is_a_one_line_cli_error(monkeypatch, capsys):
    from warehouse.cli.main import main

    monkeypatch.setenv("WAREHOUSE_THREADS", "two")
    monkeypatch.setattr(threads._POOL, "_threads", None)  # read the variable afresh
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--robots", "5", "--steps", "1"])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err == "error: WAREHOUSE_THREADS: expected a positive integer, got 'two'\n"
