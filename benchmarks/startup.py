"""How fast the command line answers: `medspec --version` and `validate` against Python and torch start-up.

Each command runs in a fresh process ``--repeats`` times (median wall time); ``import torch`` is the scale of what
the light commands avoid. Targets: ``medspec --version`` under 0.5 s, ``validate`` of a 1,000-line file under 1.5 s.
Usage: ``python benchmarks/startup.py [--repeats 5]``; writes ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MEDSPEC = [sys.executable, "-m", "medspec.cli"]
TARGETS = {"medspec --version": 0.5, "medspec validate (1,000 lines)": 1.5}


def _sample_file(folder: Path) -> Path:
    path = folder / "instructions.jsonl"
    lines = (
        json.dumps(
            {
                "instruction": f"第{i}题：全麻诱导前应评估哪些气道指标？",
                "input": "",
                "output": "张口度、甲颏距离、Mallampati分级和颈部活动度。",
            },
            ensure_ascii=False,
        )
        for i in range(1000)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sample = _sample_file(Path(folder))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import medspec": [sys.executable, "-c", "import medspec"],
            "medspec --version": [*MEDSPEC, "--version"],
            "medspec validate (1,000 lines)": [*MEDSPEC, "validate", str(sample)],
            "import torch (for scale)": [sys.executable, "-c", "import torch"],
        }
        rows = [
            {"command": name, "seconds": round(_median_seconds(cmd, args.repeats), 3)} for name, cmd in commands.items()
        ]
    for row in rows:
        target = TARGETS.get(row["command"])
        row["target_s"] = target
        row["target_met"] = None if target is None else row["seconds"] < target
    print("| command | median s | target |\n|---|---:|---|")
    for row in rows:
        target = "" if row["target_s"] is None else f"< {row['target_s']} s: {'met' if row['target_met'] else 'missed'}"
        print(f"| {row['command']} | {row['seconds']:.3f} | {target} |")
    version, validate, torch = (rows[i]["seconds"] for i in (2, 3, 4))
    headline = f"medspec --version {version:.2f} s, validate 1,000 lines {validate:.2f} s; import torch {torch:.2f} s"
    RESULTS.mkdir(exist_ok=True)
    result = {"headline": headline, "repeats": args.repeats, "cpu_count": os.cpu_count(), "rows": rows}
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
