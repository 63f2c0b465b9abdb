"""Audit of the training commands and their checkpoints: a checkpoint or saved config that does
not fit (tensors of another shape or dtype, a damaged optimiser state, wrong-typed or unknown
config fields) is a one-line error naming the file and field, exit 2, before anything is written."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from cli_helpers import fails_cleanly, run_cli
from learner_helpers import trained_cql
from safetensors.torch import load, save

from agents.checkpoint import load_algorithm, load_network, save_checkpoint
from agents.cql import CQL
from agents.networks import Batch, NetworkConfig
from hierarchy.checkpoint import load_policy, save_policy
from hierarchy.features import FeatureConfig
from hierarchy.network import CandidateScorer, NetConfig
from hierarchy.ppo import PPOConfig
from hierarchy.train import RandomizeConfig, TrainConfig
from warehouse.errors import InputError

NET = NetworkConfig(radius=2, heads=2, window_dim=8, hidden=(8,))


# ------------------------------------------------------------------------------ helpers
def _cql(updates: int = 2) -> CQL:
    return trained_cql(NET, updates)


def _edit_navigator(stem: Path, tensors: Callable[[dict], None] | None = None,
                    meta: Callable[[dict], None] | None = None) -> None:  # fmt: skip
    """Change a navigator checkpoint's tensors and/or JSON, keeping its hash consistent (a
    deliberate edit, not damage the hash would catch)."""
    w, j = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    found, data = load(w.read_bytes()), json.loads(j.read_text())
    if tensors is not None:
        tensors(found)
    if meta is not None:
        meta(data)
    blob = save(found)
    w.write_bytes(blob)
    data["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    j.write_text(json.dumps(data))


def _first(tensors: dict, prefix: str) -> str:
    return sorted(k for k in tensors if k.startswith(prefix))[0]


# ------------------------------------------------------------------ navigator checkpoints
def _set(tensors: dict, key: str, value: torch.Tensor) -> None:
    tensors[key] = value


NAVIGATOR_EDITS: list[tuple[str, Callable[[dict], None] | None, Any, str]] = [
    ("model dtype", lambda t: _set(t, _first(t, "model."), t[_first(t, "model.")].double()),
     None, r"model\.\S+: dtype torch\.float64, expected torch\.float32"),
    ("optim shape", lambda t: _set(t, _first(t, "optim."), torch.zeros(2, 2)), None,
     r"optim\.0\.exp_avg: shape \(2, 2\), expected"),
    ("optim dtype", lambda t: _set(t, _first(t, "optim."), t[_first(t, "optim.")].double()),
     None, r"optim\.0\.exp_avg: dtype torch\.float64"),
    ("optim missing", lambda t: t.pop("optim.0.exp_avg"), None, r"optim\.0\.exp_avg: missing"),
    ("optim stray", lambda t: _set(t, "optim.x", torch.zeros(1)), None,
     r"optim\.x: unexpected tensor"),
    ("optim param", lambda t: _set(t, "optim.99.exp_avg", torch.zeros(1)), None,
     r"optim\.99\.exp_avg: unexpected tensor"),
    ("group lr", None, lambda m: m["optimizer"]["param_groups"][0].update(lr="abc"),
     r"\.json: optimizer\.param_groups\.0\.lr: 'abc'"),
    ("groups", None, lambda m: m["optimizer"].update(param_groups="abc"),
     r"\.json: optimizer\.param_groups: expected 1 group"),
    ("config lr", None, lambda m: m["config"].update(lr="abc"), r"config: .*lr: expected a number"),
    ("config clip", None, lambda m: m["config"].update(grad_clip=None), r"grad_clip"),
    ("config batch", None, lambda m: m["config"].update(batch_size=2.5), r"batch_size"),
    ("negative step", None, lambda m: m.update(step=-5), r"step: expected a count ≥ 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tensors", "meta", "match"),
    [case[1:] for case in NAVIGATOR_EDITS],
    ids=[case[0] for case in NAVIGATOR_EDITS],
)
def test_a_navigator_training_checkpoint_that_does_not_fit_is_an_input_error(
    tmp_path: Path, tensors: Any, meta: Any, match: str
) -> None:
    """Before: a mis-shaped, missing or stray optimiser tensor, or a wrong-typed learning rate,
    loaded and failed at the first update with a traceback; another dtype was cast silently (or
    named "shape (64,), expected (64,)"); a negative step trained extra updates."""
    stem = save_checkpoint(tmp_path / "ck", _cql(), step=2)
    _edit_navigator(stem, tensors, meta)
    with pytest.raises(InputError, match=match):
        load_algorithm(stem)


def test_the_checked_navigator_checkpoint_still_round_trips(tmp_path: Path) -> None:
    """The checks refuse nothing a checkpoint writes: networks, target and Adam state come back
    bit for bit, and the next update is the one the original would have made."""
    algo = _cql()
    again, _ = load_algorithm(save_checkpoint(tmp_path / "ck", algo, step=2))
    for name in ("net", "target"):
        for a, b in zip(getattr(algo, name).parameters(), getattr(again, name).parameters(),
                        strict=True):  # fmt: skip
            assert torch.equal(a, b)
    obs = torch.rand(8, NET.obs_dim)
    batch = Batch(obs=obs, action=torch.arange(8) % 5, reward=-torch.ones(8), next_obs=obs,
                  terminated=torch.zeros(8, dtype=torch.bool),
                  mask=torch.ones(8, 5, dtype=torch.bool),
                  next_mask=torch.ones(8, 5, dtype=torch.bool))  # fmt: skip
    algo.update(batch)
    again.update(batch)
    for a, b in zip(algo.net.parameters(), again.net.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_weights_file_of_another_dtype_does_not_load_as_a_navigator(tmp_path: Path) -> None:
    stem = save_checkpoint(tmp_path / "w", _cql(), step=2, training=False)
    _edit_navigator(stem, lambda t: _set(t, _first(t, "model."), t[_first(t, "model.")].half()))
    with pytest.raises(InputError, match=r"dtype torch\.float16, expected torch\.float32"):
        load_network(stem)


# ------------------------------------------------------------- fine-tuning checkpoints
def _finetune_state(tmp_path: Path) -> tuple[Path, Any, Any, Any]:
    """A fine-tuning training state of a small network, and fresh actor, critic and Adam."""
    from agents.finetune_ckpt import save_finetune
    from agents.finetune_ppo import FinetuneConfig, make_critic, make_optimizer

    cfg = FinetuneConfig(scenarios=("tiny",), updates=2)
    algo = _cql()
    critic = make_critic(algo.net)
    opt = make_optimizer(algo.net, critic, cfg)
    obs = torch.rand(4, NET.obs_dim)
    (algo.net.scores(obs).sum() + critic(obs).sum()).backward()
    opt.step()
    init = save_checkpoint(tmp_path / "init", algo, step=2, training=False)
    meta = json.loads(init.with_suffix(".json").read_text())
    info = {"config": cfg.to_json(), "init": str(init), "init_sha256": "0", "iteration": 1,
            "baseline_collisions_per_1k": 1.0, "paused": None}  # fmt: skip
    stem = save_finetune(tmp_path / "iter_000001", meta, algo.net, step=1, finetune=info,
                         critic=critic, optim=opt)  # fmt: skip
    fresh = _cql()
    fresh_critic = make_critic(fresh.net)
    return stem, fresh.net, fresh_critic, make_optimizer(fresh.net, fresh_critic, cfg)


def test_a_fine_tuning_state_with_a_mis_shaped_adam_moment_is_an_input_error(
    tmp_path: Path,
) -> None:
    from agents.finetune_ckpt import load_finetune_state

    stem, actor, critic, opt = _finetune_state(tmp_path)
    load_finetune_state(stem, actor, critic, opt)  # as written, it loads
    _edit_navigator(stem, lambda t: _set(t, "optim.3.exp_avg_sq", torch.zeros(7)))
    with pytest.raises(InputError, match=r"optim\.3\.exp_avg_sq: shape \(7,\), expected"):
        load_finetune_state(stem, actor, critic, opt)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c.update(reward_scale="x"), r"extra\.finetune\.config\.reward_scale: 'x'"),
        (lambda c: c.update(zz=1), r"extra\.finetune\.config\.zz: unknown setting"),
        (lambda c: c["ppo"].update(epochs=1.5), r"extra\.finetune\.config\.ppo\.epochs: 1\.5"),
        (lambda c: c.update(scenarios="tiny"), r"extra\.finetune\.config\.scenarios"),
    ],
)
def test_a_resumed_fine_tuning_checks_its_saved_config(
    tmp_path: Path, edit: Callable[[dict], None], match: str
) -> None:
    """Before: a wrong-typed saved setting (``reward_scale: "x"``) passed and failed in the
    first rollout with a traceback, after a TensorBoard file was written; a string of
    scenarios became one scenario per letter."""
    from agents.finetune import finetune
    from agents.finetune_ppo import FinetuneConfig

    stem, *_ = _finetune_state(tmp_path)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for ext in (".json", ".safetensors"):
        shutil.copy(stem.with_suffix(ext), run / "checkpoints" / f"iter_000001{ext}")
    _edit_navigator(run / "checkpoints" / "iter_000001",
                    meta=lambda m: edit(m["extra"]["finetune"]["config"]))  # fmt: skip
    before = sorted(p.name for p in run.rglob("*"))
    with pytest.raises(InputError, match=match):
        finetune(FinetuneConfig(scenarios=("tiny",), updates=3), run, resume=True,
                 show_progress=False)  # fmt: skip
    assert sorted(p.name for p in run.rglob("*")) == before


# ---------------------------------------------------------------- dispatcher policies
def _policy(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_policy(tmp_path / "p", CandidateScorer(NetConfig(hidden=8)), FeatureConfig(), 10)


def _edit_policy(path: Path, tensors: Callable[[dict], None] | None = None,
                 meta: Callable[[dict], None] | None = None) -> None:  # fmt: skip
    w = path.with_suffix(".safetensors")
    data = json.loads(path.read_text())
    if tensors is not None:
        found = load(w.read_bytes())
        tensors(found)
        w.write_bytes(save(found))
    if meta is not None:
        meta(data)
    data["sha256"] = hashlib.sha256(w.read_bytes()).hexdigest()
    path.write_text(json.dumps(data))


def _garble(tmp: Path) -> None:
    (tmp / "p.safetensors").write_bytes(b"\x00garbage" * 20)


POLICY_EDITS: list[tuple[str, Any, Any, str]] = [
    ("dtype", lambda t: _set(t, "score.bias", t["score.bias"].double()), None,
     r"p\.safetensors: score\.bias: dtype torch\.float64, expected torch\.float32"),
    ("shape", lambda t: _set(t, "score.bias", torch.zeros(3)), None,
     r"p\.safetensors: score\.bias: shape \(3,\), expected \(1,\)"),
    ("missing", lambda t: t.pop("score.bias"), None, r"score\.bias: missing tensor"),
    ("garbage", "garble", None, r"p\.safetensors: cannot read safetensors"),
    ("period 0", None, lambda m: m.update(period=0), r"p\.json: period: expected an integer ≥ 1"),
    ("period flag", None, lambda m: m.update(period=True), r"period: expected an integer ≥ 1"),
    ("routes", None, lambda m: m["features"].update(routes=2),
     r"p\.json: net\.n_cand: \d+, the features give \d+"),
    ("n_global", None, lambda m: m["net"].update(n_global=3), r"p\.json: net\.n_global: 3"),
    ("hidden text", None, lambda m: m["net"].update(hidden="x"), r"p\.json: net\.hidden"),
    ("features key", None, lambda m: m["features"].update(zz=1),
     r"p\.json: features\.zz: unknown setting"),
    ("features type", None, lambda m: m["features"].update(candidates="8"),
     r"p\.json: features\.candidates: '8'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tensors", "meta", "match"),
    [case[1:] for case in POLICY_EDITS],
    ids=[case[0] for case in POLICY_EDITS],
)
def test_a_dispatcher_policy_that_does_not_fit_is_an_input_error(
    tmp_path: Path, tensors: Any, meta: Any, match: str
) -> None:
    """Before: float64 weights were cast silently, a garbled safetensors file with a matching
    hash was a traceback, a period of 0 or ``true`` ran, and features whose slots the network
    was not built for crashed at the first decision."""
    path = _policy(tmp_path)
    if tensors == "garble":
        _garble(tmp_path)
        _edit_policy(path)
    else:
        _edit_policy(path, tensors, meta)
    with pytest.raises(InputError, match=match):
        load_policy(path)


def test_a_garbled_policy_is_a_one_line_error_of_warehouse_run(tmp_path: Path, capsys) -> None:
    path = _policy(tmp_path)
    _garble(tmp_path)
    _edit_policy(path)
    argv = ["run", "tiny", "--policy", "hierarchical", "--steps", "5", "--seeds", "0", "--set",
            f"policies.dispatcher_checkpoint={path}", "--out", str(tmp_path / "out")]  # fmt: skip
    fails_cleanly(argv, tmp_path, capsys, f"{path.with_suffix('.safetensors')}: cannot read")


# ---------------------------------------------------------------- dispatcher training
TINY_RUN = ["--envs", "1", "--horizon", "20", "--imitation", "0", "--hidden", "8",
            "--eval-every", "0", "--collisions", "pibt", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def dispatcher_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-iteration dispatcher run on ``tiny``."""
    run = tmp_path_factory.mktemp("disp") / "run"
    from warehouse.cli.main import main

    try:
        main(["train-dispatcher", "tiny", "--steps", "20", "--out", str(run), *TINY_RUN])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return run


