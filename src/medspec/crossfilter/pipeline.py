"""CrossFilter: two (or more) models write the data, each judges the others', the weak items go.

Steps, each a folder of a :class:`~medspec.run_dir.RunDirectory` and skipped once complete:

1. ``candidates``: Self-Instruct generation (:mod:`~medspec.crossfilter.self_instruct`), or an existing pool.
2. ``clean``: the cleaning rules (:mod:`~medspec.crossfilter.rules`).
3. ``score``: every item scored by a judge other than its generator (:mod:`~medspec.crossfilter.scoring`).
4. ``audit``: on a sample, every judge scores every generator's items (:mod:`~medspec.crossfilter.audit`).
5. ``filter``: aggregate, threshold, write kept / dropped / unscored items and the report.

Judgements are appended to a log as each chunk completes and every backend sits behind the run's request cache, so
a run killed at any moment resumes where it stopped without paying for an answered request again. Raw scores are
kept: :func:`~medspec.crossfilter.results.refilter` applies another threshold or aggregate without a single request.

Example:
    >>> cf = CrossFilter(CrossFilterConfig(source="pool"), backends={"model_a": a, "model_b": b})  # doctest: +SKIP
    >>> result = cf.run("runs/crossfilter")  # doctest: +SKIP
    >>> len(result.kept), result.report["steps"]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medspec.config import to_dict
from medspec.crossfilter.config import CrossFilterConfig
from medspec.crossfilter.judging import judge_pairs
from medspec.crossfilter.report import generator_of
from medspec.crossfilter.results import (
    CANDIDATE_FIELDS,
    CrossFilterResult,
    finish,
    latest_judgements,
    load_result,
    read_items,
)
from medspec.crossfilter.rules import clean
from medspec.crossfilter.scoring import Judgement, Scorer
from medspec.crossfilter.self_instruct import SelfInstruct
from medspec.data.io import read_records, write_records
from medspec.data.schema import Instruction
from medspec.durable import AppendLog
from medspec.errors import ConfigError, DataError, InvalidDataError
from medspec.llm._http import HttpChatBackend
from medspec.llm.base import ChatBackend, LikelihoodBackend
from medspec.llm.cache import CachedBackend, RequestCache
from medspec.llm.registry import build_backend
from medspec.rubric import Rubric, load_rubric, specialty_rubric
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty, load_specialty

__all__ = ["CrossFilter"]

logger = logging.getLogger(__name__)


def _annotate(record: Instruction, **info: Any) -> Instruction:
    return dataclasses.replace(record, meta=record.meta | {"crossfilter": info})


def _spread(item_id: str, judges: Sequence[str], count: int) -> list[str]:
    """``count`` of ``judges`` for an item, rotated by a stable hash of its id so each judge gets a fair share."""
    start = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % len(judges)
    rotated = [*judges[start:], *judges[:start]]
    return rotated if count == 0 else rotated[:count]


class CrossFilter:
    """Generate (or take) candidates, clean them, have other models score them, keep the good ones.

    Args:
        config: What to do.
        backends: Backend objects by name, used instead of (or beside) those ``config.backends`` describes; handy
            for local models already loaded and for tests.
        specialty: The specialty ``config.specialty`` names, when the caller has already loaded it.

    Raises:
        ConfigError: When a generator or judge names no backend, or when likelihood scoring meets a judge that cannot
            report probabilities (checked before any step runs).
    """

    def __init__(
        self,
        config: CrossFilterConfig,
        *,
        backends: Mapping[str, ChatBackend] | None = None,
        specialty: Specialty | None = None,
    ) -> None:
        self.config = config
        self.specialty = specialty if specialty is not None else load_specialty(config.specialty)
        self.rubric: Rubric = (
            load_rubric(config.scoring.rubric) if config.scoring.rubric else specialty_rubric(self.specialty)
        )
        self.field_name = self.specialty.title.split(" (")[0]
        self._given = dict(backends or {})
        available = sorted(set(config.backends) | set(self._given))
        config.check_names(available)
        self.judges = config.judges or available
        self.generators = config.generators or available
        if not self.judges:
            raise ConfigError("judges", "no judge: describe backends in 'backends' or pass backend objects")
        if config.scoring.mode == "likelihood":
            self._check_likelihood_judges()
        self._ready: dict[str, ChatBackend] = {}
        self._cache: RequestCache | None = None

    def _check_likelihood_judges(self) -> None:
        """Refuse API judges for likelihood scoring before anything is generated or paid for."""
        for judge in self.judges:
            given = self._given.get(judge)
            api = given is None and self.config.backends[judge].kind in ("openai", "anthropic")
            if api or (given is not None and not isinstance(given, LikelihoodBackend)):
                raise ConfigError(
                    "scoring.mode",
                    f"'likelihood' needs judges that expose continuation_logprobs (local transformers models); "
                    f"judge {judge!r} does not: use mode 'generate', or a local judge",
                )

    def _backend(self, name: str) -> ChatBackend:
        if name not in self._ready:
            backend = self._given.get(name)
            if backend is None:
                backend = build_backend(self.config.backends[name], cache=self._cache)
            elif self._cache is not None and isinstance(backend, HttpChatBackend) and backend.cache is None:
                backend = copy.copy(backend)  # the caller's object keeps no reference to this run's cache
                backend.cache = self._cache  # consulted per request, so a kill loses no answered request
            elif self._cache is not None and not isinstance(backend, (HttpChatBackend, CachedBackend)):
                backend = CachedBackend(backend, self._cache)
            self._ready[name] = backend
        return self._ready[name]

    def _inputs(self) -> list[Path]:
        files = [*self._pool_files()] if self.config.source == "pool" else []
        files += [p for p in (self.specialty.seed_tasks, self.specialty.lexicon) if p is not None]
        rubric = self.config.scoring.rubric or self.specialty.root / "rubric.yaml"
        return [*files, rubric] if rubric.is_file() else files

    def _pool_files(self) -> list[Path]:
        files = self.config.pool.files or self.specialty.data.candidates
        if not files:
            raise ConfigError("pool.files", f"no candidate files given and {self.specialty.name} ships none")
        return list(files)

    def run(self, out: str | Path) -> CrossFilterResult:
        """Run, or resume, in run directory ``out``."""
        recorded = to_dict(self.config) | {"backend_objects": {k: b.name for k, b in sorted(self._given.items())}}
        run = RunDirectory(out, config=recorded, inputs=self._inputs())
        self._cache = RequestCache(run.root / "cache.sqlite") if self.config.cache else None
        try:
            return self._steps(run)
        finally:
            if self._cache is not None:
                self._cache.close()
            self._ready.clear()

    def _steps(self, run: RunDirectory) -> CrossFilterResult:
        generation = run.run_step("candidates", self._candidates).get("generation")
        candidates = read_items(run.root / "candidates" / "candidates.jsonl")
        run.run_step("clean", lambda folder: self._clean(folder, candidates))
        kept = read_items(run.root / "clean" / "kept.jsonl")
        self._reopen_failed(run)
        judge_generator = run.run_step("score", lambda folder: self._score(folder, kept))["judge_generator"]
        run.run_step("audit", lambda folder: self._audit(folder, kept, run.root / "score" / "judgements.jsonl"))

        def filter_step(folder: Path) -> dict[str, Any]:
            result = finish(
                run.root,
                folder,
                rubric=self.rubric,
                scoring=self.config.scoring,
                enabled_rules=self.config.rules.enabled,
                judge_generator=judge_generator,
                generation=generation,
            )
            return {"kept": len(result.kept), "dropped": len(result.dropped), "unscored": len(result.unscored)}

        run.run_step("filter", filter_step)
        return load_result(run.root / "filter")

    @staticmethod
    def _reopen_failed(run: RunDirectory) -> None:
        """Run the judging steps again when some of their requests failed in transport: the failures are retried."""
        for step, after in (("score", ("score", "audit", "filter")), ("audit", ("audit", "filter"))):
            failed = run.outputs(step).get("failed", 0) if run.is_complete(step) else 0
            if failed:
                logger.warning("%s: retrying %d judgements whose requests failed", step, failed)
                run.reopen(*after)
                return

    def _candidates(self, folder: Path) -> dict[str, Any]:
        if self.config.source == "pool":
            records = self._read_pool()
            outputs: dict[str, Any] = {}
        else:
            seeds = read_items(self.specialty.seed_tasks) if self.specialty.seed_tasks else []
            generator = SelfInstruct(
                self.config.self_instruct,
                seeds=seeds,
                lexicon=self.specialty.lexicon_terms(),
                field_name=self.field_name,
            )
            backends = {name: self._backend(name) for name in self.generators}
            result = generator.run(backends, log=AppendLog(folder / "rounds.jsonl"))
            records, outputs = result.items, {"generation": result.stats}
        write_records(folder / "candidates.jsonl", records)
        counts: dict[str, int] = defaultdict(int)
        for record in records:
            counts[generator_of(record)] += 1
        return outputs | {"items": len(records), "by_generator": dict(counts)}

    def _read_pool(self) -> list[Instruction]:
        records: list[Instruction] = []
        first_file: dict[str, Path] = {}
        problems = []
        for path in self._pool_files():
            for record in read_records(path, allow_empty=CANDIDATE_FIELDS):
                if not isinstance(record, Instruction):
                    problems.append(DataError(path, None, None, f"{record.id}: CrossFilter takes instruction records"))
                elif record.id in first_file:
                    problems.append(DataError(path, None, "id", f"{record.id!r} is also in {first_file[record.id]}"))
                else:
                    first_file[record.id] = path
                    records.append(record)
        if problems:
            raise InvalidDataError(problems)
        return records

    def _clean(self, folder: Path, candidates: list[Instruction]) -> dict[str, Any]:
        seeds = read_items(self.specialty.seed_tasks) if self.specialty.seed_tasks else []
        result = clean(candidates, self.config.rules, reference=seeds)
        write_records(folder / "kept.jsonl", result.kept)
        dropped = [
            _annotate(d.record, status="dropped", step="clean", rule=d.rule, reason=d.reason) for d in result.dropped
        ]
        write_records(folder / "dropped.jsonl", dropped)
        return {"in": len(candidates), "kept": len(result.kept), "dropped": len(result.dropped)}

    def _judge_generator(self) -> dict[str, str]:
        """For each judge that is also a generator, that generator's label in the candidates."""
        if self.config.source == "generate":
            return {j: j for j in self.judges if j in self.generators}
        labels = {j: j for j in self.judges} | {
            judge: label for label, judge in self.config.pool.generator_judges.items()
        }
        return {j: labels[j] for j in self.judges}

    def _assignments(self, records: Sequence[Instruction]) -> list[tuple[Instruction, str]]:
        own = {label: judge for judge, label in self._judge_generator().items()}
        pairs, stuck = [], set()
        for record in records:
            label = generator_of(record)
            eligible = [j for j in self.judges if j != own.get(label)]
            if not eligible:
                if not self.config.scoring.allow_self_judging:
                    stuck.add(label)
                    continue
                eligible = list(self.judges)
            pairs += [(record, j) for j in _spread(record.id, eligible, self.config.scoring.judges_per_item)]
        if stuck:
            raise ConfigError(
                "judges",
                f"no judge other than the generator itself for items of {', '.join(sorted(stuck))}: add another "
                "judge, or set scoring.allow_self_judging: true",
            )
        return pairs

    def _score(self, folder: Path, records: list[Instruction]) -> dict[str, Any]:
        pairs = self._assignments(records)
        judgements = self._judge(pairs, AppendLog(folder / "judgements.jsonl"), known={}, desc="cross-scoring")
        unscored = sum(1 for j in judgements if j.scores is None)
        failed = sum(j.failed_in_transport for j in judgements)
        return {
            "judgements": len(judgements),
            "unscored": unscored,
            "failed": failed,
            "judge_generator": self._judge_generator(),
        }

    def _audit(self, folder: Path, records: list[Instruction], main_log: Path) -> dict[str, Any]:
        size = self.config.audit.sample_per_generator
        if size == 0 or not records:
            return {"items": 0}
        by_generator: dict[str, list[Instruction]] = defaultdict(list)
        for record in sorted(records, key=lambda r: r.id):
            by_generator[generator_of(record)].append(record)
        rng = random.Random(self.config.audit.seed)
        sample = [r for g in sorted(by_generator) for r in rng.sample(by_generator[g], min(size, len(by_generator[g])))]
        known = {(j.item, j.judge): j for j in latest_judgements(main_log) if not j.failed_in_transport}
        pairs = [(record, judge) for record in sample for judge in self.judges]
        judgements = self._judge(pairs, AppendLog(folder / "judgements.jsonl"), known=known, desc="judge audit")
        failed = sum(j.failed_in_transport for j in judgements)
        return {"items": len(sample), "judgements": len(judgements), "failed": failed}

    def _judge(
        self,
        pairs: list[tuple[Instruction, str]],
        log: AppendLog,
        *,
        known: dict[tuple[str, str], Judgement],
        desc: str,
    ) -> list[Judgement]:
        scoring = self.config.scoring
        scorer = Scorer(
            self.rubric,
            mode=scoring.mode,
            field_name=self.field_name,
            max_new_tokens=scoring.max_new_tokens,
            parse_retries=scoring.parse_retries,
        )
        return judge_pairs(
            pairs, backend=self._backend, scorer=scorer, log=log, known=known, chunk_size=scoring.chunk_size, desc=desc
        )
