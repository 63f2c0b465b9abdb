"""Audit of the output files of ``warehouse shadow``, ``warehouse compare`` and the viewer's
captures: files written whole or not at all, the names the user gave, and the provenance of the
weights a shadow run compared."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest
from cli_helpers import run_cli

from warehouse.atomic import sha256_file

ROOT = Path(__file__).resolve().parents[1]


# -- warehouse compare ---------------------------------------------------------------------------


def _tiny_run(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    argv = ["run", "tiny", "--policy", "rule_based", "--seeds", "0,1", "--steps", "30"]
    code, _, err = run_cli([*argv, "--out", str(out), *extra], capsys)
    assert code == 0, err


def test_compare_names_the_run_folders_the_user_gave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warehouse compare A B`` titles its table ``B − A`` (and its JSON says ``A`` and
    ``B``), not the ``report.json`` files it read inside them."""
    monkeypatch.chdir(tmp_path)
    _tiny_run(tmp_path / "A", capsys)
    _tiny_run(tmp_path / "B", capsys, "--robots", "3")
    code, out, err = run_cli(["compare", "A", "B"], capsys)
    assert code == 0, err
    assert "B − A, paired" in out and "report.json" not in out
    code, out, err = run_cli(["compare", "A", "B", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert (result["base"], result["other"]) == ("A", "B")
    # a report.json given as such is named as given
    code, out, err = run_cli(["compare", "A/report.json", "B", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["base"] == str(Path("A") / "report.json")


# -- warehouse shadow ----------------------------------------------------------------------------


def test_shadow_json_records_the_weights_each_side_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A candidate given a trained dispatcher checkpoint, an incumbent running the shipped CQL
    network: ``shadow.json`` names both files with the sha256 of their weights, and a side
    without networks names none."""
    trained = tmp_path / "trained"
    trained.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(
            ROOT / "hierarchy" / "weights" / f"ppo_dispatcher{suffix}", trained / f"policy{suffix}"
        )
    out = tmp_path / "shadow"
    argv = ["shadow", "tiny", "--steps", "15", "--out", str(out)]
    argv += ["--candidate", "ppo+rule_based", "--incumbent", "greedy+cql"]
    argv += ["--candidate-set", f"policies.dispatcher_checkpoint={trained / 'policy.json'}"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    summary = json.loads((out / "shadow.json").read_text(encoding="utf-8"))
    cand, inc = summary["candidate"]["weights"], summary["incumbent"]["weights"]
    assert list(cand) == ["dispatcher"]
    assert cand["dispatcher"]["sha256"] == sha256_file(trained / "policy.safetensors")
    assert Path(cand["dispatcher"]["file"]).resolve() == (trained / "policy.json").resolve()
    assert list(inc) == ["navigator"]
    shipped = ROOT / "agents" / "weights" / "cql.safetensors"
    assert inc["navigator"]["sha256"] == sha256_file(shipped)
    assert summary["versions"]["numpy"] == np.__version__  # (as report.json)

    # rule-based parts load no weights
    out2 = tmp_path / "shadow2"
    argv = ["shadow", "tiny", "--steps", "5", "--out", str(out2)]
    argv += ["--candidate", "fifo+rule_based"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    summary = json.loads((out2 / "shadow.json").read_text(encoding="utf-8"))
    assert summary["candidate"]["weights"] == {} and summary["incumbent"]["weights"] == {}


# -- the viewer's captures -----------------------------------------------------------------------


def test_a_failed_screenshot_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A screenshot that fails half-way leaves nothing under its name (nor a temporary file);
    one that succeeds is a whole PNG."""
    pygame = pytest.importorskip("pygame")
    from visualize.viewer import live_viewer

    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(400, 300))
    real_save = pygame.image.save

    def broken(surface, file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if hasattr(file, "write"):
            file.write(b"\x89PNG half")
        else:
            Path(file).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pygame.image, "save", broken)
    with pytest.raises(OSError, match="No space left on device"):
        v.screenshot()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(pygame.image, "save", real_save)
    path = v.screenshot()
    assert path.name == "warehouse_000000.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pygame.image.load(str(path)).get_size() == (400, 300)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_running_capture_is_not_under_its_final_name(tmp_path: Path) -> None:
    """While a capture runs, and after one fails, nothing is under the announced name; a
    stopped capture is there whole."""
    pytest.importorskip("pygame")
    imageio = pytest.importorskip("imageio")
    from visualize.viewer import live_viewer

    v = live_viewer("tiny", seed=0, headless=True, out_dir=tmp_path, size=(320, 240))
    v.handle_key("v")
    name = v._capture_path
    assert name is not None
    v.draw()
    v.source.advance()
    v.draw()
    assert not name.exists()  # half-written: not under the final name
    path = v.toggle_capture()
    assert path == name and len(imageio.mimread(path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [name.name]

    # a frame that cannot be written ends the capture: no file, no temporary left behind
    v.handle_key("v")
    second = v._capture_path
    assert second is not None and second != name

    def broken(frame: object) -> None:
        raise OSError(28, "No space left on device")

    v._capture.append_data = broken
    v.source.advance()
    with pytest.raises(OSError, match="No space left on device"):
        v.draw()
    assert v._capture is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [name.name]


def test_a_figure_is_closed_even_when_saving_it_fails(tmp_path: Path) -> None:
    """``save_figure_atomic`` (every plot of run, compare and shadow): pyplot keeps each open
    figure, so one whose save failed stayed open for the rest of the process; now it is closed
    either way, and nothing is left under the name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from warehouse.atomic import save_figure_atomic

    plt.close("all")
    fig, _ = plt.subplots()
    save_figure_atomic(fig, tmp_path / "ok.png")
    assert (tmp_path / "ok.png").stat().st_size > 0 and plt.get_fignums() == []
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="'no-such-format' is not supported"):
        save_figure_atomic(fig, tmp_path / "bad.png", format="no-such-format")
    assert plt.get_fignums() == [] and not (tmp_path / "bad.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.png"]
