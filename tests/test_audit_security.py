"""Audit of untrusted input: files that point at devices, FIFOs or huge data, alias bombs and
deep nesting, archive members whose headers lie, symlinks in output folders and GraphML
declarations. Each is refused with a one-line error (or ignored where the input is optional)
instead of a hang, a memory blow-up, a traceback or a write through a link."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli

from warehouse.errors import InputError

#: address space a test that feeds the readers endless or oversized input may add to what the
#: process maps already: a regression fails with MemoryError instead of exhausting the machine
_CAP = 3 * 2**30


@contextlib.contextmanager
def capped_memory() -> Iterator[None]:
    """Cap this process's address space for the block; a MemoryError in it fails the test once
    the cap is lifted again (pytest could not report it under the cap). torch is imported
    first (its libraries map a lot of address space)."""
    import torch  # noqa: F401

    status = Path("/proc/self/status").read_text(encoding="utf-8")
    used = next(int(line.split()[1]) * 1024 for line in status.splitlines() if "VmSize" in line)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + _CAP if hard == resource.RLIM_INFINITY else min(used + _CAP, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    failed = False
    try:
        yield
    except MemoryError:
        failed = True
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if failed:
        pytest.fail("MemoryError: the input was read or expanded without a bound")


@contextlib.contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A FIFO at ``path``; while the block runs, any reader that opens it is sent end-of-file
    at once, so a regression that reads it fails instead of blocking the test forever."""
    os.mkfifo(path)
    stop = threading.Event()

    def unblock() -> None:
        while not stop.wait(0.05):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader yet
                pass

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()


def _report(policy: str = "greedy", value: float = 1.0) -> dict:
    """The fields of a ``report.json`` that ``warehouse compare`` reads."""
    kpis = {"throughput_per_hour": {"mean": value, "per_seed": [value, value]}}
    return {
        "scenario": "t",
        "seeds": [0, 1],
        "steps": 5,
        "runs": [{"policy": policy, "kpis": kpis}],
    }


def _run_folder(root: Path, name: str, scenario_yaml: str | None, value: float = 1.0) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(_report(value=value)), encoding="utf-8")
    if scenario_yaml is not None:
        (folder / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    return folder


# ------------------------------------------------------------------ compare: scenario.yaml
def _alias_bomb() -> str:
    """Nine levels of ten-key mappings, each made of aliases of the one below (10**9 leaves)."""
    lines = ["a0: &a0 {" + ", ".join(f"k{j}: x" for j in range(10)) + "}"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(10)) + "}")
    return "\n".join(lines) + "\nname: t\n"


def _compare_two_runs_of(tmp_path, text: str, capsys) -> str:
    """``warehouse compare`` of two run folders whose ``scenario.yaml`` is ``text``, under a
    memory cap: it succeeds without a traceback; returns what it printed."""
    base = _run_folder(tmp_path, "a", text)
    other = _run_folder(tmp_path, "b", text, value=2.0)
    with capped_memory():
        code, out, err = run_cli(["compare", str(base), str(other)], capsys)
    assert code == 0, err
    assert "Traceback" not in out + err
    return out


@pytest.mark.parametrize(
    "text",
    [_alias_bomb(), "[" * 5000 + "]" * 5000 + "\n"],
    ids=["alias-bomb", "deep-nesting"],
)
def test_compare_ignores_hostile_scenario_yaml(tmp_path, capsys, text):
    """The ``scenario.yaml`` beside each report is read with the bounded YAML reader: an alias
    bomb or deep nesting leaves the settings out of the comparison instead of flattening a
    billion keys or raising RecursionError."""
    out = _compare_two_runs_of(tmp_path, text, capsys)
    assert "per-seed differences" in out


def test_compare_does_not_read_a_device_named_as_map(tmp_path, capsys):
    """Two scenario.yaml files naming the same ``layout.path`` have their map copies compared;
    a path naming ``/dev/zero`` is not read (it never ends)."""
    _compare_two_runs_of(tmp_path, "name: t\nlayout: {type: file, path: /dev/zero}\n", capsys)


