"""The Python examples of the README and the docs run as written (each file's blocks in order, as one script).

Slow: they build ALFWorld games (two per task type) and the WebShop catalog in a fresh cache, as a user's
first try would."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the files whose examples run here (docs/training.md's train a model: the training tests cover them)
FILES = ["README.md", "docs/environments.md", "docs/feedback.md", "docs/scaling.md"]


def python_blocks(path: Path) -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S))


def test_every_listed_file_has_examples():
    assert all(python_blocks(ROOT / f).strip() for f in FILES)


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_the_examples_run(name, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(python_blocks(ROOT / name))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, f"{name}'s examples fail:\n{done.stderr[-3000:]}"
