"""A judge from a YAML file: any backend CrossFilter can use (OpenAI-compatible, Anthropic, a local model), its
API key from the environment, and the SQLite request cache, so a re-run pays for no reply twice.

The file has a ``backend`` (the fields of :class:`~medspec.llm.registry.BackendConfig`) and, optionally, ``judge``
(the fields of :class:`~medspec.bench.judge.core.JudgeConfig`)::

    backend:
      kind: openai
      model: gpt-4o
      api_key_env: OPENAI_API_KEY
      max_concurrency: 8
    judge:
      max_new_tokens: 512
      include_reference: true

Example:
    >>> setup = JudgeSetup(backend=BackendConfig(kind="openai", model="gpt-4o"))
    >>> setup.backend.display_name, setup.judge.temperature
    ('openai:gpt-4o', 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medspec.bench.judge.core import Judge, JudgeConfig
from medspec.config import from_dict, load_yaml
from medspec.llm.cache import RequestCache
from medspec.llm.registry import BackendConfig, build_backend

__all__ = ["JudgeSetup", "load_judge"]


@dataclass
class JudgeSetup:
    """A judge as a config names it.

    Attributes:
        backend: The judging model and how to reach it.
        judge: How it is asked (rubric, reference shown, reply length, sampling).
    """

    backend: BackendConfig
    judge: JudgeConfig = field(default_factory=JudgeConfig)

    @classmethod
    def load(cls, path: str | Path) -> JudgeSetup:
        """Read a judge YAML file.

        Raises:
            ConfigError: Naming the file and the key at fault.
        """
        return from_dict(cls, load_yaml(path), source=path)

    def build(self, *, cache: str | Path | None = None, log: str | Path | None = None) -> Judge:
        """The judge, its backend's replies kept in the SQLite ``cache`` and its verdicts in the JSONL ``log``."""
        requests = RequestCache(cache) if cache is not None else None
        return Judge(build_backend(self.backend, cache=requests), config=self.judge, log=log)


def load_judge(path: str | Path, *, cache: str | Path | None = None, log: str | Path | None = None) -> Judge:
    """:meth:`JudgeSetup.load` then :meth:`JudgeSetup.build`."""
    return JudgeSetup.load(path).build(cache=cache, log=log)
