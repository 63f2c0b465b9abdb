"""Offline navigation datasets: collection from a behaviour fleet, sharded writer, checked loader.

A dataset is a folder::

    DIR/manifest.json
    DIR/shard_00000.npz  DIR/shard_00001.npz  ...

Every shard is an ``np.savez`` archive of per-robot transitions (one row per robot-step), with
exactly these arrays (``n`` rows, ``D`` = observation size, ``A`` = actions):

==============  =============  ==========  ==================================================
key             shape          dtype       meaning
==============  =============  ==========  ==================================================
``obs``         ``(n, D)``     float16     observation before the step (see core/observe.py)
``action``      ``(n,)``       int8        the EXECUTED action (``StepResult.actions``)
``reward``      ``(n,)``       float32     the robot's reward for the step
``next_obs``    ``(n, D)``     float16     observation after the step (and the dispatcher)
``terminated``  ``(n,)``       bool        True on the step that solved a one-shot instance
                                           with ``episode.stop_when_solved`` (its episode's
                                           last); always False on a lifelong floor
``truncated``   ``(n,)``       bool        True on step ``steps`` of an episode (the limit)
``mask``        ``(n, A)``     int8        action mask before the step (1 = allowed)
``next_mask``   ``(n, A)``     int8        action mask after the step
==============  =============  ==========  ==================================================

Observations are stored as float16: every entry lies in ``[-1, 1]``, the occupancy channels are
0/1 (exact) and the rest is accurate to 5e-4, which is far below what the network resolves; it
halves disk and memory (1M transitions ≈ 0.85 GB instead of 1.7 GB). The loader hands them to
training as float16 and batches are converted to float32 on the fly.

``manifest.json``: ``schema_version``, ``package_version``, ``scenarios``, ``seeds``,
``behavior``, ``epsilon``, ``episodes``, ``steps``, ``collisions``, ``n_transitions``,
``obs_shape``, ``radius``, ``observation`` (the :class:`~warehouse.config.ObservationConfig` the
observations were built with: ``radius``, ``intent``), ``n_actions``, ``dtypes`` and ``shards``
(``file``, ``n``, ``sha256``); a collection from a one-shot scenario with
``episode.stop_when_solved`` adds ``stop_when_solved`` (per scenario), and only its rows may be
``terminated``. The loader (:func:`load_dataset`) opens shards with
``allow_pickle=False``, checks every hash, and refuses a schema mismatch, missing or extra keys,
wrong shapes or dtypes, object arrays and non-finite values with an
:class:`~warehouse.errors.InputError`.

Collection (:func:`collect`) steps a :class:`~warehouse.fleet.Fleet` whose navigator is
:class:`EpsilonGreedyNavigator`; every step yields ``N`` transitions as array slices. An episode
runs ``steps`` steps, or, on a one-shot instance with ``episode.stop_when_solved``, ends at the
first step after which it is solved (:meth:`Simulation.solved
<warehouse.core.Simulation.solved>`, the env's termination): that step's rows are
``terminated`` (a true terminal: CQL does not bootstrap there) and no further step is logged. With
``learned`` set, the ε-greedy fleet's base is a :class:`~agents.mixed_behavior.MixedNavigator`
(a learned network's moves mixed into the behaviour navigator's, DAgger-style), and the manifest
records it under ``learned`` (``checkpoint`` relative to the dataset folder, its ``sha256``,
``share``, ``temperature``).
:func:`load_datasets` trains on the union of several folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warehouse.atomic import sha256_file
from warehouse.errors import InputError
from warehouse.interrupt import signals_deferred
from warehouse.jsonio import read_json_object

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
#: key -> (dtype, per-row shape kind): "obs" rows are (D,), "mask" rows (A,), "" scalars.
FIELDS: dict[str, tuple[np.dtype, str]] = {
    "obs": (np.dtype(np.float16), "obs"),
    "action": (np.dtype(np.int8), ""),
    "reward": (np.dtype(np.float32), ""),
    "next_obs": (np.dtype(np.float16), "obs"),
    "terminated": (np.dtype(np.bool_), ""),
    "truncated": (np.dtype(np.bool_), ""),
    "mask": (np.dtype(np.int8), "mask"),
    "next_mask": (np.dtype(np.int8), "mask"),
}
FINITE_FIELDS = ("obs", "reward", "next_obs")
DEFAULT_SHARD_SIZE = 262_144


# --------------------------------------------------------------------------------- behaviour
class EpsilonGreedyNavigator:
    """A navigator that, per robot and step, replaces the base action by a uniformly random
    allowed action with probability ``epsilon`` (own RNG, seeded in :meth:`reset`)."""

    needs_observation = True  # the collector logs observations

    def __init__(
        self, base: Any, epsilon: float, *, seed: int | None = None, observation: Any = None
    ) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError("epsilon must be in [0, 1]")
        self.base = base
        #: observation layout to log (an ObservationConfig; None: the scenario's)
        self.observation = observation
        self.epsilon = float(epsilon)
        self.name = f"{base.name}+eps{epsilon:g}"
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None) -> None:
        self.base.reset(seed)
        self.rng = np.random.default_rng(None if seed is None else [seed, 0xE95])

    def act(self, sim: Any, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        actions, prefs = self.base.act(sim, obs, mask)
        n, a = mask.shape
        explore = self.rng.random(n) < self.epsilon
        noise = np.where(mask, self.rng.random((n, a)), -1.0)
        return np.where(explore, noise.argmax(axis=1), actions).astype(np.int64), prefs


# --------------------------------------------------------------------------------- writer
file_sha256 = sha256_file


class ShardWriter:
    """Buffers transitions in preallocated arrays and writes fixed-size ``.npz`` shards."""

    def __init__(self, folder: Path, obs_dim: int, n_actions: int, shard_size: int) -> None:
        self.folder = folder
        self.obs_dim, self.n_actions, self.shard_size = obs_dim, n_actions, shard_size
        self.shards: list[dict[str, Any]] = []
        self.count = 0
        self._buf = {
            k: np.zeros((shard_size, *self._row(kind)), dtype=dt)
            for k, (dt, kind) in FIELDS.items()
        }
        self._fill = 0

    def _row(self, kind: str) -> tuple[int, ...]:
        return {"obs": (self.obs_dim,), "mask": (self.n_actions,), "": ()}[kind]

    def add(self, **arrays: np.ndarray) -> None:
        """Append ``n`` transitions given as arrays with ``n`` rows (one call per fleet step)."""
        n = len(arrays["action"])
        done = 0
        while done < n:
            take = min(n - done, self.shard_size - self._fill)
            dst = slice(self._fill, self._fill + take)
            for k in FIELDS:
                self._buf[k][dst] = arrays[k][done : done + take]
            self._fill += take
            done += take
            if self._fill == self.shard_size:
                self.flush()

    def flush(self) -> None:
        if self._fill == 0:
            return
        name = f"shard_{len(self.shards):05d}.npz"
        path = self.folder / name
        arrays = {k: v[: self._fill] for k, v in self._buf.items()}
        # a Ctrl-C or SIGTERM waits for the shard: cut inside savez, the half-written zip's
        # close fails with an error of its own (a traceback, not the one-line stop)
        with signals_deferred(signal.SIGINT, signal.SIGTERM):
            # numpy's stubs match ``**arrays`` against savez's ``allow_pickle: bool`` parameter
            np.savez(path, **arrays)  # type: ignore[arg-type]
        self.shards.append({"file": name, "n": self._fill, "sha256": file_sha256(path)})
        self.count += self._fill
        self._fill = 0


def _taken(out: Path) -> str | None:
    """Why the dataset cannot be made at ``out``, or None where it is missing or an empty folder
    (a link, even a dangling one, is refused: the rename would fail last)."""
    if out.is_symlink():
        return "is a link; choose another --out"
    if out.exists() and not out.is_dir():
        return "exists and is not a folder; choose another --out"
    if out.is_dir() and any(out.iterdir()):
        return "output folder already exists and is not empty; choose another --out"
    return None


@contextlib.contextmanager
def atomic_dir(out: Path):
    """Yield a temporary sibling folder that becomes ``out`` on success and vanishes on error.
    ``out`` may be missing or an empty folder (the rename replaces it), as other commands'
    ``--out``."""
    out = Path(out)
    if why := _taken(out):
        raise InputError(out, None, why)
    from warehouse.interrupt import ctrl_c_deferred

    tmp: Path | None = None
    try:
        with ctrl_c_deferred():  # a Ctrl-C while it is made arrives once `tmp` names it
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
            except OSError as exc:
                why = f"cannot create the folder: {exc.strerror}"
                raise InputError(out, None, why) from None
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; give it normal permissions
        if why := _taken(out):  # filled meanwhile (the rename replaces an empty folder)
            raise InputError(out, None, why)
        try:
            os.rename(tmp, out)
        except OSError as exc:
            raise InputError(out, None, f"cannot create the folder: {exc.strerror}") from None
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------- collection
@dataclass(frozen=True, kw_only=True)
class CollectConfig:
    """What to collect: ``episodes`` per scenario, episode ``i`` seeded with ``seeds[i]``."""

    targets: tuple[str, ...]
    episodes: int = 1
    seeds: tuple[int, ...] | None = None  #: default ``0 … episodes-1``
    steps: int | None = None  #: default: each scenario's ``episode.steps``
    behavior: str = "rule_based"
    epsilon: float = 0.1
    collisions: str = "physical"  #: physical keeps collisions (and their penalty) in the data
    robots: int | None = None  #: override the scenario's fleet size
    shard_size: int = DEFAULT_SHARD_SIZE
    #: observation layout (``ObservationConfig``) to log; None: each scenario's own section
    observation: Any = None
    #: further scenario settings for every target (dotted keys, e.g. ``{"reward.collision": -250}``)
    overrides: tuple[tuple[str, Any], ...] = ()
    #: a learned navigator checkpoint mixed into the behaviour fleet (agents/mixed_behavior.py)
    learned: Path | None = None
    learned_share: float = 0.0  #: per robot and step, the learned move with this probability
    learned_temperature: float = 0.5  #: the learned moves are drawn from softmax(Q / T)


def _episode_seeds(cfg: CollectConfig) -> list[int]:
    if cfg.seeds is None:
        return list(range(cfg.episodes))
    if len(cfg.seeds) < cfg.episodes:
        raise InputError(None, "--seeds", f"{cfg.episodes} episodes need {cfg.episodes} seeds")
    return list(cfg.seeds[: cfg.episodes])


def collect(
    cfg: CollectConfig,
    out: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the behaviour fleet and write the dataset folder ``out`` atomically.

    ``progress(n)`` is called with the number of transitions added after every step.
    Returns the manifest.
    """
    import warehouse
    from agents.registry import make_navigator
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.policies import scenario_dispatcher

    seeds = _episode_seeds(cfg)
    fleets: list[tuple[str, Any, int]] = []
    stops: list[bool] = []  #: per target: episodes end when solved (episode.stop_when_solved)
    modes: set[str] = set()  # the collision mode the fleets ran (a --set may have changed it)
    for target in cfg.targets:
        sc, src = load_scenario(target)
        over: dict[str, Any] = {"collisions": cfg.collisions, **dict(cfg.overrides)}
        if cfg.robots is not None:
            over["robots"] = cfg.robots
        names = {key: f"--set {key}" for key, _ in cfg.overrides}  # an error names its option
        names.update({"collisions": "--collisions", "robots": "--robots"})
        sc = apply_overrides(sc, over, src, names)
        sim = Simulation(build_floor(sc, src, names), sc.sim_config())
        behavior, observation = make_navigator(cfg.behavior), cfg.observation
        if cfg.learned is not None:
            behavior = _mixed(cfg, behavior)
            observation = behavior.observation  # the network's layout
        elif (own := getattr(behavior, "observation", None)) is not None:
            # a network behaviour reads its own layout (as in ``warehouse run``), so log that one
            if cfg.observation is not None and cfg.observation != own:
                raise InputError(
                    None,
                    "--intent",
                    f"navigator {cfg.behavior!r} reads {own}, the collection asks for "
                    f"{cfg.observation}",
                )
            observation = own
        modes.add(str(sc.physics.collisions))
        nav = EpsilonGreedyNavigator(behavior, cfg.epsilon, observation=observation)
        fleet = Fleet(sim, scenario_dispatcher(sc.policies.dispatcher, sc, src, strict=True), nav)
        fleets.append((target, fleet, int(cfg.steps or sc.episode.steps)))
        stops.append(bool(sc.episode.stop_when_solved))
    dims = {
        (f.observer.size, f.sim.floor.n_actions, f.observer.radius, f.observer.config.intent)
        for _, f, _ in fleets
    }
    if len(dims) != 1:
        raise InputError(None, "TARGET", f"scenarios disagree on observation/action size: {dims}")
    obs_dim, n_actions, radius, intent = dims.pop()

    # the buffer holds one shard, or the whole dataset when that is smaller (the same files)
    total = sum(steps * f.sim.n_robots for _, f, steps in fleets) * len(seeds)
    rows = max(1, min(cfg.shard_size, total))
    with atomic_dir(out) as tmp:
        try:
            writer = ShardWriter(tmp, obs_dim, n_actions, rows)
        except MemoryError:
            raise InputError(
                None, "--shard-size", f"a shard of {rows:,} transitions does not fit in memory"
            ) from None
        for (_, fleet, steps), stop in zip(fleets, stops, strict=True):
            for seed in seeds:
                _run_episode(fleet, seed, steps, writer, progress, stop_when_solved=stop)
        writer.flush()
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "package_version": warehouse.__version__,
            "scenarios": list(cfg.targets),
            "seeds": seeds,
            "behavior": cfg.behavior,
            "epsilon": cfg.epsilon,
            "episodes": cfg.episodes,
            "steps": [s for _, _, s in fleets],
            "collisions": modes.pop() if len(modes) == 1 else sorted(modes),
            "overrides": dict(cfg.overrides),
            "robots": [f.sim.n_robots for _, f, _ in fleets],
            "n_transitions": writer.count,
            "obs_shape": [obs_dim],
            "radius": radius,
            "observation": {"radius": radius, "intent": intent},
            "n_actions": n_actions,
            "dtypes": {k: dt.name for k, (dt, _) in FIELDS.items()},
            "shards": writer.shards,
        }
        if any(stops):  # (a lifelong dataset's manifest is as before)
            manifest["stop_when_solved"] = stops
        if cfg.learned is not None:
            ckpt = Path(cfg.learned).with_suffix(".safetensors")
            manifest["learned"] = {
                # relative to the dataset folder: the manifest does not name this machine's paths
                "checkpoint": Path(os.path.relpath(Path(cfg.learned), Path(out))).as_posix(),
                "sha256": sha256_file(ckpt),
                "share": cfg.learned_share,
                "temperature": cfg.learned_temperature,
            }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _mixed(cfg: CollectConfig, behavior: Any) -> Any:
    """``behavior`` with ``cfg.learned``'s network mixed in; refuses a layout the network does
    not read."""
    from .mixed_behavior import MixedNavigator, learned_behavior

    learned = learned_behavior(cfg.learned, cfg.learned_temperature)  # type: ignore[arg-type]
    if cfg.observation is not None and cfg.observation != learned.observation:
        raise InputError(
            Path(cfg.learned).with_suffix(".json"),  # type: ignore[arg-type]
            "observation",
            f"the network reads {learned.observation}, the collection asks for {cfg.observation}",
        )
    return MixedNavigator(behavior, learned, cfg.learned_share)


