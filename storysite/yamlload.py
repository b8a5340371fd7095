"""PyYAML lives here: parse YAML text and remember on which line each top-level key stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError, Problem


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The fast C loader when present; impossible dates (2025-02-30) stay text for a clear message."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
_SCALARS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "timestamp"))
_SEQUENCE, _MAPPING = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
# What parsed front-matter depends on besides its text: values remembered from another loader are stale.
YAML_ENGINE = f"pyyaml {yaml.__version__} {_Loader.__mro__[1].__name__}"


def load_yaml(text: str, path: Path | str, first_line: int = 1) -> tuple[Any, dict[str, int]]:
    """Parse YAML; return the value and the line of each top-level key.

    `first_line` is the file line the text starts on, so front-matter errors name the real line.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = _constructed(loader, node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else first_line
        what = exc.problem or exc.context or "not valid YAML"
        raise ContentError(
            Problem(path, line, f"invalid YAML: {what}", "check indentation, colons and quotes")
        ) from None
    except yaml.YAMLError as exc:
        raise ContentError(Problem(path, first_line, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines.setdefault(str(key_node.value), first_line + key_node.start_mark.line)
    return data, lines


class _Unusual(Exception):
    """A node the quick construction leaves to PyYAML's."""


def _constructed(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """The document's value, as PyYAML's constructor makes it.

    Plain scalars, lists and mappings (nearly every front-matter) are made here, each scalar by the
    constructor PyYAML would call, in a fraction of the time its general machinery takes; a document
    with anything else (an alias, a merge key, another tag, a key that cannot be one) or that fails
    is made by PyYAML, so that it gives the same value or the same error.
    """
    try:
        return _plain(loader, node, set())
    except Exception:  # noqa: BLE001 (PyYAML's construction below meets it again, or its own first)
        return loader.construct_document(node)


def _plain(loader: yaml.SafeLoader, node: yaml.Node, seen: set[int]) -> Any:
    if id(node) in seen:
        raise _Unusual  # an alias: PyYAML gives the same object twice
    seen.add(id(node))
    tag = node.tag
    if tag in _SCALARS and isinstance(node, yaml.ScalarNode):
        return loader.yaml_constructors[tag](loader, node)
    if tag == _SEQUENCE and isinstance(node, yaml.SequenceNode):
        return [_plain(loader, item, seen) for item in node.value]
    if tag == _MAPPING and isinstance(node, yaml.MappingNode):
        # (A merge key or a "=" key has a tag of its own; a list as a key cannot be one.)
        return {_plain(loader, key, seen): _plain(loader, value, seen) for key, value in node.value}
    raise _Unusual


def dump_yaml(data: Any) -> str:
    """Serialise plain data as block-style YAML, keys in the given order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
