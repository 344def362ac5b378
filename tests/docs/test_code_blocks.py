"""Every Python block in README.md and docs/*.md runs, in order, one namespace per file, in a fresh folder.

A document's blocks run as a reader would run them in one notebook. What the reader brings is prepared first: the
files a block names (written in the published shapes, from the project's own items), a small model where a block
names a model folder of the reader's, and two benchmark runs. API addresses point at a local fake server that
speaks the OpenAI and Anthropic formats (no test leaves loopback). Where a person acts between two blocks (a rater
fills a sheet), a hook does it. Blocks that load the demo model are marked slow and still run in CI.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.docs.readers import READERS, Reader

ROOT = Path(__file__).parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.M | re.S)


def python_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """(line, code) of each Python block."""
    text = path.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        yield text.count("\n", 0, match.start()) + 2, match.group(1)


def _cases() -> list:
    cases = []
    for path in DOCUMENTS:
        name = path.relative_to(ROOT).as_posix()
        if not any(python_blocks(path)):
            continue
        reader = READERS.get(name, Reader())
        cases.append(pytest.param(name, reader, id=name, marks=[pytest.mark.slow] if reader.slow else []))
    return cases


@pytest.mark.parametrize(("name", "reader"), _cases())
def test_python_blocks_run(name, reader, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs:{name}"}
    with ExitStack() as stack:
        replacements = reader.prepare(tmp_path, stack, monkeypatch) if reader.prepare is not None else {}
        for index, (line, code) in enumerate(python_blocks(ROOT / name)):
            if index in reader.between:
                reader.between[index](tmp_path)
            for address, local in replacements.items():
                code = code.replace(address, local)
            try:
                exec(compile(textwrap.dedent(code), f"{name}:{line}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"{name}, the block at line {line}, raised {exc!r}") from exc