def _run_episode(
    fleet: Any,
    seed: int,
    steps: int,
    writer: ShardWriter,
    progress: Callable[[int], None] | None,
    *,
    stop_when_solved: bool = False,
) -> None:
    """``steps`` transitions per robot, or with ``stop_when_solved`` up to the first step after
    which the one-shot instance is solved (``terminated`` there). The fleet runs one step more:
    the observation and mask of step ``t + 1`` are the next observation and mask of step
    ``t``."""
    fleet.reset(seed)
    prev = fleet.step()
    n = fleet.sim.n_robots
    no = np.zeros(n, dtype=bool)
    last = np.ones(n, dtype=bool)
    for t in range(steps):
        solved = stop_when_solved and bool(fleet.sim.solved())  # after step t (the env's rule)
        cur = fleet.step()
        res = prev.result
        writer.add(
            obs=prev.obs,
            action=res.actions,
            reward=res.reward,
            next_obs=cur.obs,
            terminated=last if solved else no,
            truncated=last if t == steps - 1 else no,
            mask=prev.mask,
            next_mask=cur.mask,
        )
        if progress is not None:
            progress(n)
        if solved:
            return
        prev = cur


# --------------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Dataset:
    """All transitions of a dataset folder, concatenated (arrays as in the module table)."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mask: np.ndarray
    next_mask: np.ndarray
    manifest: dict[str, Any]

    def __len__(self) -> int:
        return int(self.action.shape[0])


_MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "scenarios": list,
    "seeds": list,
    "behavior": str,
    "epsilon": (int, float),
    "n_transitions": int,
    "obs_shape": list,
    "n_actions": int,
    "shards": list,
}


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(path, None, "no manifest.json in the dataset folder")
    man = read_json_object(path)
    if man.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            path,
            "schema_version",
            f"dataset schema {man.get('schema_version')!r}, this version reads {SCHEMA_VERSION}",
        )
    for key, typ in _MANIFEST_KEYS.items():
        if key not in man:
            raise InputError(path, key, "missing")
        if not isinstance(man[key], typ) or isinstance(man[key], bool):
            raise InputError(path, key, "wrong type")
    if len(man["obs_shape"]) != 1 or not all(_is_int(v) and v > 0 for v in man["obs_shape"]):
        raise InputError(path, "obs_shape", "expected [D]")
    if not all(isinstance(v, str) for v in man["scenarios"]):
        raise InputError(path, "scenarios", "expected a list of scenario names")
    if not all(_is_int(v) for v in man["seeds"]):
        raise InputError(path, "seeds", "expected a list of integers")
    if not 0.0 <= man["epsilon"] <= 1.0:  # (NaN fails too)
        raise InputError(path, "epsilon", f"expected a number in [0, 1], got {man['epsilon']!r}")
    _check_layout(path, man)
    stops = man.get("stop_when_solved", [])
    if not isinstance(stops, list) or not all(isinstance(v, bool) for v in stops):
        raise InputError(path, "stop_when_solved", "expected a list of true/false")
    seen: set[str] = set()
    for i, sh in enumerate(man["shards"]):
        ok = isinstance(sh, dict) and isinstance(sh.get("file"), str)
        ok = ok and isinstance(sh.get("sha256"), str) and _is_int(sh.get("n")) and sh["n"] >= 0
        if not ok:
            raise InputError(path, f"shards.{i}", "expected {file, n, sha256}")
        if Path(sh["file"]).name != sh["file"]:
            raise InputError(path, f"shards.{i}.file", "shard files must lie in the dataset folder")
        if sh["file"] in seen:  # its transitions would be loaded twice
            raise InputError(path, f"shards.{i}.file", f"{sh['file']} is listed twice")
        seen.add(sh["file"])
    if sum(sh["n"] for sh in man["shards"]) != man["n_transitions"]:
        raise InputError(path, "n_transitions", "does not match the shard counts")
    listed = {sh["file"] for sh in man["shards"]}
    if extra := sorted(p.name for p in Path(folder).glob("*.npz") if p.name not in listed):
        raise InputError(  # (a shard of another collection would be silently left out)
            Path(folder) / extra[0], None, "a shard not listed in manifest.json"
        )
    return man


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_layout(path: Path, man: dict[str, Any]) -> None:
    """``radius`` and ``observation`` (``{radius, intent}``; older datasets lack it) must
    describe a valid observation layout (training builds its network from them)."""
    from pydantic import ValidationError

    from warehouse.config import ObservationConfig

    if "radius" in man and not _is_int(man["radius"]):
        raise InputError(path, "radius", "expected an integer")
    layout = man.get("observation")
    if layout is None:
        return
    if not isinstance(layout, dict) or set(layout) - {"radius", "intent"}:
        raise InputError(path, "observation", "expected {radius, intent}")
    if not _is_int(layout.get("radius", 3)):
        raise InputError(path, "observation.radius", "expected an integer")
    if not isinstance(layout.get("intent", False), bool):
        raise InputError(path, "observation.intent", "expected true or false")
    try:
        ObservationConfig(**layout)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["observation", *map(str, err["loc"])])
        raise InputError(path, where, f"{err['msg']}, got {err.get('input')!r}") from None


def _layout_of(man: dict[str, Any]) -> dict[str, Any]:
    """A manifest's observation layout (an older one without ``observation``: its ``radius``
    and no intent channels, as training reads it)."""
    layout = man.get("observation") or {}
    return {
        "radius": layout.get("radius", man.get("radius", 3)),
        "intent": layout.get("intent", False),
    }


def _npy_header(path: Path, z: Any, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the archive member ``key`` from its ``.npy`` header (data unread)."""
    from warehouse.npy_header import read_npy_header

    names = z.zip.namelist()
    name = f"{key}.npy" if f"{key}.npy" in names else key
    try:
        with z.zip.open(name) as fh:
            return read_npy_header(fh)
    except ValueError as exc:
        raise InputError(path, key, f"not a .npy array: {exc}") from None


