"""YAML loading that remembers line numbers, so config errors can name them.

``yaml.safe_load`` alone forgets where a value came from and silently keeps the
last of two duplicate keys. The loader here builds the same plain Python values
(through the safe constructors only) but returns mappings and sequences that
carry the line of every key and item, and refuses duplicate keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from smartrestart.errors import ConfigError, Location

MAX_RULES_FILE_BYTES = 1024 * 1024

try:  # libyaml's parser, when PyYAML was built with it (Debian's is)
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python PyYAML
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class YamlMap(dict[Any, Any]):
    """A mapping that knows the line of itself and of each of its keys."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.key_locations: dict[Any, Location] = {}

    def location_of(self, key: Any) -> Location:
        return self.key_locations.get(key, self.location)


class YamlList(list[Any]):
    """A sequence that knows the line of itself and of each item."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.item_locations: list[Location] = []

    def location_of(self, index: int) -> Location:
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.location


class _LocatingLoader(_BaseLoader):
    source: Path


def _location(loader: _LocatingLoader, node: yaml.Node) -> Location:
    return Location(loader.source, node.start_mark.line + 1)


def _construct_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    result = YamlMap(_location(loader, node))
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        where = _location(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise ConfigError(where, "", "a mapping key must be a plain value") from None
        if key in result:
            first = result.key_locations[key]
            raise ConfigError(
                where, str(key), f"duplicate key (first defined at line {first.line})"
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = where
    return result


def _construct_sequence(loader: _LocatingLoader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(_location(loader, node))
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_locations.append(_location(loader, item))
    return result


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml_file(path: Path) -> Any:
    """Load ``path`` with safe constructors only; every failure is a ConfigError."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_RULES_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(Location(path), "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_RULES_FILE_BYTES:
        raise ConfigError(
            Location(path),
            "",
            f"file is larger than {MAX_RULES_FILE_BYTES} bytes; refusing to load",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(Location(path), "", f"not UTF-8 text ({exc.reason})") from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, source: Path) -> Any:
    """Load YAML ``text`` as if read from ``source``."""
    loader = _LocatingLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(Location(source, line), "", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(Location(source), "", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
