"""Selecting records by a field or a kept source field: ``level=3``, ``_meta.core=true``, ``subject!=anatomy``.

A condition names a record field (``id``, ``type``, ``tags``, ``source``) or a key the source format kept in the
record's ``meta`` (``level``, ``cate1``, ``exam_class``; dotted for nested objects: ``_meta.core``), and a value
compared as text: ``true``/``false`` match booleans, ``3`` matches ``3`` and ``3.0``, and a list matches when any
element does.

Example:
    >>> from medspec.data.schema import ChoiceQuestion
    >>> record = ChoiceQuestion(id="q1", question="题", options={"A": "甲", "B": "乙"}, answer=("A",),
    ...                         meta={"level": 3, "_meta": {"core": True}})
    >>> [c.matches(record) for c in parse_where(["level=3", "_meta.core=true", "level!=3"])]
    [True, True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medspec.data.schema import Record
from medspec.errors import ConfigError

__all__ = ["Condition", "field_values", "parse_where"]

_RECORD_FIELDS = {"id", "tags"}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_values(record: Record, field: str) -> list[str]:
    """The values of a record field or kept source field (dotted for nested keys), as text; empty when absent.

    Example:
        >>> from medspec.data.schema import Instruction
        >>> field_values(Instruction(id="1", instruction="问", output="答", meta={"cate1": "麻醉科"}), "cate1")
        ['麻醉科']
    """
    head, *rest = field.split(".")
    if not rest and head == "type":
        found: Any = record.type_name
    elif not rest and head == "source":
        found = record.provenance.source
    elif not rest and head in _RECORD_FIELDS:
        found = getattr(record, head)
    else:
        found = record.meta
        for key in rest if head == "meta" else [head, *rest]:
            if not isinstance(found, dict) or key not in found:
                return []
            found = found[key]
    values = list(found) if isinstance(found, list | tuple | set) else [found]
    return [_as_text(value) for value in values if value is not None]


@dataclass(frozen=True)
class Condition:
    """One ``FIELD=VALUE`` (or ``FIELD!=VALUE``) condition.

    Attributes:
        field: The field (dotted for nested keys).
        value: The value, as text.
        negate: True for ``!=``.
    """

    field: str
    value: str
    negate: bool = False

    def matches(self, record: Record) -> bool:
        """True when the record's field has the value (or, for ``!=``, does not)."""
        return (self.value in field_values(record, self.field)) != self.negate


def parse_where(conditions: Sequence[str]) -> tuple[Condition, ...]:
    """Parse ``FIELD=VALUE`` and ``FIELD!=VALUE`` conditions; a record is selected when it meets them all.

    Raises:
        ConfigError: For a condition without ``=`` or without a field name.
    """
    parsed = []
    for text in conditions:
        field, sep, value = text.partition("=")
        negate = field.endswith("!")
        field = field.removesuffix("!").strip()
        if not sep or not field:
            raise ConfigError("where", f"expected FIELD=VALUE or FIELD!=VALUE, got {text!r}")
        parsed.append(Condition(field, value.strip(), negate))
    return tuple(parsed)
