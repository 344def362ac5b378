"""Run directories: one folder per run that records everything and lets the same command resume.

A run directory holds the resolved config (``config.yaml``), the library and package versions
(``environment.json``), the SHA-256 of every input file (``inputs.json``), one sub-folder per step, a log
(``run.log``) and ``manifest.json``, which says which steps are complete and what they produced. Running the same
command again skips complete steps; a changed config or input is refused with the difference named, so results from
different settings never mix. Under ``torchrun`` every process runs the steps, and only rank 0 writes these files.

Example:
    >>> import tempfile
    >>> run = RunDirectory(tempfile.mkdtemp(), config={"seed": 0})
    >>> run.run_step("count", lambda folder: {"items": 3})
    {'items': 3}
    >>> run.run_step("count", lambda folder: {"items": 99})  # complete: not run again
    {'items': 3}
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from medspec.distributed import is_main_process
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError

__all__ = ["RunDirectory", "file_sha256"]

logger = logging.getLogger(__name__)

_PACKAGES = (
    "medspec",
    "torch",
    "transformers",
    "peft",
    "tokenizers",
    "sentencepiece",
    "datasets",
    "evaluate",
    "jieba",
    "nltk",
    "rouge-chinese",
    "accelerate",
    "trl",
)


def file_sha256(path: str | Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(2**20):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{path}.{k}" if path else k)]
    return [] if old == new else [f"{path or '(root)'}: {old!r} -> {new!r}"]


class RunDirectory:
    """A folder that records one run and resumes it.

    Args:
        root: The folder; created when missing.
        config: The resolved config as plain data (see :func:`medspec.config.to_dict`).
        inputs: Input files whose content the run depends on; their hashes are recorded and checked on resume.

    Raises:
        ConfigError: When the folder holds a run with another config or other inputs.
    """

    def __init__(self, root: str | Path, *, config: dict[str, Any], inputs: Iterable[str | Path] = ()) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.inputs = {str(p): file_sha256(p) for p in inputs}
        self.manifest_path = self.root / "manifest.json"
        self._main = is_main_process()
        if self._main:
            self._attach_log()
        if self.manifest_path.exists() and (self.root / "config.yaml").exists():
            self.manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            self._check_same_run()
            logger.info("resuming run in %s", self.root)
        else:
            self.manifest = {"created": _now(), "steps": {}}
            if self._main:
                atomic_write_text(
                    self.root / "config.yaml", yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
                )
                atomic_write_text(self.root / "inputs.json", json.dumps(self.inputs, indent=2, ensure_ascii=False))
                self._save()
        if self._main:
            atomic_write_text(self.root / "environment.json", json.dumps(_versions(), indent=2))

    def _attach_log(self) -> None:
        log_path = str((self.root / "run.log").resolve())
        package_logger = logging.getLogger("medspec")
        if not any(getattr(h, "baseFilename", None) == log_path for h in package_logger.handlers):
            handler = logging.FileHandler(log_path, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            package_logger.addHandler(handler)
            if package_logger.level == logging.NOTSET or package_logger.level > logging.INFO:
                package_logger.setLevel(logging.INFO)

    def _check_same_run(self) -> None:
        recorded_config = yaml.safe_load((self.root / "config.yaml").read_text(encoding="utf-8")) or {}
        changes = _differences(recorded_config, json.loads(json.dumps(self.config)))
        if changes:
            raise ConfigError(
                "",
                f"{self.root} holds a run with another config ({'; '.join(changes[:5])}); "
                "use a new output folder, or delete this one to start over",
            )
        recorded_inputs = json.loads((self.root / "inputs.json").read_text(encoding="utf-8"))
        changed = [p for p in set(recorded_inputs) | set(self.inputs) if recorded_inputs.get(p) != self.inputs.get(p)]
        if changed:
            raise ConfigError(
                "",
                f"{self.root} holds a run over other input files (changed: {', '.join(sorted(changed))}"
                "); use a new output folder, or delete this one to start over",
            )

    def _save(self) -> None:
        if self._main:
            atomic_write_text(self.manifest_path, json.dumps(self.manifest, indent=2, ensure_ascii=False))

    def step_dir(self, step: str) -> Path:
        """Return (creating it) the folder of a step's outputs."""
        folder = self.root / step
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def is_complete(self, step: str) -> bool:
        """True when the step finished in this or an earlier invocation."""
        return self.manifest["steps"].get(step, {}).get("status") == "complete"

    def outputs(self, step: str) -> dict[str, Any]:
        """Return what a complete step recorded."""
        if not self.is_complete(step):
            raise KeyError(f"step {step!r} is not complete in {self.root}")
        return self.manifest["steps"][step]["outputs"]

    def reopen(self, *steps: str) -> None:
        """Mark complete steps as to be run again (their folders stay, so a step can resume from what it has).

        A step that finished with work still to do (requests that failed in transport, say) reopens itself and
        the steps that read its outputs, and the same command then retries only what is missing.
        """
        for step in steps:
            if self.is_complete(step):
                self.manifest["steps"][step]["status"] = "reopened"
                logger.info("step %s: reopened", step)
        self._save()

    def run_step(self, step: str, work: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Run ``work(step_folder)`` unless the step is complete, and record what it returns.

        Args:
            step: The step's name, also its folder's name.
            work: Does the step and returns a JSON-ready summary of its outputs. It may resume from partial
                results that an interrupted earlier attempt left in the folder.

        Returns:
            The step's outputs, fresh or recorded.
        """
        if self.is_complete(step):
            logger.info("step %s: complete, skipped", step)
            return self.outputs(step)
        entry = self.manifest["steps"].setdefault(step, {})
        entry.update(status="running", started=_now())
        self._save()
        logger.info("step %s: started", step)
        outputs = work(self.step_dir(step))
        entry.update(status="complete", finished=_now(), outputs=outputs)
        self._save()
        logger.info("step %s: complete", step)
        return outputs
