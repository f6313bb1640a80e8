"""The ALFWorld splits that exist and the games they hold (light: no engine imported here)."""

from __future__ import annotations

from dataclasses import dataclass

from serl_bench.results import file_sha256

PROCGEN_SEED_START = {"procgen-test": 0, "procgen-train": 1_000_000}  # disjoint seed ranges
DEFAULT_GAMES_PER_TYPE = {"procgen-test": 20, "procgen-train": 50}
OFFICIAL_SPLITS = ("train", "valid_seen", "valid_unseen")
SPLIT_SOURCES = {**{name: "procedural" for name in PROCGEN_SEED_START},
                 **{name: "official" for name in OFFICIAL_SPLITS}}
VERIFY_STEPS = 50  # the env's default max_steps: an expert-verified game is winnable in an episode


@dataclass(frozen=True)
class Game:
    """One playable game: ``path`` is its ``game.tw-pddl``, with ``traj_data.json`` beside it."""

    task_id: str
    path: str
    task_type: str

    def content_hash(self) -> str:
        """sha256 of the game file: the same game wherever it is stored."""
        return file_sha256(self.path)