def _copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def _rehash_state(run: Path) -> None:
    state_path = run / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    for name in ("model.safetensors", "optim.safetensors"):
        state["sha256"][name] = hashlib.sha256((run / "checkpoint" / name).read_bytes()).hexdigest()
    state_path.write_text(json.dumps(state))


CONFIG_EDITS: list[tuple[str, Callable[[dict], Any], str]] = [
    ("type", lambda s: s["config"].update(horizon="x"), "config.horizon: 'x': Input should be"),
    ("unknown", lambda s: s["config"].update(bogus=1), "config.bogus: unknown setting"),
    ("nested unknown", lambda s: s["config"]["ppo"].update(zz=2), "config.ppo.zz: unknown"),
    ("not an object", lambda s: s.update(config=[1, 2]), "config: expected an object, got list"),
    ("range", lambda s: s["config"]["ppo"].update(gamma=2.0), "config.ppo: gamma out of range"),
    ("flag", lambda s: s["config"].update(task_swaps=1), "config.task_swaps: 1: Input should"),
    ("group lr", lambda s: s["param_groups"][0].update(lr="x"), "param_groups.0.lr: 'x'"),
    ("iteration", lambda s: s.update(iteration="1"), "iteration: expected a count ≥ 0, got '1'"),
    ("no iteration", lambda s: s.pop("iteration"), "iteration: expected a count ≥ 0, got None"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in CONFIG_EDITS], ids=[c[0] for c in CONFIG_EDITS]
)
def test_dispatcher_resume_refuses_a_malformed_saved_state(
    dispatcher_run: Path, tmp_path: Path, capsys, edit: Callable[[dict], Any], expected: str
) -> None:
    """Before: a wrong-typed or unknown field of ``checkpoint/state.json`` was a traceback (an
    unknown top-level one was dropped silently), and a list for ``config`` trained a default
    network that then failed to load the saved weights."""
    run = _copy_run(dispatcher_run, tmp_path)
    state_path = run / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    edit(state)
    state_path.write_text(json.dumps(state))
    argv = ["train-dispatcher", "tiny", "--steps", "40", "--out", str(run), "--resume",
            "--no-progress"]  # fmt: skip
    fails_cleanly(argv, tmp_path, capsys, f"{state_path}: {expected}")


