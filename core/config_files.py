"""Reading the YAML/JSON files people write (policies, inventories) and naming their bad fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import InvalidInput


def field_path(location: tuple[Any, ...], root: str) -> str:
    """A Pydantic error location as a path under `root`, e.g. `policy.avoid[3].phrase`."""
    path = root
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def read_yaml_file(path: Path) -> Any:
    """The parsed content of a YAML (or JSON) file; InvalidInput naming FILE otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InvalidInput(f"cannot read {path}: {reason}", field="FILE") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"not valid YAML or JSON: {str(exc).splitlines()[0]}",
            field="FILE",
            fix="check the indentation and quoting around the line named",
        ) from None