def test_compare_still_names_a_map_that_differs(tmp_path, capsys):
    """The bounded reading keeps the comparison of two map copies of one name."""
    text = "name: t\nlayout: {type: file, path: floor.map}\n"
    base = _run_folder(tmp_path, "a", text)
    other = _run_folder(tmp_path, "b", text, value=2.0)
    (base / "floor.map").write_text("....\n", encoding="utf-8")
    (other / "floor.map").write_text("..@.\n", encoding="utf-8")
    from warehouse.compare import compare_reports

    assert compare_reports(base, other)["differ"]["layout.path"] == ["(differs)", "(differs)"]


# ------------------------------------------------------------------ JSON readers
def test_report_json_that_is_a_fifo_is_refused(tmp_path, capsys):
    """A FIFO named report.json would block the reader forever (no writer)."""
    run = tmp_path / "a"
    run.mkdir()
    with fifo(run / "report.json"):
        line = fails_cleanly(
            ["compare", str(run), str(run)], tmp_path, capsys, f"{run / 'report.json'}"
        )
    assert "not a regular file" in line


def test_report_json_linked_to_dev_zero_is_refused(tmp_path, capsys):
    run = tmp_path / "a"
    run.mkdir()
    (run / "report.json").symlink_to("/dev/zero")
    with capped_memory():
        line = fails_cleanly(["compare", str(run), str(run)], tmp_path, capsys, "")
    assert "report.json" in line and "not a regular file" in line