def row_bytes(obs_dim: int, n_actions: int) -> int:
    """Bytes of one transition's arrays (an ``np.savez`` shard of ``n`` rows holds ``n`` times
    this, plus its headers)."""
    rows = {"obs": obs_dim, "mask": n_actions, "": 1}
    return sum(dt.itemsize * rows[kind] for dt, kind in FIELDS.values())


def _short_of_room(n: int, size: int, obs_dim: int, n_actions: int) -> str | None:
    """Why a shard file of ``size`` bytes cannot hold the ``n`` rows its manifest lists (shards
    are stored uncompressed), or None: checked before anything is allocated for them."""
    need = n * row_bytes(obs_dim, n_actions)
    return (
        f"{n:,} transitions need {need:,} bytes, the file holds {size:,}" if need > size else None
    )


def load_shard(
    path: Path, expected_sha: str, n: int, obs_dim: int, n_actions: int, *, terminals: bool = False
):
    """Verified arrays of one shard (dict key -> array). The file is read once: the bytes
    hashed are the bytes loaded (a file changed after the check is never loaded).
    ``terminals``: rows may be ``terminated`` (the manifest's ``stop_when_solved``)."""
    if not path.is_file():
        raise InputError(path, None, "shard listed in the manifest is missing")
    if why := _short_of_room(n, path.stat().st_size, obs_dim, n_actions):
        raise InputError(path, None, why)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read shard: {exc}") from None
    if hashlib.sha256(data).hexdigest() != expected_sha:
        raise InputError(path, "sha256", "hash does not match the manifest (file changed?)")
    if why := _short_of_room(n, len(data), obs_dim, n_actions):
        raise InputError(path, None, why)
    rows = {"obs": (obs_dim,), "mask": (n_actions,), "": ()}
    out: dict[str, np.ndarray] = {}
    try:
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError:  # not a zip archive: numpy took it for a pickle
            raise InputError(path, None, "not an .npz archive") from None
        if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy file
            raise InputError(path, None, "not an .npz archive")
        with z:
            keys = set(z.files)
            extra = sorted(keys - set(FIELDS))
            if extra:
                raise InputError(path, extra[0], "unexpected array")
            for key, (dtype, kind) in FIELDS.items():
                if key not in keys:
                    raise InputError(path, key, "missing")
                # the header first: a decompression bomb or a pickled array is refused unread
                shape, found = _npy_header(path, z, key)
                if found.hasobject:
                    raise InputError(path, key, "object arrays are not allowed (pickled data)")
                if found != dtype:
                    raise InputError(path, key, f"dtype {found}, expected {dtype}")
                if shape != (n, *rows[kind]):
                    raise InputError(path, key, f"shape {shape}, expected {(n, *rows[kind])}")
                try:
                    arr = z[key]
                except ValueError as exc:  # object arrays need pickle
                    raise InputError(path, key, f"object arrays are not allowed ({exc})") from None
                if arr.dtype != dtype:
                    raise InputError(path, key, f"dtype {arr.dtype}, expected {dtype}")
                if arr.shape != (n, *rows[kind]):
                    raise InputError(path, key, f"shape {arr.shape}, expected {(n, *rows[kind])}")
                out[key] = arr
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(path, None, f"cannot read shard: {exc}") from None
    for key in FINITE_FIELDS:
        if not np.isfinite(out[key]).all():
            raise InputError(path, key, "non-finite values (NaN or inf)")
    for key in ("obs", "next_obs"):  # observations are built in [-1, 1] (core/observe.py)
        if out[key].size and np.abs(out[key]).max() > 1:
            raise InputError(path, key, "observation values outside [-1, 1]")
    act = out["action"].astype(np.int64)
    if act.size and (act.min() < 0 or act.max() >= n_actions):
        raise InputError(path, "action", f"actions must lie in [0, {n_actions})")
    if not np.isin(out["mask"], (0, 1)).all() or not np.isin(out["next_mask"], (0, 1)).all():
        raise InputError(path, "mask", "masks must be 0/1")
    if act.size and not out["mask"][np.arange(act.size), act].all():
        raise InputError(path, "action", "a logged action is not allowed by its mask")
    if not out["next_mask"].any(axis=1).all():  # (CQL's target maxes over the allowed moves)
        raise InputError(path, "next_mask", "a row allows no action (WAIT is always allowed)")
    for key in ("terminated", "truncated"):  # (a bool array's bytes may hold any value)
        if out[key].view(np.uint8).max(initial=0) > 1:
            raise InputError(path, key, "flags must be stored as 0/1")
    if not terminals and out["terminated"].any():  # (CQL would stop bootstrapping there)
        raise InputError(
            path,
            "terminated",
            "must be false: the warehouse is lifelong (only a collection with "
            "episode.stop_when_solved ends episodes)",
        )
    return out


