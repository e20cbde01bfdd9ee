"""Reading a TOML settings file (channels.toml, shifts.toml, plan.toml) with errors that name it."""

from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path, error: type[ValueError] = ValueError, label: str | None = None) -> dict:
    """Parse a UTF-8 (optionally BOM-prefixed) TOML file; problems raise ``error`` naming ``label``
    (default: the path as given)."""
    path = Path(path)
    label = label or str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise error(f"{label}: file not found ({path})") from None
    except IsADirectoryError:
        raise error(f"{label}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise error(f"{label}: not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{label}: not valid TOML: {exc}") from None
