"""Run every benchmark script in this folder and write one summary table.

Each script prints its own table and writes ``benchmarks/results/<name>.json``; this runner collects the JSON files
into ``benchmarks/results/SUMMARY.md``. Usage: ``python benchmarks/run_all.py [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
HELPERS = {Path(__file__).name, "tiny_llama.py", "latency_server.py"}  # modules the benchmarks import


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="script names without .py")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in HELPERS)
    if args.only:
        scripts = [p for p in scripts if p.stem in args.only]
    rows = ["| benchmark | status | seconds | headline |", "|---|---|---:|---|"]
    failed = 0
    for script in scripts:
        start = time.perf_counter()
        status = subprocess.run([sys.executable, str(script)], check=False).returncode
        seconds = time.perf_counter() - start
        result_file = RESULTS / f"{script.stem}.json"
        headline = json.loads(result_file.read_text()).get("headline", "") if result_file.exists() else ""
        rows.append(f"| {script.stem} | {'ok' if status == 0 else f'exit {status}'} | {seconds:.0f} | {headline} |")
        failed += status != 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "SUMMARY.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
