"""Checkpoint files: the weights, the network's configuration, training state for resuming, and
the model's measured skill (written by `models.evaluate`), in one torch file.

Files are loaded with `weights_only=True`: a checkpoint holds tensors and plain data, never
pickled code, so opening one from elsewhere cannot run anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.errors import DataError, InputError
from core.paths import resources_dir

FORMAT = 1
DEFAULT_NAME = "predictor-default.pt"


def default_checkpoint() -> Path:
    """The shipped model (trained on the bundled data only)."""
    return resources_dir() / "models" / DEFAULT_NAME


def save(path: Path, payload: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename): a crash mid-save never leaves a torn checkpoint."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **payload}, tmp)
    os.replace(tmp, path)
    return path


def load(path: str | Path | None = None) -> dict[str, Any]:
    import torch

    p = Path(path) if path is not None else default_checkpoint()
    if not p.is_file():
        raise InputError("checkpoint", f"{p} does not exist")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise DataError(f"checkpoint: cannot read {p.name}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or "state_dict" not in data:
        raise DataError(f"checkpoint: {p.name} is not a predictor checkpoint (format {FORMAT})")
    return data


def attach_skill(path: Path, skill: dict[str, Any]) -> None:
    """Store an evaluation summary inside the checkpoint so predictions can quote it."""
    data = load(path)
    data["skill"] = skill
    data.pop("format", None)
    save(path, data)


def attach_path_skill(path: Path, input_path: str, skill: dict[str, Any]) -> None:
    """Store the measured skill of one input path (screenshot, both, …) inside the checkpoint; a
    forecast on a path without an entry says "skill not measured"."""
    data = load(path)
    by_path = dict(data.get("skill_by_path") or {})
    by_path[input_path] = skill
    data["skill_by_path"] = by_path
    data.pop("format", None)
    save(path, data)
