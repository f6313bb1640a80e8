"""Where ALFWorld games come from, and the splits they form.

Three sources, always labelled as such in results:

* ``procedural`` — ``procgen-train`` / ``procgen-test``: games from `_procgen`, each kept only if
  alfworld's handcoded expert solves it within the step budget, written in the official format
  (``game.tw-pddl`` + ``traj_data.json``) and cached on disk. The two splits draw from disjoint seed
  ranges, and a split of N games per task type is always the first N of any larger one.
* ``official`` — ``train`` / ``valid_seen`` / ``valid_unseen`` from ``$ALFWORLD_DATA/json_2.1.1``,
  skipping what alfworld skips (movable-receptacle and sliced tasks, games marked unsolvable).
* ``user`` — any path: a ``game.tw-pddl``, an ALFWorld-domain PDDL problem, or a folder of them. Objects
  not named in ALFRED's style (``apple1``, ``the-apple``) get ALFRED ids on import (`_naming`), or the
  game would answer "Nothing happens." to every command naming them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import alfworld.gen.constants as C
from alfworld.info import ALFRED_PDDL_PATH, ALFRED_TWL2_PATH

from serl_bench.errors import ConfigError, DataNotFoundError, GameFileError, UnknownNameError
from serl_bench.paths import cache_dir, writing_cache

from .._split import Split
from . import _engine, _procgen
from ._naming import alfred_names
from ._procgen import TASK_TYPES
from ._splits import (
    DEFAULT_GAMES_PER_TYPE,
    OFFICIAL_SPLITS,
    PROCGEN_SEED_START,
    VERIFY_STEPS,
    Game,
)


def load_split(name: str, *, games_per_type: int | None = None, data_path: str | None = None,
               progress: Callable[[int, int], None] | None = None) -> Split:
    """Resolve a split name (or a path to user games) to a `Split`."""
    if name in PROCGEN_SEED_START:
        return procgen_split(name, DEFAULT_GAMES_PER_TYPE[name] if games_per_type is None else games_per_type,
                             progress=progress)
    if name in OFFICIAL_SPLITS:
        return official_split(name, data_path)
    if os.path.exists(name):
        return user_split(name)
    raise UnknownNameError("ALFWorld split", name, [*PROCGEN_SEED_START, *OFFICIAL_SPLITS, "<path to games>"])


# ----------------------------------------------------------------------------------------- game files


def _alfworld_logic() -> tuple[str, str]:
    with open(ALFRED_PDDL_PATH) as d, open(ALFRED_TWL2_PATH) as g:
        return d.read(), g.read()


def write_game(directory: Path, problem: str, traj_data: dict, task_desc: str,
               walkthrough: list[str] | None) -> Path:
    """Write ``game.tw-pddl`` + ``traj_data.json`` (the format ``alfworld-generate`` writes) atomically."""
    domain, grammar = _alfworld_logic()
    game = {
        "pddl_domain": domain,
        "grammar": grammar.replace("UNKNOWN GOAL", task_desc),
        "pddl_problem": problem,
        "solvable": walkthrough is not None or None,
        "walkthrough": walkthrough,
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".tmp-"))
    (staging / "traj_data.json").write_text(json.dumps(traj_data, indent=1))
    (staging / "game.tw-pddl").write_text(json.dumps(game))
    try:
        os.replace(staging, directory)
    except OSError:  # the folder exists: complete (another process wrote the same content) or damaged
        if all((directory / name).is_file() for name in ("game.tw-pddl", "traj_data.json")):
            shutil.rmtree(staging, ignore_errors=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)
            os.replace(staging, directory)
    return directory / "game.tw-pddl"


def task_type_of(traj_data: dict, path: Path) -> str:
    task_type = traj_data.get("task_type")
    if not isinstance(task_type, str) or not isinstance(traj_data.get("pddl_params"), dict):
        raise GameFileError(f"{path} lacks task_type/pddl_params (ALFRED traj_data format)")
    return task_type


# ----------------------------------------------------------------------------------------- procedural


def play_expert(tw_env, game_path: str, max_steps: int = VERIFY_STEPS) -> list[str] | None:
    """Play alfworld's handcoded expert; its winning command list, or None if it fails in ``max_steps``."""
    tw_env.load(game_path)
    state = tw_env.reset(seed=0)
    commands: list[str] = []
    while len(commands) < max_steps and not state["won"]:
        command = tw_env.expert_action()
        if command is None:
            return None
        commands.append(command)
        state, _, _ = tw_env.step(command)
    return commands if state["won"] else None


