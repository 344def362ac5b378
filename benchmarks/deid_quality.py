"""De-identification quality on the two labelled synthetic note sets in tests/assets/deid/.

``labelled_notes.txt`` was used while the rules were written; ``heldout_notes.txt`` was written separately by an
author who never saw the rules or the first set. Prints recall (a gold span counts as found when predicted spans
cover 80% of it), typed recall and precision, overall and per span type, and writes
``benchmarks/results/deid_quality.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from medspec.data.privacy import Deidentifier, Span, parse_labelled, score_spans

ROOT = Path(__file__).parents[1]
DEID = ROOT / "tests" / "assets" / "deid"
SETS = ("labelled_notes.txt", "heldout_notes.txt")
RESULTS = Path(__file__).parent / "results"


def evaluate(path: Path) -> dict:
    deidentifier = Deidentifier()
    gold: list[Span] = []
    predicted: list[Span] = []
    offset = 0
    lines = path.read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    for line in lines:
        text, spans = parse_labelled(line)
        gold += [Span(s.start + offset, s.end + offset, s.type, s.text) for s in spans]
        predicted += [Span(s.start + offset, s.end + offset, s.type, s.text) for s in deidentifier.find(text)]
        offset += len(text) + 1
    return {"notes": len(lines), "seconds": time.perf_counter() - start, **score_spans(gold, predicted)}


def main() -> None:
    results = {name: evaluate(DEID / name) for name in SETS}
    kinds = sorted({k for r in results.values() for k in r["per_type"]})
    print("| type | " + " | ".join(f"{n} spans | recall" for n in SETS) + " |")
    print("|---|" + "---:|---:|" * len(SETS))
    for kind in kinds:
        cells = [f"{r['per_type'][kind]['gold']} | {r['per_type'][kind]['recall']:.3f}" for r in results.values()]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print("| all | " + " | ".join(f"{r['gold']} | {r['recall']:.3f}" for r in results.values()) + " |")
    print("| precision | " + " | ".join(f" | {r['precision']:.3f}" for r in results.values()) + " |")
    RESULTS.mkdir(exist_ok=True)
    held = results["heldout_notes.txt"]
    headline = f"held-out recall {held['recall']:.3f}, precision {held['precision']:.3f} on {held['gold']} spans"
    (RESULTS / "deid_quality.json").write_text(json.dumps({"headline": headline, **results}, indent=2), "utf-8")


if __name__ == "__main__":
    main()