def load_dataset(folder: str | Path, *, limit: int | None = None) -> Dataset:
    """Load and verify a dataset folder (at most ``limit`` transitions, whole shards first)."""
    return load_datasets([folder], limit=limit)


#: manifest entries that must agree between the folders of a union
_LAYOUT_KEYS = ("obs_shape", "n_actions", "observation")


def load_datasets(folders: Sequence[str | Path], *, limit: int | None = None) -> Dataset:
    """Load, verify and concatenate one or several dataset folders (in the order given).

    Every folder is checked as by :func:`load_dataset`, and all must share the observation
    layout and action count. The manifest of a union is the first folder's with
    ``n_transitions`` and ``scenarios`` of the whole, and ``parts``: each folder's manifest.
    """
    paths = [Path(f) for f in folders]
    if not paths:
        raise InputError(None, "--data", "give at least one dataset folder")
    mans = [read_manifest(p) for p in paths]
    for path, man in zip(paths[1:], mans[1:], strict=True):
        for key in _LAYOUT_KEYS:
            mine, first = (
                _layout_of(m) if key == "observation" else m.get(key) for m in (man, mans[0])
            )
            if mine != first:
                raise InputError(
                    path / MANIFEST,
                    key,
                    f"{mine!r} in {path} differs from {first!r} in {paths[0]}",
                )
    obs_dim, n_actions = mans[0]["obs_shape"][0], mans[0]["n_actions"]
    # whole shards up to ``limit``, copied into arrays allocated once (no concatenation: the
    # peak memory is the dataset plus one shard, read and loaded)
    todo = [(p, sh) for p, m in zip(paths, mans, strict=True) for sh in m["shards"]]
    total = 0
    for i, (_, sh) in enumerate(todo):
        if limit is not None and total >= limit:
            todo = todo[:i]
            break
        total += sh["n"]
    if total == 0:
        raise InputError(paths[0] / MANIFEST, "shards", "the dataset holds no transitions")
    for path, man in zip(paths, mans, strict=True):  # (a missing shard is named when loaded)
        there = [(sh, (path / sh["file"]).stat().st_size) for sh in man["shards"]
                 if (path / sh["file"]).is_file()]  # fmt: skip
        n, size = sum(sh["n"] for sh, _ in there), sum(size for _, size in there)
        if why := _short_of_room(n, size, obs_dim, n_actions):
            short = next(  # (one shard at least is short when all together are)
                f"{sh['file']}: {sh['n']:,} in {held:,} bytes"
                for sh, held in there
                if _short_of_room(sh["n"], held, obs_dim, n_actions)
            )
            why = f"{why.replace('the file holds', 'the shards hold')} ({short})"
            raise InputError(path / MANIFEST, "n_transitions", why)
    rows = min(total, limit) if limit is not None else total
    shapes = {"obs": (obs_dim,), "mask": (n_actions,), "": ()}
    try:
        cat = {k: np.empty((rows, *shapes[kind]), dtype=dt) for k, (dt, kind) in FIELDS.items()}
    except MemoryError:  # (the shards, checked later, may not hold that many)
        raise InputError(
            paths[0] / MANIFEST, "n_transitions", f"{rows:,} transitions do not fit in memory"
        ) from None
    # the folders whose episodes may end solved (their rows may be terminated)
    ends = {p for p, m in zip(paths, mans, strict=True) if any(m.get("stop_when_solved", ()))}
    start = 0
    for path, sh in todo:
        arrays = load_shard(
            path / sh["file"], sh["sha256"], sh["n"], obs_dim, n_actions,
            terminals=path in ends,
        )  # fmt: skip
        take = min(sh["n"], rows - start)
        for k, v in arrays.items():
            cat[k][start : start + take] = v[:take]
        start += take
        del arrays
    manifest = mans[0]
    if len(paths) > 1:
        scenarios = list(dict.fromkeys(s for m in mans for s in m["scenarios"]))
        manifest = {
            **mans[0],
            "scenarios": scenarios,
            "n_transitions": sum(m["n_transitions"] for m in mans),
            "parts": [{"folder": str(p), "manifest": m} for p, m in zip(paths, mans, strict=True)],
        }
    return Dataset(**cat, manifest=manifest)


def parse_targets(text: str | Sequence[str]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(t.strip() for t in items if t.strip())
