"""Opt-in mirror augmentation of offline navigator training (agents/train.py, ``augment``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_algorithm, read_checkpoint
from agents.dataset import CollectConfig, collect, load_dataset
from agents.lane_view import MIRROR, LaneView
from agents.train import Sampler, TrainConfig, train
from warehouse.cli.main import main
from warehouse.config import ObservationConfig
from warehouse.errors import InputError

LAYOUT = ObservationConfig(radius=3, intent=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("aug") / "ds"
    cfg = CollectConfig(targets=("tiny",), episodes=1, steps=30, epsilon=0.3, observation=LAYOUT)
    collect(cfg, out)
    return out


def _cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as ex:
        main(args)
    return 0 if ex.value.code is None else int(ex.value.code)


def test_a_mirrored_batch_is_the_mirror_of_the_batch(data: Path) -> None:
    d = load_dataset(data)
    n = len(d)
    sampler = Sampler(d, 512, 7, torch.device("cpu"), augment="mirror")
    drawn = np.random.default_rng(7).integers(0, 2 * n, size=512)  # the sampler's own draws
    idx, flip = drawn % n, np.flatnonzero(drawn >= n)
    assert 0 < flip.size < 512
    got = sampler.arrays()
    view = LaneView(LAYOUT)
    obs, mask = view.mirror(d.obs[idx], d.mask[idx], flip)
    next_obs, next_mask = view.mirror(d.next_obs[idx], d.next_mask[idx], flip)
    action = d.action[idx].copy()
    action[flip] = MIRROR[action[flip]]
    want = {"obs": obs, "mask": mask, "next_obs": next_obs, "next_mask": next_mask,
            "action": action, "reward": d.reward[idx], "terminated": d.terminated[idx]}  # fmt: skip
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
        assert got[key].dtype == value.dtype
    keep = np.setdiff1d(np.arange(512), flip)
    np.testing.assert_array_equal(got["obs"][keep], d.obs[idx[keep]])
    # the mirror is not the identity here: moves N<->W and E<->S, windows transposed
    moved = flip[np.isin(d.action[idx[flip]], (1, 2, 3, 4))]
    assert moved.size and (got["action"][moved] != d.action[idx[moved]]).all()
    assert (got["obs"][flip] != d.obs[idx[flip]]).any(axis=1).mean() > 0.5
    # the logged action stays allowed by its (mirrored) mask
    assert got["mask"][np.arange(512), got["action"]].all()


def test_the_default_sampler_draws_plain_rows(data: Path) -> None:
    d = load_dataset(data)
    got = Sampler(d, 64, 3, torch.device("cpu")).arrays()
    idx = np.random.default_rng(3).integers(0, len(d), size=64)
    for key in ("obs", "action", "next_obs", "mask", "next_mask", "reward"):
        np.testing.assert_array_equal(got[key], getattr(d, key)[idx], err_msg=key)
    with pytest.raises(InputError, match="augment"):
        Sampler(d, 64, 3, torch.device("cpu"), augment="rotate")


def test_an_augmented_run_records_it_and_resumes_exactly(data: Path, tmp_path: Path) -> None:
    base = TrainConfig(algo="cql", data=data, out=tmp_path / "full", steps=6, batch_size=32,
                       ckpt_every=3, augment="mirror")  # fmt: skip
    train(base, show_progress=False)
    part = replace(base, out=tmp_path / "part", steps=3)
    train(part, show_progress=False)
    with pytest.raises(InputError, match="augment"):  # the run's augmentation is kept
        train(replace(part, steps=6, resume=True, augment="none"), show_progress=False)
    train(replace(part, steps=6, resume=True), show_progress=False)
    last = Path("checkpoints") / "step_00000006"
    a = load_algorithm(tmp_path / "full" / last)[0].net.state_dict()
    b = load_algorithm(tmp_path / "part" / last)[0].net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_checkpoint(tmp_path / "full" / "model")[0]["extra"]["train"]["augment"] == "mirror"
    plain = replace(base, out=tmp_path / "plain", augment="none")
    train(plain, show_progress=False)
    assert "augment" not in read_checkpoint(tmp_path / "plain" / "model")[0]["extra"]["train"]
    c = load_algorithm(tmp_path / "plain" / last)[0].net.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the augmentation reaches the updates


def test_cli_augment_option(data: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    base = ["train-navigator", "--algo", "cql", "--data", str(data), "--out", str(run),
            "--batch-size", "16", "--ckpt-every", "2", "--device", "cpu",
            "--no-progress"]  # fmt: skip
    assert _cli([*base, "--steps", "2", "--augment", "rotate"]) == 2
    assert "--augment" in capsys.readouterr().err and not run.exists()
    assert _cli([*base, "--steps", "2", "--augment", "mirror"]) == 0
    assert _cli([*base, "--steps", "4", "--resume"]) == 0  # keeps mirror
    meta = read_checkpoint(run / "checkpoints" / "step_00000004")[0]
    assert meta["extra"]["train"]["augment"] == "mirror"
    capsys.readouterr()
    assert _cli([*base, "--steps", "6", "--resume", "--augment", "none"]) == 2
    assert "augment" in capsys.readouterr().err
    ppo = ["train-navigator", "--algo", "ppo", "--steps", "1", "--out", str(tmp_path / "p")]
    assert _cli([*ppo, "--augment", "mirror"]) == 2
