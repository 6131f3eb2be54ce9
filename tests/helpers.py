"""Small helpers shared by unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` (relative path -> dedented content) under ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def write_rules(directory: Path, text: str, name: str = "rules.yaml") -> str:
    """Write a rules file; its path as the rules loaders take it (a ``str``)."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)
