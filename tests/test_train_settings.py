"""``warehouse train-dispatcher --set``: reward weights and hyperparameters without a flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hierarchy.settings import FLAGGED, apply_settings, settable_keys
from hierarchy.smdp import RewardWeights
from hierarchy.train import TrainConfig
from warehouse.cli.main import main
from warehouse.errors import InputError

SMALL = ["--steps", "80", "--envs", "1", "--horizon", "40", "--imitation", "1", "--hidden", "8",
         "--eval-every", "0", "--no-tensorboard", "--no-progress"]  # fmt: skip


def test_every_flagged_key_exists_and_every_other_field_is_settable() -> None:
    keys = settable_keys(TrainConfig)
    assert set(FLAGGED) <= set(keys)
    for name in RewardWeights().to_dict():
        assert f"weights.{name}" in keys and f"weights.{name}" not in FLAGGED
    assert {"ppo.clip_eps", "ppo.gae_lambda", "ppo.ent_coef", "randomize.arrival"} <= set(keys)


def test_apply_settings_replaces_nested_fields_with_checked_types() -> None:
    cfg = apply_settings(
        TrainConfig(),
        {"weights.delay": 0.004, "ppo.clip_eps": 0.1, "randomize.arrival": [0.5, 2],
         "ppo.target_kl": None, "imitation_min_updates": 10},
    )  # fmt: skip
    assert cfg.weights.delay == 0.004 and cfg.weights.delivery == 1.0
    assert cfg.ppo.clip_eps == 0.1 and cfg.ppo.target_kl is None
    assert cfg.randomize.arrival == (0.5, 2.0) and cfg.imitation_min_updates == 10


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seed", 3, "use --seed instead"),
        ("weights.speed", 1.0, "unknown setting"),
        ("weights.delay", -0.1, "≥ 0"),
        ("ppo.clip_eps", 1.5, "clip_eps out of range"),
        ("ppo.epochs", 2.5, "valid integer"),
        ("randomize.robots", [1.4, 0.6], "lo ≤ hi"),
        ("features.candidates", 0, "candidates must be ≥ 1"),
        ("reward_scale", 0, "reward_scale must be > 0"),
    ],
)
def test_bad_settings_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(InputError) as exc:
        apply_settings(TrainConfig(), {key: value})
    assert exc.value.field == f"--set {key}" and message in exc.value.message


def test_cli_set_is_saved_checked_and_kept_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train-dispatcher", "tiny", *SMALL, "--out", str(run),
              "--set", "weights.energy=0", "--set", "ppo.clip_eps=0.1"])  # fmt: skip
    assert exc.value.code in (0, None)
    saved = json.loads((run / "config.json").read_text())
    assert saved["weights"]["energy"] == 0 and saved["ppo"]["clip_eps"] == 0.1
    capsys.readouterr()
    # Resuming with another value is refused; the same value (or none) continues.
    for sets, code in ((["--set", "ppo.clip_eps=0.2"], 2), (["--set", "ppo.clip_eps=0.1"], 0)):
        args = ["train-dispatcher", "tiny", *SMALL, "--out", str(run), "--resume", *sets]
        args[args.index("80")] = "120"
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert (exc.value.code or 0) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --set ppo.clip_eps: differs from the run in --out"]
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 3 and state["config"]["weights"]["energy"] == 0


def test_cli_bad_set_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train-dispatcher", "tiny", *SMALL, "--out", str(run), "--set", "weights.delay=x"])
    assert exc.value.code == 2 and not run.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --set weights.delay: 'x'")


def test_a_config_saved_before_a_field_existed_reads_as_it_ran() -> None:
    """Saved runs (and the shipped weights' recipe) lack ``imitation_min_updates``: they ran
    the warm start without a minimum, and resuming or checking them must too."""
    data = TrainConfig().to_dict()
    del data["imitation_min_updates"]
    assert TrainConfig.from_dict(data).imitation_min_updates == 0
    assert TrainConfig().imitation_min_updates == 600
