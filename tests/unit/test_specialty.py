"""The bundled specialties load, and every bundled data file is valid."""

from __future__ import annotations

import pytest

from medspec.data.io import RecordReader
from medspec.errors import ConfigError
from medspec.specialty import list_specialties, load_specialty


def test_builtin_specialties():
    assert {"anesthesiology", "pediatrics"} <= set(list_specialties())


@pytest.mark.parametrize("name", ["anesthesiology", "pediatrics"])
def test_every_bundled_file_is_valid(name):
    specialty = load_specialty(name)
    assert specialty.lexicon_terms()
    for key, path in specialty.files().items():
        if path.suffix == ".txt" and key != "data.corpus[0]":
            continue
        allow_empty = frozenset({"output"}) if key.startswith("data.candidates") else frozenset()
        reader = RecordReader(path, allow_empty=allow_empty)
        records = list(reader)
        assert not reader.errors, [e.describe() for e in reader.errors[:5]]
        assert records, key


def test_unknown_specialty_lists_the_known_ones():
    with pytest.raises(ConfigError, match="anesthesiology"):
        load_specialty("cardiology-does-not-exist")


def test_user_specialty_folder(tmp_path):
    (tmp_path / "bench.jsonl").write_text(
        '{"type": "instruction", "id": "1", "instruction": "问", "output": "答"}\n', encoding="utf-8"
    )
    (tmp_path / "config.yaml").write_text(
        "name: cardiology\ntitle: 心血管\nbenchmark:\n  - {name: q, kind: qa, file: bench.jsonl}\n", encoding="utf-8"
    )
    specialty = load_specialty(tmp_path)
    assert specialty.benchmark[0].file == tmp_path / "bench.jsonl"
    assert specialty.root == tmp_path
    (tmp_path / "config.yaml").write_text("name: c\ntitle: t\nlexicon: missing.txt\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'lexicon': file not found"):
        load_specialty(tmp_path)
