"""The data contract: record types, readers and writers, format adapters, de-duplication and de-identification."""

from medspec.data.dedup import Decontaminator, deduplicate
from medspec.data.io import ReadOptions, RecordReader, read_records, write_records
from medspec.data.privacy import Deidentifier
from medspec.data.schema import record_from_dict, record_to_dict

__all__ = [
    "Decontaminator",
    "Deidentifier",
    "ReadOptions",
    "RecordReader",
    "deduplicate",
    "read_records",
    "record_from_dict",
    "record_to_dict",
    "write_records",
]