_WORKER_ENV = None


def _try_seed(args: tuple[str, int, str]) -> tuple[int, str | None]:
    """Generate (task_type, seed) into ``root`` and verify it; the game's name if the expert wins."""
    task_type, seed, root = args
    global _WORKER_ENV
    if _WORKER_ENV is None:
        _WORKER_ENV = _engine.make_textworld_env()
    game = _procgen.generate_game(task_type, seed)
    target = Path(root) / game.name
    if (target / "game.tw-pddl").exists():
        return seed, game.name
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".verify-"))
    try:
        path = write_game(staging / "game", game.problem, game.traj_data, game.task_desc, None)
        walkthrough = play_expert(_WORKER_ENV, str(path))
        if walkthrough is None:
            return seed, None
        write_game(target, game.problem, game.traj_data, game.task_desc, walkthrough)
        return seed, game.name
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_MAX_ATTEMPTS_PER_GAME = 20


@contextlib.contextmanager
def _mapper(workers: int) -> Iterator[Callable]:
    """An ordered ``map`` over worker processes (each keeps one engine), or in-process for one worker."""
    if workers <= 1:
        yield map
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool.map


def procgen_split(name: str, games_per_type: int, *, progress: Callable[[int, int], None] | None = None,
                  workers: int | None = None) -> Split:
    """The first ``games_per_type`` expert-verified games of each task type in split ``name``.

    Seeds are tried in order and a game is accepted when the expert solves it, so the split is a pure
    function of ``(name, games_per_type)``; ``manifest.json`` remembers which seeds were accepted.
    """
    if not isinstance(games_per_type, int) or isinstance(games_per_type, bool) or games_per_type < 1:
        raise ConfigError(f"games_per_type must be at least 1 (a whole number), got {games_per_type!r}")
    root = cache_dir() / "alfworld" / f"procgen-v{_procgen.GENERATOR_VERSION}" / name
    with writing_cache("ALFWorld games"):
        root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / "manifest.json"
    manifest = _engine.read_json(manifest_path) if manifest_path.exists() else {}
    entries = {t: manifest.setdefault("task_types", {}).setdefault(
        t, {"accepted": [], "next_seed": PROCGEN_SEED_START[name]}) for t in TASK_TYPES}
    # Accepted games whose files went missing are regenerated (deterministically).
    missing = [(t, _seed_of(n), str(root)) for t, e in entries.items() for n in e["accepted"][:games_per_type]
               if not (root / n / "game.tw-pddl").exists()]
    total = len(missing) + sum(max(0, games_per_type - len(e["accepted"])) for e in entries.values())
    if total or manifest.get("generator_version") != _procgen.GENERATOR_VERSION:
        with writing_cache("ALFWorld games"):
            if total:
                with _mapper(min(workers or os.cpu_count() or 1, 4, total)) as run:
                    list(run(_try_seed, missing))
                    _fill(entries, games_per_type, name, run, str(root), manifest_path, manifest,
                          lambda done: progress and progress(len(missing) + done, total))
            _write_manifest(manifest_path, manifest)
    # Round-robin over task types, so that the first k games of a split cover every type evenly.
    games = [Game(task_id=entries[t]["accepted"][i], task_type=t,
                  path=str(root / entries[t]["accepted"][i] / "game.tw-pddl"))
             for i in range(games_per_type) for t in TASK_TYPES]
    return Split(name=name, source="procedural", tasks=tuple(games))


