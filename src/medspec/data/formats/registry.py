"""The registry of source data formats: what a format is, how one is found for a row, and how users add theirs.

Example:
    >>> detect_format({"question": "腰麻后头痛的特点是什么？", "answer": "直立时加重，平卧后缓解。"})
    'qa'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from medspec.data.schema import Record

__all__ = ["FORMATS", "ConvertOptions", "DataFormat", "Language", "detect_format", "register_format"]

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class ConvertOptions:
    """What a converter may need beyond the row.

    Attributes:
        allow_empty: Text fields that may be empty (raw generated candidates that cleaning rules will judge).
        language: The language to take from a bilingual source (AnesBench's ``zh_*`` or ``en_*`` fields).
        source: The file's stem, for formats that keep meaning in the file name (a CMMLU subject).
    """

    allow_empty: frozenset[str] = frozenset()
    language: Language = "zh"
    source: str = ""


@dataclass(frozen=True)
class DataFormat:
    """A source data format.

    Attributes:
        name: The name users pass as ``--format``.
        signature: Returns True when a row is in this format (checks keys only, so that a broken row of a known
            format is still recognised and gets a precise error).
        convert: Builds a record from a row, the id to use when the row has none, and the options; raises
            :class:`~medspec.data.schema.RecordProblems` with field names as the source spells them.
        description: One line for ``medspec validate --help`` and the docs.
        fields: The keys the converter reads. Every other non-empty key of a row is kept in the record's ``meta``
            (categories, levels, sources), so a benchmark can select and break down by it.
        keep_extra: False for a format whose converter validates every key itself (medspec's own records).
    """

    name: str
    signature: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any], str, ConvertOptions], Record]
    description: str = ""
    fields: frozenset[str] = field(default_factory=frozenset)
    keep_extra: bool = True


FORMATS: dict[str, DataFormat] = {}


def register_format(data_format: DataFormat) -> DataFormat:
    """Add a data format; it is tried after the built-in ones during detection.

    Raises:
        ValueError: When the name is taken or empty.
    """
    if not data_format.name or data_format.name in FORMATS:
        raise ValueError(f"format name {data_format.name!r} is empty or already registered; known: {sorted(FORMATS)}")
    FORMATS[data_format.name] = data_format
    return data_format


def detect_format(row: dict[str, Any]) -> str | None:
    """Return the name of the first format whose signature matches the row, or ``None``."""
    for data_format in FORMATS.values():
        if data_format.signature(row):
            return data_format.name
    return None
