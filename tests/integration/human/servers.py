"""Real rating servers for the human-study tests: uvicorn in a thread, or `medspec bench human serve` as a process."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from medspec.bench.human.app import server_config
from medspec.bench.human.study import Study, Unit
from medspec.rubric import default_criteria


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def thread_server(folder: Path) -> Iterator[str]:
    """Serve the study with the settings of `serve` in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(server_config(folder, port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def start_process(folder: Path, port: int) -> subprocess.Popen:
    """`medspec bench human serve` in its own process, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "medspec.cli", "bench", "human", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)


def synthetic_study(folder: Path, units: int, *, mode: str = "pairwise") -> Study:
    """A study of `units` made-up units, for load tests."""
    size = 2 if mode == "pairwise" else 1
    made = [
        Unit(f"U{i:03d}", "qa", f"q{i}", f"第{i}题：丙泊酚的诱导剂量？", "1.5-2.5 mg/kg",
             ("ours", "base")[:size], ("1.5-2.5 mg/kg，缓慢静注。", "多喝水。")[:size])
        for i in range(units)
    ]  # fmt: skip
    study = Study(mode=mode, criteria=default_criteria(), units=made)
    study.save(folder)
    return study
