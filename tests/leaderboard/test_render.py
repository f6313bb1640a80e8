"""The rendered board: grouping, the separate reported-elsewhere table, and escaping of hostile text."""

import json
import re

from serl_bench.leaderboard import load_reported, render, submit
from serl_bench.leaderboard._render import html_page, markdown, rows


def test_the_repository_reports_paper_figures_apart(tmp_path):
    from pathlib import Path

    figures = load_reported(Path(__file__).resolve().parents[2] / "leaderboard")
    got = {(f.method, f.env): round(100 * f.success_rate, 1) for f in figures}
    assert got == {("SERL", "alfworld"): 90.0, ("SERL", "webshop"): 80.1, ("GiGPO", "alfworld"): 90.8,
                   ("GiGPO", "webshop"): 75.2, ("GRPO", "alfworld"): 77.6, ("GRPO", "webshop"): 66.1}
    assert all(f.source and f.setting and f.model for f in figures)


def test_reported_figures_never_enter_the_measured_tables(eval_runs, tmp_path):
    (tmp_path / "reported.json").write_text(json.dumps([
        {"method": "Paper", "env": "alfworld", "success_rate": 0.99, "model": "7B", "setting": "s", "source": "x"}]))
    submit(eval_runs["random"], tmp_path)
    readme, page = render(tmp_path)
    measured, reported = readme.read_text().split("## Reported elsewhere (not measured here)")
    assert "Paper" not in measured and "| Paper | alfworld | 99.0 | not reported | 7B | s | x |" in reported
    data = json.loads(re.search(r'id="board-data" type="application/json">(.*?)</script>', page.read_text(),
                                re.S).group(1))
    assert [r["method"] for r in data["measured"]] == ["random"] and data["reported"][0]["method"] == "Paper"


def test_an_empty_board_renders(tmp_path):
    readme, page = render(tmp_path)
    assert "*No submissions yet.*" in readme.read_text() and page.exists()


def test_hostile_text_is_inert_in_markdown_and_html(eval_runs):
    from serl_bench.leaderboard import validate

    record = validate(eval_runs["expert"])
    evil = "</script><script>alert(1)</script> | <img src=x onerror=alert(2)> &amp;\n# heading"
    data = record.model_dump(mode="json")
    hostile = type(record).model_validate({**data, "model": {"name": evil, "source": "local", "parameters": 1,
                                                             "dtype": None, "origin": None}})
    row = rows([("x.json", hostile)])
    md = markdown(row, [])
    line = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "<script>" not in md and "<img" not in md and "\\|" in line and "\n# heading" not in md
    page = html_page(row, [])
    assert page.count("</script>") == 2  # the page's own two script elements, nothing from the data
    assert "<img src=x" not in page and "\\u003c/script\\u003e" in page
