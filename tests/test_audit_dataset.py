"""Audit of offline datasets, ``warehouse collect`` and ``warehouse bench``: each test is a bug
that was found (it failed before its fix)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, run_cli
from dataset_helpers import collect_tiny, copy_dataset

from agents.dataset import MANIFEST, CollectConfig, collect, file_sha256, load_datasets
from warehouse.errors import InputError


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return collect_tiny(tmp_path_factory.mktemp("data") / "ds")


def _edit(folder: Path, **changes: object) -> None:
    man = json.loads((folder / MANIFEST).read_text())
    man.update(changes)
    (folder / MANIFEST).write_text(json.dumps(man))


def _refused(folder: Path, file: str, field: str | None) -> str:
    with pytest.raises(InputError) as info:
        load_datasets([folder])
    text = str(info.value)
    assert file in text and (field is None or f": {field}:" in text), text
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("layout", "field"),
    [
        ("x", "observation"),
        ({"radius": "abc", "intent": False}, "observation.radius"),
        ({"radius": 1000, "intent": False}, "observation.radius"),
        ({"radius": 3, "intent": "yes"}, "observation.intent"),
    ],
)
def test_a_broken_observation_layout_is_refused_by_the_loader(dataset, tmp_path, layout, field):
    # (training built its network from it: AttributeError / ValueError / ValidationError)
    folder = copy_dataset(dataset, tmp_path / "d")
    _edit(folder, observation=layout)
    _refused(folder, MANIFEST, field)


def test_a_shard_listed_twice_is_refused(dataset, tmp_path):
    folder = copy_dataset(dataset, tmp_path / "d")
    man = json.loads((folder / MANIFEST).read_text())
    first = man["shards"][0]
    _edit(folder, shards=[*man["shards"], first], n_transitions=man["n_transitions"] + first["n"])
    _refused(folder, MANIFEST, f"shards.{len(man['shards'])}.file")


@pytest.mark.parametrize("content", [b"not a zip", b"npy"])
def test_a_shard_that_is_not_an_npz_archive_is_refused(dataset, tmp_path, content):
    folder = copy_dataset(dataset, tmp_path / "d")
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    if content == b"npy":
        with path.open("wb") as fh:  # a bare .npy array, not an archive
            np.save(fh, np.zeros(3))
    else:
        path.write_bytes(content)  # numpy takes it for a pickle: ValueError
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))
    _refused(folder, man["shards"][0]["file"], None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scenarios": [{"a": 1}]}, "scenarios"),  # a union crashed hashing it
        ({"seeds": ["x"]}, "seeds"),
        ({"epsilon": 7}, "epsilon"),
    ],
)
def test_manifest_entries_of_the_wrong_kind_are_refused(dataset, tmp_path, changes, field):
    folder = copy_dataset(dataset, tmp_path / "d")
    _edit(folder, **changes)
    _refused(folder, MANIFEST, field)


def test_a_manifest_epsilon_of_nan_is_refused(dataset, tmp_path):
    folder = copy_dataset(dataset, tmp_path / "d")
    text = (folder / MANIFEST).read_text()
    (folder / MANIFEST).write_text(text.replace('"epsilon": 0.1', '"epsilon": NaN'))
    _refused(folder, MANIFEST, "epsilon")


def test_an_older_dataset_without_observation_joins_a_union(dataset, tmp_path):
    old = copy_dataset(dataset, tmp_path / "old")
    man = json.loads((old / MANIFEST).read_text())
    del man["observation"]  # datasets written before the intent channels
    (old / MANIFEST).write_text(json.dumps(man))
    data = load_datasets([old, dataset])
    assert len(data) == 2 * man["n_transitions"]


def test_collect_refuses_a_dangling_link_before_collecting(tmp_path):
    out = tmp_path / "link"
    out.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="is a link"):
        collect(CollectConfig(targets=("tiny",), steps=2), out)
    assert out.is_symlink() and not any(p.name.startswith(".link") for p in tmp_path.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_collect_into_an_unwritable_folder_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot create"):
            collect(CollectConfig(targets=("tiny",), steps=2), locked / "ds")
    finally:
        locked.chmod(0o700)


def test_collect_into_a_folder_that_cannot_exist_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(["collect", "tiny", "--steps", "2", "--out", "/proc/no_ds"], capsys)
    assert code == 2 and "cannot create" in err and "Traceback" not in err, err


def test_collect_with_a_network_behaviour_logs_its_layout(tmp_path):
    pytest.importorskip("torch")
    man = collect(CollectConfig(targets=("tiny",), steps=2, behavior="cql"), tmp_path / "ds")
    assert man["observation"] == {"radius": 3, "intent": True}
    assert len(load_datasets([tmp_path / "ds"])) == man["n_transitions"]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def test_collect_records_the_collision_mode_a_set_gave(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["collect", "tiny", "--steps", "2", "--set", "physics.collisions=pibt"]
    code, _, err = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    assert _manifest(out)["collisions"] == "pibt"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--collisions", "pibt", "--set", "collisions=block"], "--set collisions: --collisions"),
        (["--set", "episode.seeds=[5,6]"], "--set episode.seeds: collect takes its seeds"),
        (["--set", "seeds=[5,6]"], "--set seeds: collect takes its seeds"),
        (["--no-intent", "--set", "observation.intent=true"], "--set observation.intent:"),
    ],
)
def test_collect_refuses_a_set_it_would_drop(tmp_path, capsys, argv, expected):
    out = tmp_path / "ds"
    code, _, err = run_cli(["collect", "tiny", "--steps", "2", *argv, "--out", str(out)], capsys)
    assert code == 2 and err.startswith(f"error: {expected}"), err
    assert not out.exists()


def test_intent_keeps_the_scenarios_radius(tmp_path, capsys):
    scenario = tmp_path / "r2.yaml"
    scenario.write_text(TINY.read_text() + "\nobservation:\n  radius: 2\n")
    for name, argv, radius in [
        ("a", [str(scenario), "--intent"], 2),
        ("b", ["tiny", "--intent", "--set", "radius=2"], 2),  # the shortcut counts too
    ]:
        out = tmp_path / name
        code, _, err = run_cli(["collect", *argv, "--steps", "2", "--out", str(out)], capsys)
        assert code == 0, err
        assert _manifest(out)["observation"] == {"radius": radius, "intent": True}


def test_bench_never_replaces_an_out_file_that_appeared_meanwhile(tmp_path, capsys, monkeypatch):
    import warehouse.bench

    out = tmp_path / "b.json"
    real = warehouse.bench.run_bench

    def slow(*args, **kwargs):  # another process writes the file while the benchmark runs
        out.write_text("theirs")
        return real(*args, **kwargs)

    monkeypatch.setattr(warehouse.bench, "run_bench", slow)
    argv = ["bench", "--robots", "10", "--api", "array", "--steps", "2", "--out", str(out)]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "already exists" in err, err
    assert out.read_text() == "theirs"


def _rezip(folder: Path, key: str, member: str, data: bytes) -> str:
    """Shard 0 with ``key`` replaced by the archive member ``member`` holding ``data``."""
    import io
    import zipfile

    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:  # (shards are np.savez: stored)
        for k, v in arrays.items():
            if k == key:
                zf.writestr(member, data)
            else:
                buf = io.BytesIO()
                np.save(buf, v)
                zf.writestr(f"{k}.npy", buf.getvalue())
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))
    return str(man["shards"][0]["file"])


def test_an_archive_member_that_is_not_an_array_is_refused(dataset, tmp_path):
    # (numpy hands back the member's bytes: AttributeError on .dtype)
    folder = copy_dataset(dataset, tmp_path / "d")
    name = _rezip(folder, "reward", "reward", b"just some bytes")
    _refused(folder, name, "reward")


def test_a_shard_declaring_a_huge_array_is_refused_unread(dataset, tmp_path):
    # a deflated member whose header claims 2**40 rows: refused by its header, not allocated
    import io

    folder = copy_dataset(dataset, tmp_path / "d")
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|i1", "fortran_order": False, "shape": (2**40,)}
    )
    buf.write(b"\0" * 1024)
    name = _rezip(folder, "action", "action.npy", buf.getvalue())
    assert "shape (1099511627776,)" in _refused(folder, name, "action")


def test_a_manifest_too_large_for_memory_is_one_line(dataset, tmp_path):
    folder = copy_dataset(dataset, tmp_path / "d")
    man = json.loads((folder / MANIFEST).read_text())
    man["shards"][0]["n"] = 10**13
    _edit(folder, shards=man["shards"], n_transitions=sum(s["n"] for s in man["shards"]))
    _refused(folder, MANIFEST, "n_transitions")


@pytest.mark.parametrize("argv", [["--frames", "0"], ["--steps", "-3"]])
def test_visualize_bench_refuses_a_count_below_one(argv, capsys):
    # (--frames 0 ran the 1,000-robot warmup, then divided by zero)
    from visualize.bench import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_a_terminated_collect_leaves_nothing_behind(tmp_path):
    # (SIGTERM killed the process outright: a hidden staging folder of shards stayed)
    import signal
    import subprocess
    import sys
    import time

    code = "from warehouse.cli.main import main; main()"
    argv = ["collect", "small", "--steps", "100000", "--shard-size", "500"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv, "--out", str(tmp_path / "ds")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".ds.*/shard_00000.npz")) and time.monotonic() < deadline:
            time.sleep(0.05)
        # the case named: a staged shard exists when the signal comes (a guard, not a timing)
        assert list(tmp_path.glob(".ds.*/shard_00000.npz")), "collect never staged a shard"
        assert proc.poll() is None, "collect ended before the signal"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert list(tmp_path.iterdir()) == []


def test_a_shard_size_above_the_dataset_allocates_only_the_dataset(tmp_path):
    # (the writer preallocated --shard-size rows: 10**11 was a MemoryError traceback)
    man = collect(CollectConfig(targets=("tiny",), steps=2, shard_size=10**11), tmp_path / "ds")
    assert man["n_transitions"] == 12 and len(man["shards"]) == 1


def test_a_shard_too_large_for_memory_is_one_line(tmp_path):
    cfg = CollectConfig(targets=("tiny",), steps=10**11, shard_size=10**11)
    with pytest.raises(InputError, match="--shard-size: a shard of"):
        collect(cfg, tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []


def test_observations_outside_their_range_are_refused(dataset, tmp_path):
    # (finite but absurd values, e.g. 60000, were trained on)
    folder = copy_dataset(dataset, tmp_path / "d")
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["next_obs"][0, 0] = 60000
    np.savez(path, **arrays)
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))
    _refused(folder, man["shards"][0]["file"], "next_obs")
