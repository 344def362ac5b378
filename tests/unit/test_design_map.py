"""docs/design.md's package map says exactly what each part of medspec imports, and no import runs back up."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "medspec"


def imports_by_unit() -> dict[str, set[str]]:
    """Each package folder or top-level module, with the other units it imports (at any depth, lazily too)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        unit = parts[0] if len(parts) > 1 else path.stem
        if unit == "__init__":
            continue
        found[unit]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("medspec.") and name.split(".")[1] != unit:
                    found[unit].add(name.split(".")[1])
    return found


def documented_map() -> list[tuple[str, set[str]]]:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8").split("## Package map", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \|([^|]*)\|$", text, flags=re.M)
    return [(unit, {name.strip() for name in imports.split(",") if name.strip()}) for unit, imports in rows]


def test_the_map_lists_every_unit_with_exactly_its_imports():
    documented, actual = documented_map(), imports_by_unit()
    assert sorted(unit for unit, _ in documented) == sorted(actual)
    for unit, imports in documented:
        assert imports == actual[unit], unit


def test_every_unit_imports_only_units_listed_above_it():
    order = [unit for unit, _ in documented_map()]
    for position, (unit, imports) in enumerate(documented_map()):
        assert imports <= set(order[:position]), unit
