"""YAML loading that remembers line numbers, so config errors can name them.

``yaml.safe_load`` alone forgets where a value came from and silently keeps the
last of two duplicate keys. The loader here builds the same plain Python values
(through the safe constructors only) but returns mappings and sequences that
carry the line of every key and item, and refuses duplicate keys (a merge key,
``<<: *base``, may still be overridden: that is what it is for).

Nesting is checked on the parser's event stream before anything is composed:
libyaml's composer recurses in C, and a 60 KB file of 30,000 ``[`` overflows
the stack (a segmentation fault, not an exception); a few hundred levels hit
Python's recursion limit in the constructor.
"""

from __future__ import annotations

from typing import Any

import yaml

from smartrestart.errors import ConfigError, Location
from smartrestart.regularfile import read_regular

MAX_RULES_FILE_BYTES = 1024 * 1024
# Deeper than any rules file needs (they nest four or five levels), far below
# what the composer and constructor can take.
MAX_NESTING = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"

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
    source: str


def _location(loader: _LocatingLoader, node: yaml.Node) -> Location:
    return Location(loader.source, node.start_mark.line + 1)


def _construct_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> YamlMap:
    # flatten_mapping() puts the merged entries first (later merges win, as
    # the YAML spec's merge-key order requires), then the mapping's own keys.
    own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    merged = len(node.value) - own
    result = YamlMap(_location(loader, node))
    written_here: set[Any] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        where = _location(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise ConfigError(where, "", "a mapping key must be a plain value") from None
        if index >= merged:
            if key in written_here:
                first = result.key_locations[key]
                raise ConfigError(
                    where, str(key), f"duplicate key (first defined at line {first.line})"
                )
            written_here.add(key)
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


def load_yaml_file(path: str) -> Any:
    """Load ``path`` with safe constructors only; every failure is a ConfigError."""
    try:
        raw = read_regular(path, MAX_RULES_FILE_BYTES)
    except OSError as exc:
        reason = getattr(exc, "reason", None)
        if reason is not None and reason.startswith("larger"):
            reason = f"file is {reason}; refusing to load"
        elif reason is None:
            reason = f"cannot read: {exc.strerror or exc}"
        raise ConfigError(Location(path), "", reason) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(Location(path), "", f"not UTF-8 text ({exc.reason})") from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, source: str) -> Any:
    """Load YAML ``text`` as if read from ``source``."""
    _check_nesting(text, source)
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


def _check_nesting(text: str, source: str) -> None:
    """Refuse collections nested deeper than :data:`MAX_NESTING`, from parser events.

    Syntax errors are left to the loader, which reports them with their line;
    libyaml's own limit (1000 flow levels, in its scanner) is reported here.
    """
    depth = 0
    too_deep = f"YAML nested deeper than {MAX_NESTING} levels; refusing to load"
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    raise ConfigError(Location(source, line), "", too_deep)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):
            line = exc.problem_mark.line + 1 if exc.problem_mark else 0
            raise ConfigError(Location(source, line), "", too_deep) from None
