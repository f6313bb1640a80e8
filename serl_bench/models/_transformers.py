"""transformers, imported quietly: its own loading bars and the hub's are off, ours are the ones users see.

Every place that loads a model goes through :func:`auto_classes`, so a run's console shows serl-bench's
progress bars and lines only ("Loading weights: 100%|...| 272/272" from transformers used to interleave
with them even under ``--no-progress``).
"""

from __future__ import annotations

from typing import Any


def auto_classes() -> tuple[Any, Any]:
    """``(AutoModelForCausalLM, AutoTokenizer)`` with transformers' and huggingface_hub's progress bars off."""
    import huggingface_hub.utils
    import transformers

    transformers.utils.logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()
    return transformers.AutoModelForCausalLM, transformers.AutoTokenizer