def _tensor_edit(name: str, how: str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        path = run / "checkpoint" / name
        if how == "garbage":
            path.write_bytes(b"\x00garbage" * 20)
        else:
            found = load(path.read_bytes())
            key = sorted(found)[0]
            if how == "dtype":
                found[key] = found[key].double()
            elif how == "shape":
                found[key] = torch.zeros(3, 3)
            elif how == "missing":
                del found[key]
            else:
                found["zzz"] = torch.zeros(1)
            path.write_bytes(save(found))
        _rehash_state(run)

    return apply


TENSOR_EDITS = [
    ("model.safetensors", "dtype", "encoder.0.bias: dtype torch.float64, expected torch.float32"),
    ("model.safetensors", "shape", "encoder.0.bias: shape (3, 3), expected (8,)"),
    ("model.safetensors", "missing", "encoder.0.bias: missing tensor"),
    ("model.safetensors", "stray", "zzz: unexpected tensor"),
    ("model.safetensors", "garbage", "cannot read safetensors"),
    ("optim.safetensors", "dtype", "state.0.exp_avg: dtype torch.float64"),
    ("optim.safetensors", "shape", "state.0.exp_avg: shape (3, 3), expected"),
    ("optim.safetensors", "missing", "state.0.exp_avg: missing tensor"),
    ("optim.safetensors", "stray", "zzz: unexpected tensor"),
    ("optim.safetensors", "garbage", "cannot read safetensors"),
]


@pytest.mark.parametrize(
    ("name", "how", "expected"), TENSOR_EDITS, ids=[f"{n[:5]}-{h}" for n, h, _ in TENSOR_EDITS]
)
def test_dispatcher_resume_refuses_tensors_that_do_not_fit(
    dispatcher_run: Path, tmp_path: Path, capsys, name: str, how: str, expected: str
) -> None:
    """Before: every one of these (hashes made consistent, as by a hand edit or another
    program) was a traceback at load or at the first update, and a float64 file was cast
    silently."""
    run = _copy_run(dispatcher_run, tmp_path)
    _tensor_edit(name, how)(run)
    argv = ["train-dispatcher", "tiny", "--steps", "40", "--out", str(run), "--resume",
            "--no-progress"]  # fmt: skip
    fails_cleanly(argv, tmp_path, capsys, f"{run / 'checkpoint' / name}: {expected}")


def test_dispatcher_resume_still_continues_the_run(dispatcher_run: Path, tmp_path: Path, capsys):
    """The checks refuse nothing the trainer writes: a resume reads its own state."""
    run = _copy_run(dispatcher_run, tmp_path)
    code, _, err = run_cli(["train-dispatcher", "tiny", "--steps", "40", "--out", str(run),
                              "--resume", "--no-progress"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads((run / "checkpoint" / "state.json").read_text())["iteration"] == 2


def test_a_saved_dispatcher_config_reads_back_as_it_was() -> None:
    """Every field of a non-default config survives ``to_dict`` → JSON → ``from_dict``."""
    cfg = TrainConfig(
        scenarios=("tiny", "small"), collisions="pibt", total_steps=999, n_envs=3, horizon=50,
        seed=7, hidden=16, features=FeatureConfig(candidates=5, routes=2, max_detour=1.0),
        ppo=PPOConfig(lr=1e-3, target_kl=None, epochs=2), randomize=RandomizeConfig(
            robots=(0.5, 1.0), arrival=(1.0, 1.0), breakdown_share=0.0),
        task_swaps=True, anticipate=True, eval_seeds=(3, 4),
    )  # fmt: skip
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.scenarios == ("tiny", "small") and again.ppo.target_kl is None
    assert replace(again, seed=8) != cfg


# ------------------------------------------------------------------ offline training runs
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agents.dataset import CollectConfig, collect

    out = tmp_path_factory.mktemp("nav") / "ds"
    collect(CollectConfig(targets=("tiny",), episodes=1, steps=20, epsilon=0.2), out)
    return out


def test_resuming_a_finished_run_with_fewer_steps_keeps_its_record_true(
    dataset: Path, tmp_path: Path
) -> None:
    """``--resume --steps 2`` of a run that took 4 updates trains nothing and rewrites
    ``model.json`` from step 4; before, that file then said the run was 2 updates long."""
    from agents.train import TrainConfig as NavigatorTrainConfig
    from agents.train import train

    cfg = NavigatorTrainConfig(algo="bc", data=dataset, out=tmp_path / "r", steps=4,
                               batch_size=8, ckpt_every=2)  # fmt: skip
    train(cfg, show_progress=False)
    weights = (tmp_path / "r" / "model.safetensors").read_bytes()
    res = train(replace(cfg, steps=2, resume=True), show_progress=False)
    meta = json.loads((tmp_path / "r" / "model.json").read_text())
    assert res["step"] == meta["step"] == meta["extra"]["train"]["steps"] == 4
    assert (tmp_path / "r" / "model.safetensors").read_bytes() == weights


def test_a_resumed_dispatcher_run_starts_its_progress_bar_where_it_stopped(
    dispatcher_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the bar of a run resumed at iteration 1 of 2 started at 0 and jumped to 2 at its
    first update (and its time estimate took that for two iterations' work)."""
    from rich.progress import Progress

    started: list[float] = []
    add_task = Progress.add_task

    def spy(self: Progress, description: str, *args: Any, **kw: Any) -> Any:
        started.append(kw.get("completed", 0))
        return add_task(self, description, *args, **kw)

    monkeypatch.setattr(Progress, "add_task", spy)
    run = _copy_run(dispatcher_run, tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "40", "--out", str(run), "--resume"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert started == [1] and "2/2 it" in out


@pytest.fixture(scope="module")
def navigator_runs(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished offline (bc) run and a finished one-iteration fine-tuning run."""
    from agents.finetune import finetune
    from agents.finetune_ppo import FinetuneConfig
    from agents.train import TrainConfig as NavigatorTrainConfig
    from agents.train import train

    root = tmp_path_factory.mktemp("navruns")
    offline = NavigatorTrainConfig(algo="bc", data=dataset, out=root / "bc", steps=2, batch_size=8)
    train(offline, show_progress=False)
    cfg = FinetuneConfig(scenarios=("tiny",), updates=1, rollout_steps=8)
    finetune(cfg, root / "ft", init=root / "bc" / "model.json", show_progress=False,
             log=lambda _: None)  # fmt: skip
    return {"bc": root / "bc", "ft": root / "ft"}


@pytest.mark.parametrize(
    ("run", "remove", "command"),
    [
        ("bc", "checkpoints", "offline"),  # the model of a run whose checkpoints were deleted
        ("bc", None, "ppo"),  # fine-tuning into an offline run's folder (its init, say)
        ("ft", None, "offline"),  # offline training into a fine-tuning run's folder
        ("ft", "checkpoints", "ppo"),
    ],
)
def test_a_new_navigator_run_never_replaces_an_earlier_runs_model(
    navigator_runs: dict[str, Path], dataset: Path, tmp_path: Path, capsys,
    run: str, remove: str | None, command: str,
) -> None:  # fmt: skip
    """Before: each of these wrote over the earlier run's ``model.json`` (and mixed the two
    runs' checkpoints and TensorBoard curves in one folder); fine-tuning with ``--init
    RUN/model.json --out RUN`` replaced its own init."""
    folder = tmp_path / "run"
    shutil.copytree(navigator_runs[run], folder)
    if remove:
        shutil.rmtree(folder / remove)
    argv = {
        "offline": ["train-navigator", "--algo", "bc", "--data", str(dataset), "--steps", "2",
                    "--batch-size", "8", "--device", "cpu"],
        "ppo": ["train-navigator", "--algo", "ppo", "--init", str(folder / "model.json"),
                "--steps", "1", "--rollout-steps", "8", "--scenarios", "tiny"],
    }[command]  # fmt: skip
    fails_cleanly([*argv, "--out", str(folder), "--no-progress"], tmp_path, capsys,
                  f"{folder}: --out: already holds ")  # fmt: skip


def test_a_new_dispatcher_run_never_replaces_an_earlier_runs_policy(
    dispatcher_run: Path, tmp_path: Path, capsys
) -> None:
    run = _copy_run(dispatcher_run, tmp_path)
    shutil.rmtree(run / "checkpoint")
    argv = ["train-dispatcher", "tiny", "--steps", "20", "--out", str(run), *TINY_RUN]
    fails_cleanly(argv, tmp_path, capsys, f"{run}: --out: already holds policy.json")
