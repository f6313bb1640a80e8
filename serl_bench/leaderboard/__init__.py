"""The leaderboard: validate results records, accept runs whose figures their episode logs confirm, render the board.

    serl-bench leaderboard validate runs/a          # schema check, one line per problem
    serl-bench leaderboard submit runs/a            # recompute, compare, replay, write leaderboard/submissions/...
    serl-bench leaderboard render                   # leaderboard/README.md and leaderboard/index.html

The schema is `serl_bench.results.ResultsRecord` (committed as ``leaderboard/results.schema.json``).
Nothing read here is ever executed or unpickled: submissions are JSON, read within size, depth and
string-length limits.
"""

from ._render import Row, load_submissions, markdown, render, rows
from ._replay import ReplayReport, ReplayTarget, replay, replay_target
from ._reported import ReportedFigure, load_reported
from ._safejson import (
    MAX_DEPTH,
    MAX_LINE_BYTES,
    MAX_LOG_BYTES,
    MAX_RECORD_BYTES,
    MAX_STRING,
    SubmissionError,
    iter_jsonl,
    parse_json,
    read_json,
)
from ._submit import SUBMISSIONS, submission_name, submit, verify
from ._validate import Verification, read_episodes, read_submission, record_from, results_path, validate

SCHEMA_FILE = "results.schema.json"

__all__ = [
    "MAX_DEPTH", "MAX_LINE_BYTES", "MAX_LOG_BYTES", "MAX_RECORD_BYTES", "MAX_STRING", "SCHEMA_FILE",
    "SUBMISSIONS", "ReplayReport", "ReplayTarget", "ReportedFigure", "Row", "SubmissionError", "Verification",
    "iter_jsonl", "load_reported", "load_submissions", "markdown", "parse_json", "read_episodes", "read_json",
    "read_submission", "record_from", "render", "replay", "replay_target", "results_path", "rows",
    "submission_name", "submit", "validate", "verify",
]