def _fill(entries: dict, games_per_type: int, name: str, run: Callable, root: str, manifest_path: Path,
          manifest: dict, progress: Callable[[int], None]) -> None:
    """Try seeds, in order per task type, until every type has ``games_per_type`` accepted games."""
    done = 0
    while needs := {t: games_per_type - len(e["accepted"]) for t, e in entries.items()
                    if len(e["accepted"]) < games_per_type}:
        batch = [(t, seed, root) for t, need in needs.items()
                 for seed in range(entries[t]["next_seed"], entries[t]["next_seed"] + need + 1)]
        for task_type, seed, game_name in ((a[0], *r) for a, r in zip(batch, run(_try_seed, batch), strict=True)):
            entry = entries[task_type]
            if len(entry["accepted"]) >= games_per_type or seed != entry["next_seed"]:
                continue  # this type is full: later seeds stay untried
            entry["next_seed"] = seed + 1
            if game_name is not None:
                entry["accepted"].append(game_name)
                done += 1
                progress(done)
            if seed - PROCGEN_SEED_START[name] > _MAX_ATTEMPTS_PER_GAME * games_per_type:
                raise GameFileError(f"the expert solved too few generated {task_type} games; this is a bug")
        _write_manifest(manifest_path, manifest)


def _seed_of(game_name: str) -> int:
    return int(game_name.rsplit("trial_S", 1)[1])


def _write_manifest(path: Path, manifest: dict) -> None:
    manifest["generator_version"] = _procgen.GENERATOR_VERSION
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- official


def official_split(name: str, data_path: str | None = None) -> Split:
    """ALFWorld's official games of split ``name`` under ``data_path`` or ``$ALFWORLD_DATA``."""
    how = ("get them with `alfworld-download` on a machine with internet and set $ALFWORLD_DATA, "
           "or use a procedural split (procgen-train, procgen-test)")
    data_path = data_path or os.environ.get("ALFWORLD_DATA")
    if not data_path:
        raise DataNotFoundError(f"ALFWorld's official games are not configured: {how}")
    root = Path(data_path).expanduser() / "json_2.1.1" / name
    if not root.is_dir():
        raise DataNotFoundError(f"no official ALFWorld split at {root}: {how}")
    games = []
    for traj_path in sorted(root.rglob("traj_data.json")):
        folder = traj_path.parent
        relative = folder.relative_to(root).as_posix()
        if "movable" in relative or "Sliced" in relative:
            continue  # alfworld does not support these
        task_type = task_type_of(_engine.read_json(traj_path), traj_path)
        game_path = folder / "game.tw-pddl"
        if task_type not in TASK_TYPES or not game_path.exists():
            continue
        if _engine.read_json(game_path).get("solvable") is not True:
            continue  # alfworld skips games not known to be solvable
        games.append(Game(task_id=relative, path=str(game_path), task_type=task_type))
    if not games:
        raise DataNotFoundError(f"no playable games under {root}: {how}")
    return Split(name=name, source="official", tasks=tuple(games))


# ----------------------------------------------------------------------------------------------- user


def user_split(path: str) -> Split:
    """Games from a user's path: ``game.tw-pddl`` files, PDDL problem files, or folders of them."""
    root = Path(path).expanduser().resolve()
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = sorted(p for p in root.rglob("*") if p.suffix in (".tw-pddl", ".pddl")), root
        # A folder that holds a game file needs nothing else (official trials keep their .pddl beside it).
        with_game = {p.parent for p in files if p.suffix == ".tw-pddl"}
        files = [p for p in files if p.suffix == ".tw-pddl" or p.parent not in with_game]
    if not files:
        raise GameFileError(f"no game.tw-pddl or .pddl problem files under {root}")
    engine = _engine.make_textworld_env()
    games = [_checked(engine, _user_game(p, p.relative_to(base).as_posix()), p) for p in files]
    return Split(name=str(root), source="user", tasks=tuple(games))


def _checked(engine, game: Game, origin: Path) -> Game:
    """Load and reset ``game`` now, so a broken file is named at once, not in the middle of a run."""
    try:
        engine.load(game.path)
        engine.reset()
    except GameFileError as exc:
        raise GameFileError(str(exc).replace(game.path, str(origin))) from None
    return game