def test_huge_json_is_refused_unread(tmp_path, monkeypatch):
    """JSON side files are bounded like YAML and map files: a file over the limit is refused
    by its size, before it is read."""
    from warehouse import jsonio

    monkeypatch.setattr(jsonio, "MAX_JSON_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"x": "y" * 200}), encoding="utf-8")
    with pytest.raises(InputError, match="larger than"):
        jsonio.read_json_object(path)


def test_deeply_nested_json_is_one_line_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    from warehouse.jsonio import read_json_object

    with pytest.raises(InputError, match="nested too deeply"):
        read_json_object(path)


def test_checkpoint_json_linked_to_dev_zero_is_refused(tmp_path):
    """A checkpoint's weights come from ``STEM.safetensors`` beside its JSON, never from a path
    in the JSON; a JSON that is a link to a device is refused by the JSON reader."""
    from agents.checkpoint import read_checkpoint

    (tmp_path / "m.json").symlink_to("/dev/zero")
    with capped_memory(), pytest.raises(InputError, match=r"not found|not a regular file"):
        read_checkpoint(tmp_path / "m")


# ------------------------------------------------------------------ recordings
def _npz_with_member(path: Path, name: str, shape: tuple[int, ...]) -> Path:
    """An archive whose ``name`` member has a ``.npy`` header claiming ``shape`` (float64) and
    64 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    buf.write(b"\0" * 64)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, buf.getvalue())
    return path


@pytest.mark.parametrize("member", ["meta_json.npy", "positions.npy"])
def test_recording_member_header_claiming_terabytes(tmp_path, capsys, member):
    """A 200-byte archive whose ``.npy`` header claims 10**12 floats: refused by comparing the
    header with the member's size, not by trying to allocate 7 TiB (MemoryError traceback)."""
    path = _npz_with_member(tmp_path / "bomb.npz", member, (10**12,))
    with capped_memory():
        line = fails_cleanly(["replay", str(path)], tmp_path, capsys, f"{path}")
    assert "bytes" in line


def test_recording_with_object_array_is_refused(tmp_path):
    from warehouse.recording import load_recording

    path = tmp_path / "obj.npz"
    np.savez(path, meta_json=np.asarray("{}"), positions=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="pickle"):
        load_recording(path)


# ------------------------------------------------------------------ output folders
def test_dangling_symlink_in_out_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """An existing ``--out`` holding a link named like an output (even one to a file that does
    not exist yet) is refused up front: nothing is written through it, and the run is not done
    first only to fail with "written there meanwhile by another run"."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "outside.json"
    (out / "report.json").symlink_to(target)
    argv = ["run", str(TINY), "--steps", "2", "--seeds", "0", "--out", str(out)]
    line = fails_cleanly(argv, tmp_path, capsys, "out: --out: already holds report.json")
    assert "earlier run" in line
    assert not target.exists()


def test_dangling_symlink_as_record_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    link = tmp_path / "run.npz"
    link.symlink_to(tmp_path / "elsewhere.npz")
    argv = ["run", str(TINY), "--steps", "2", "--seeds", "0", "--record", str(link)]
    argv += ["--out", str(tmp_path / "out")]
    fails_cleanly(argv, tmp_path, capsys, "run.npz: --record: already exists")


def test_symlinked_out_folder_writes_only_inside_its_target(tmp_path, capsys, monkeypatch):
    """``--out LINK`` to a folder writes into that folder (the user named it) and nowhere else;
    the link itself stays a link."""
    monkeypatch.chdir(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    argv = ["run", str(TINY), "--steps", "2", "--seeds", "0", "--out", str(link)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert link.is_symlink()
    assert (real / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


# ------------------------------------------------------------------ maps and scenarios
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_map_that_is_no_regular_file(tmp_path, capsys, kind):
    """A FIFO or device given as a map is refused unread (it exists: "not found" is wrong)."""
    path = tmp_path / "floor.map"
    with contextlib.ExitStack() as stack:
        if kind == "fifo":
            stack.enter_context(fifo(path))
        else:
            path.symlink_to("/dev/zero")
            stack.enter_context(capped_memory())
        line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}")
    assert "not a regular file" in line


def test_scenario_map_path_fifo_in_its_folder(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: t\nlayout: {type: file, path: floor.map}\n", encoding="utf-8")
    with fifo(tmp_path / "floor.map"):
        line = fails_cleanly(
            ["validate", str(scenario)], tmp_path, capsys, f"{scenario}: layout.path"
        )
    assert "not a regular file" in line


@pytest.mark.parametrize("path", ["/dev/zero", "../outside.map", "link.map"])
def test_scenario_map_path_outside_its_folder(tmp_path, capsys, path):
    (tmp_path / "outside.map").write_text("....\n", encoding="utf-8")
    folder = tmp_path / "sc"
    folder.mkdir()
    (folder / "link.map").symlink_to("/dev/urandom")
    scenario = folder / "s.yaml"
    scenario.write_text(f"name: t\nlayout: {{type: file, path: {path}}}\n", encoding="utf-8")
    line = fails_cleanly(["validate", str(scenario)], tmp_path, capsys, f"{scenario}: layout.path")
    assert "escapes the scenario's folder" in line


def test_scenario_alias_bomb_is_refused(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(_alias_bomb(), encoding="utf-8")
    with capped_memory():
        line = fails_cleanly(["validate", str(scenario)], tmp_path, capsys, f"{scenario}")
    assert "alias bomb" in line


def test_graphml_doctype_after_a_long_comment_is_refused(tmp_path, capsys):
    """The module documents that GraphML files may not declare a DOCTYPE: one placed after
    4 KiB of comment is refused too."""
    path = tmp_path / "floor.graphml"
    path.write_text(
        '<?xml version="1.0"?><!--' + "x" * 5000 + '--><!DOCTYPE g SYSTEM "file:///etc/passwd">'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
        '<node id="a"/></graph></graphml>',
        encoding="utf-8",
    )
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}")
    assert "DOCTYPE" in line


def test_graphml_external_entity_is_refused(tmp_path, capsys):
    path = tmp_path / "floor.graphml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
        '<node id="&x;"/></graph></graphml>',
        encoding="utf-8",
    )
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}")
    assert "entities" in line


# ------------------------------------------------------------------ source tree
_ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("warehouse", "agents", "hierarchy", "scenarios", "visualize")


def test_no_unsafe_deserialization_in_the_source():
    """No pickle, marshal, shelve, eval/exec, yaml.load, torch.load, shell=True or archive
    extraction in the packages; every np.load passes allow_pickle=False."""
    import re

    banned = re.compile(
        r"\bimport (pickle|marshal|shelve|dill|cloudpickle)\b|\bfrom (pickle|marshal|shelve) "
        r"|(?<![\w.])(eval|exec)\(|yaml\.(load|unsafe_load|full_load)\(|torch\.load\("
        r"|shell=True|\.extractall\(|\.extract\(|os\.system\("
    )
    found = []
    for package in _PACKAGES:
        for path in (_ROOT / package).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if banned.search(code):
                    found.append(f"{path.relative_to(_ROOT)}:{n}: {line.strip()}")
                if "np.load(" in code and "allow_pickle=False" not in code:
                    found.append(f"{path.relative_to(_ROOT)}:{n}: {line.strip()}")
    assert found == []
