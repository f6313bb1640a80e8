"""Figures reported elsewhere (papers): shown in their own table, never mixed with measured rows."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._safejson import SubmissionError, read_json
from ._validate import schema_problems

REPORTED = "reported.json"


class ReportedFigure(BaseModel):
    """One figure from a paper: what was reported, by whom, in which setting."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    method: str = Field(max_length=100, description="method as the paper names it")
    env: str = Field(max_length=50, description="env short name, e.g. `alfworld`")
    success_rate: float = Field(ge=0, le=1, description="reported success rate, as a fraction")
    score_mean: float | None = Field(default=None, ge=0, le=1, description="reported score, where reported")
    model: str = Field(max_length=200, description="policy model the paper used")
    setting: str = Field(max_length=500, description="split and protocol as the paper states them")
    source: str = Field(max_length=300, description="citation: paper and where in it")


def load_reported(board: str | os.PathLike) -> list[ReportedFigure]:
    """``board/reported.json``, or nothing where the board has none."""
    path = Path(board) / REPORTED
    if not path.exists():
        return []
    data = read_json(path)
    if not isinstance(data, list):
        raise SubmissionError(f"{path}: expected a JSON array of reported figures")
    figures = []
    for i, item in enumerate(data):
        try:
            figures.append(ReportedFigure.model_validate(item))
        except ValidationError as exc:
            raise SubmissionError(schema_problems(exc, f"{path}[{i}]")) from None
    return figures