def _user_game(path: Path, task_id: str) -> Game:
    traj_path = path.parent / "traj_data.json"
    traj_data = _engine.read_json(traj_path) if traj_path.exists() else None
    if path.suffix == ".tw-pddl":
        data = _engine.read_game_file(str(path))
        problem = data["pddl_problem"]
        if (traj_data is not None and "UNKNOWN GOAL" not in data["grammar"]
                and alfred_names(problem, path) == problem):
            return Game(task_id=task_id, path=str(path), task_type=task_type_of(traj_data, traj_path))
        stated = _engine.TASK_SENTENCE.search(data["grammar"])  # keep the file's own task sentence
        task_desc = json.loads(f'"{stated.group(1)}"').removesuffix(".") if stated else None
        if task_desc == "UNKNOWN GOAL":
            task_desc = None
    else:
        try:
            problem = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GameFileError(f"cannot read {path}: {exc}") from None
        task_desc = None
    traj_data = traj_data or infer_traj_data(problem, path)
    problem = alfred_names(problem, path)  # objects the demangler could not show get ALFRED ids
    return import_problem(problem, traj_data, task_id, traj_path if traj_path.exists() else path, task_desc)


def import_problem(problem: str, traj_data: dict, task_id: str, origin: Path, task_desc: str | None = None) -> Game:
    """Turn an ALFWorld-domain problem into a cached game (task text from alfworld's templates unless given)."""
    task_type = task_type_of(traj_data, origin)
    digest = hashlib.sha256(json.dumps([problem, traj_data, task_desc], sort_keys=True).encode()).hexdigest()
    folder = cache_dir() / "alfworld" / "imported" / digest[:24]
    if not (folder / "game.tw-pddl").exists():
        domain, _ = _alfworld_logic()
        _engine.translate(domain, problem)  # fail now, with the file's name, if it cannot be played
        if task_type not in TASK_TYPES:
            raise GameFileError(f"{origin}: task_type {task_type!r} is not one of {', '.join(TASK_TYPES)}")
        task_desc = task_desc or _procgen.describe_task(task_type, traj_data["pddl_params"], random.Random(digest))
        with writing_cache("an imported ALFWorld game"):
            write_game(folder, problem, traj_data, task_desc, None)
    return Game(task_id=task_id, path=str(folder / "game.tw-pddl"), task_type=task_type)


_CANONICAL = {name.lower(): name for name in C.OBJECTS}


def infer_traj_data(problem: str, path: Path) -> dict:
    """ALFRED ``traj_data`` for a problem without one, read off its goal (the six ALFWorld task types)."""
    goal = problem[problem.lower().find("(:goal"):].lower()
    if not goal.startswith("(:goal"):
        raise GameFileError(f"{path} has no (:goal ...) section")
    otypes = re.findall(r"\(objecttype\s+\?(\w+)\s+(\w+)type\s*\)", goal)
    rtypes = re.findall(r"\(receptacletype\s+\?(\w+)\s+(\w+)type\s*\)", goal)
    if "istoggled" in goal:
        toggled = {v for v in re.findall(r"\(toggleable\s+\?(\w+)\s*\)", goal)}
        obj = next((c for v, c in otypes if v not in toggled), None)
        toggle = next((c for v, c in otypes if v in toggled), None)
        task_type, parent = "look_at_obj_in_light", None
    else:
        obj, parent, toggle = (otypes[0][1] if otypes else None), (rtypes[0][1] if rtypes else None), ""
        task_type = next((t for key, t in (("isclean", "pick_clean_then_place_in_recep"),
                                          ("ishot", "pick_heat_then_place_in_recep"),
                                          ("iscool", "pick_cool_then_place_in_recep"),
                                          ("(not (=", "pick_two_obj_and_place")) if key in goal),
                         "pick_and_place_simple")
    if not obj or (task_type == "look_at_obj_in_light" and not toggle) or (
            task_type != "look_at_obj_in_light" and not parent):
        raise GameFileError(
            f"cannot tell which ALFWorld task {path} poses from its goal; put an ALFRED traj_data.json "
            "(task_type, pddl_params) beside it")
    params = _procgen.TaskParams(task_type, object_target=_CANONICAL.get(obj, obj),
                                 parent_target=_CANONICAL.get(parent or "", parent or ""),
                                 toggle_target=_CANONICAL.get(toggle or "", toggle or ""))
    return {"task_type": task_type, "pddl_params": params.pddl_params(),
            "serl_bench": {"source": "user", "inferred_from_goal": str(path)}}
