"""YAML configs as typed dataclasses.

:func:`from_dict` builds a (nested) dataclass from plain data, checking every value against the field's type and
rejecting unknown keys; errors name the key path (``training.stages[1].lr``) and, when known, the file. Dataclasses
validate their own invariants in ``__post_init__`` by raising :class:`~medspec.errors.ConfigError` with the field
name, and the path is prefixed here. :func:`apply_overrides` applies command-line ``key.path=value`` overrides.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Optim:
    ...     lr: float = 1e-4
    ...     epochs: int = 1
    >>> from_dict(Optim, apply_overrides({"epochs": 2}, ["lr=3e-5"]))
    Optim(lr=3e-05, epochs=2)
    >>> from_dict(Optim, {"epochs": "two"})
    Traceback (most recent call last):
    ...
    medspec.errors.ConfigError: key 'epochs': expected an integer, got 'two'
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from medspec.errors import ConfigError

__all__ = ["apply_overrides", "from_dict", "load_yaml", "to_dict"]

T = TypeVar("T")
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("", "config file not found", source=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError("", f"{where}invalid YAML: {getattr(exc, 'problem', exc)}", source=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("", f"expected a mapping at the top level, got {type(data).__name__}", source=path)
    return data


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, path)
            except ConfigError as exc:
                errors.append(exc.message)
        raise ConfigError(path, " or ".join(errors))
    if origin is Literal:
        if value not in args:
            raise ConfigError(path, f"expected one of {list(args)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path=path)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"expected a list, got {type(value).__name__} {value!r}")
        item_type = args[0] if args else Any
        items = [_convert(v, item_type, _join(path, i)) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a mapping, got {type(value).__name__} {value!r}")
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, value_type, _join(path, str(k))) for k, v in value.items()}
    return _scalar(value, tp, path)


def _scalar(value: Any, tp: Any, path: str) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if tp is float:
        number = _float_or_none(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return float(number)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(path, f"expected a path, got {value!r}")
        return Path(value)
    raise ConfigError(path, f"unsupported config type {_describe(tp)}")


def _float_or_none(text: str) -> float | None:
    # PyYAML follows YAML 1.1, where "2e-5" (no dot) is a string; accept it as the number everyone means.
    try:
        return float(text)
    except ValueError:
        return None


def from_dict(cls: type[T], data: Any, *, path: str = "", source: str | Path | None = None) -> T:
    """Build dataclass ``cls`` from plain data, validating types and rejecting unknown keys.

    Args:
        cls: A dataclass type; nested dataclass fields are built recursively.
        data: A mapping (usually parsed YAML).
        path: Key path of ``data`` inside the whole config, for error messages.
        source: The file the data came from, for error messages.

    Returns:
        The dataclass instance.

    Raises:
        ConfigError: Naming the key path of the first problem.
    """
    try:
        return _from_dict(cls, data, path)
    except ConfigError as exc:
        if source is not None and exc.source is None:
            raise ConfigError(exc.key, exc.message, source=source) from None
        raise


def _from_dict(cls: type[T], data: Any, path: str) -> T:
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(map(str, data)) - set(fields))
    if unknown:
        raise ConfigError(_join(path, unknown[0]), f"unknown key; known keys: {', '.join(sorted(fields))}")
    values = {}
    for name, spec in fields.items():
        if name in data:
            values[name] = _convert(data[name], hints[name], _join(path, name))
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(_join(path, name), "missing; this key is required")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(_join(path, exc.key) if exc.key else path, exc.message) from None


def to_dict(obj: Any) -> Any:
    """Turn a (nested) dataclass into plain YAML-ready data, paths as strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``key.path=value`` overrides applied.

    Values are parsed as YAML (``1e-4`` is a number, ``[a, b]`` a list, ``null`` None). List items are addressed
    as ``stages[1].lr``. Missing intermediate mappings are created; the result is validated by :func:`from_dict`.

    Raises:
        ConfigError: For an override without ``=`` or an index past the end of a list.
    """
    result = copy.deepcopy(data)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(override, "override must look like key.path=value")
        value = yaml.safe_load(raw) if raw.strip() else ""
        _set(result, key.strip().split("."), value, key.strip())
    return result


def _set(node: Any, parts: list[str], value: Any, full_key: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        match = _INDEX.match(part)
        name, index = (match.group(1), int(match.group(2))) if match else (part, None)
        if name:
            if not isinstance(node, dict):
                raise ConfigError(full_key, f"'{name}' is not inside a mapping")
            if last and index is None:
                node[name] = value
                return
            node = node.setdefault(name, [] if index is not None else {})
        if index is not None:
            if not isinstance(node, list) or index >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ConfigError(full_key, f"index {index} is past the end of a list of {size}")
            if last:
                node[index] = value
                return
            node = node[index]
