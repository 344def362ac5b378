"""The ``medspec`` command: a thin layer over the library's primitives and recipes.

Exit codes: 0 success, 1 invalid data or a broken vocabulary guarantee (the problems are printed), 2 a usage or
configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medspec import __version__
from medspec.data.dedup import Decontaminator, deduplicate
from medspec.data.formats import FORMATS
from medspec.data.io import ReadOptions, RecordReader, read_records, write_records
from medspec.data.privacy import Deidentifier
from medspec.data.schema import Record
from medspec.durable import atomic_file, write_jsonl
from medspec.errors import InvalidDataError, MedspecError
from medspec.specialty import list_specialties, load_specialty
from medspec.vocab.check import VocabCheckError

__all__ = ["main"]

logger = logging.getLogger("medspec")


def _subcommand(
    group: argparse._SubParsersAction, name: str, handler: Callable[[argparse.Namespace], int], text: str
) -> argparse.ArgumentParser:
    sub = group.add_parser(name, help=text, description=text)
    sub.set_defaults(handler=handler)
    return sub


def _add_overrides(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help=f"override a config value, e.g. --set {example}"
    )


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="KEY=COLUMN",
        help="read the file's COLUMN as the record key KEY, e.g. --map instruction=问题 --map output=回答",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="keep records whose field (or kept source field, dotted: _meta.core) has the value; != negates",
    )
    parser.add_argument("--language", choices=["zh", "en"], default="zh", help="language of a bilingual source")


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"expected a whole number of threads from 1 to 64, got {text!r}")
    return int(text)


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=list(FORMATS), help="source format (detected when omitted)")
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="threads converting CSV/JSONL blocks (default: one per CPU core, at most 8)",
    )
    parser.add_argument("--encoding", help="text encoding (detected when omitted: UTF-8, UTF-8 with BOM, GB18030)")
    _add_selection_options(parser)


def _read_options(args: argparse.Namespace) -> ReadOptions:
    return ReadOptions.from_pairs(
        columns=args.map,
        format=getattr(args, "format", None),
        encoding=getattr(args, "encoding", None),
        where=args.where,
        language=args.language,
    )


def _reader_summary(reader: RecordReader) -> str:
    counts = ", ".join(f"{n} {t}" for t, n in sorted(reader.counts.items())) or "no records"
    unselected = f"; {reader.unselected} left out by --where" if reader.unselected else ""
    return (
        f"format {reader.format or 'unknown'}, encoding {reader.encoding}: {counts}; "
        f"{len(reader.rejects)} invalid row(s){unselected}"
    )


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        reader = RecordReader(path, _read_options(args))
        for _ in reader.jsonl(args.workers):  # the fast reading of convert, output unused
            pass
        print(f"{path}: {_reader_summary(reader)}")
        for error in reader.errors:
            print(f"  {error.describe()}")
        status = status or (1 if reader.errors or not reader.counts else 0)
    return status


def _convert(args: argparse.Namespace) -> int:
    reader = RecordReader(args.input, _read_options(args))
    output = Path(args.output)
    partial = output.with_name(f".{output.name}.partial")  # streamed here, put in place only when all is well
    with atomic_file(partial, "wb") as f:
        f.writelines(reader.jsonl(args.workers))
    count = sum(reader.counts.values())
    if reader.errors and not args.skip_invalid:
        partial.unlink()
        print(InvalidDataError(reader.errors, shown=50), file=sys.stderr)
        print("nothing written; fix the rows above or pass --skip-invalid to write the valid ones", file=sys.stderr)
        return 1
    if not count:
        partial.unlink()
        print(f"{args.input}: no records to write ({_reader_summary(reader)}); nothing written", file=sys.stderr)
        return 1
    partial.replace(output)
    print(f"{args.output}: wrote {count} records ({reader.format} -> medspec)")
    if reader.rejects:
        rejects_path = Path(args.output).with_suffix(".rejects.jsonl")
        write_jsonl(rejects_path, (r.to_dict() for r in reader.rejects))
        print(f"{rejects_path}: {len(reader.rejects)} invalid row(s) with their reasons")
    return 0


def _specialties(args: argparse.Namespace) -> int:
    for name in list_specialties():
        specialty = load_specialty(name)
        tasks = ", ".join(f"{t.name} ({t.kind})" for t in specialty.benchmark)
        print(f"{name:16s} {specialty.title}\n{'':16s} benchmark: {tasks}")
    return 0


def _read_many(paths: Sequence[str], fmt: str | None) -> list[Record]:
    return [record for path in paths for record in read_records(path, ReadOptions(format=fmt))]


def _dedup(args: argparse.Namespace) -> int:
    records = _read_many([args.input], args.format)
    result = deduplicate(records, threshold=args.threshold, ngram=args.ngram)
    write_records(args.output, result.kept)
    print(f"{args.output}: kept {len(result.kept)} of {len(records)}; removed {len(result.removed)} duplicates")
    for record, twin, similarity in result.removed[: args.show]:
        print(f"  {record.id} ~ {twin} (Jaccard {similarity:.2f})")
    return 0


def _decontaminate(args: argparse.Namespace) -> int:
    benchmark = _read_many(args.benchmark, None)
    records = _read_many([args.train], args.format)
    report = Decontaminator(benchmark, ngram=args.ngram, threshold=args.threshold).check(records)
    print(
        f"{args.train}: {len(report.overlaps)} of {len(records)} records overlap the benchmark "
        f"(n-gram {args.ngram}, threshold {args.threshold})"
    )
    for overlap in report.overlaps[: args.show]:
        print(f"  {overlap.record_id} ~ {overlap.benchmark_id} (overlap {overlap.score:.2f})")
    if args.output:
        write_records(args.output, report.clean)
        print(f"{args.output}: wrote the {len(report.clean)} clean records")
    return 0


def _deidentify(args: argparse.Namespace) -> int:
    deidentifier = Deidentifier()
    records = _read_many([args.input], args.format)
    totals: Counter[str] = Counter()
    cleaned = []
    for record in records:
        new_record, redaction = deidentifier.redact_record(record)
        totals.update(redaction.counts())
        cleaned.append(new_record)
    write_records(args.output, cleaned)
    print(
        f"{args.output}: {len(cleaned)} records, replaced {sum(totals.values())} spans: "
        + (", ".join(f"{t} {n}" for t, n in sorted(totals.items())) or "none")
    )
    if args.report:
        Path(args.report).write_text(json.dumps(dict(totals), indent=2), encoding="utf-8")
    return 0


def _vocab_extend(args: argparse.Namespace) -> int:
    from medspec.vocab.checkpoint import extend_checkpoint
    from medspec.vocab.extender import VocabConfig

    lexicon = load_specialty(args.specialty).lexicon_terms() if args.specialty else []
    if args.lexicon:
        lexicon += [t.strip() for t in Path(args.lexicon).read_text(encoding="utf-8").splitlines() if t.strip()]
    config = VocabConfig(add=args.add, init=args.init)
    extension = extend_checkpoint(
        args.base,
        corpus=args.corpus,
        out=args.out,
        config=config,
        gguf_file=args.gguf_file,
        lexicon=lexicon,
        heldout=args.heldout,
        with_model=not args.tokenizer_only,
    )
    report = extension.report
    print(
        f"{args.out}: {report['base_vocab_size']} -> {report['vocab_size']} tokens "
        f"({', '.join(f'{n} {s}' for s, n in report['added_by_source'].items())}); "
        f"{report['dropped']} never-produced tokens dropped"
    )
    if "tokens_per_character" in report:
        tpc = report["tokens_per_character"]
        print(f"tokens per character on held-out text: {tpc['before']:.3f} -> {tpc['after']:.3f}")
    if "lexicon_coverage" in report:
        coverage = report["lexicon_coverage"]
        print(
            f"lexicon terms that are one token: {coverage['before']['single_token']:.1%} -> "
            f"{coverage['after']['single_token']:.1%}"
        )
    for example in report.get("examples", [])[:1]:
        print(f"before: {' | '.join(example['before'][:30])}\nafter:  {' | '.join(example['after'][:30])}")
    print(extension.check.describe())
    return 0


def _vocab_check(args: argparse.Namespace) -> int:
    from medspec.vocab.check import check_folders

    check = check_folders(args.extended, base=args.base, gguf_file=args.gguf_file, with_models=not args.tokenizer_only)
    print(check.describe())
    if args.json:
        Path(args.json).write_text(json.dumps(check.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{args.extended}: {'every guarantee holds' if check.passed else 'BREACHED'}")
    return 0 if check.passed else 1


def _vocab_commands(commands: argparse._SubParsersAction) -> None:
    vocab = commands.add_parser("vocab", help="extend a tokenizer and its model with domain vocabulary")
    subcommands = vocab.add_subparsers(dest="vocab_command", required=True, metavar="COMMAND")
    sub = _subcommand(subcommands, "extend", _vocab_extend, "extend a base model's vocabulary")
    sub.add_argument("--base", required=True, help='a model folder, a .gguf file, or "demo" (SmolLM2-135M)')
    sub.add_argument("--gguf-file", help="the GGUF file inside --base when it is a folder")
    sub.add_argument("--corpus", required=True, nargs="+", help="data files to mine (.txt, .jsonl, ...)")
    sub.add_argument("--add", type=int, default=20000, help="most tokens to add (default 20000)")
    sub.add_argument("--out", required=True, help="folder for the extended tokenizer and model")
    sub.add_argument("--specialty", help="add this specialty's lexicon first")
    sub.add_argument("--lexicon", help="a file of domain terms, one per line, added first")
    sub.add_argument("--heldout", nargs="*", default=[], help="data files for the before/after report")
    sub.add_argument("--init", default="subtoken_mean", choices=["subtoken_mean", "mean", "random"])
    sub.add_argument("--tokenizer-only", action="store_true", help="extend the tokenizer without loading the model")
    sub = _subcommand(
        subcommands, "check", _vocab_check, "check that an extended folder keeps every id, special token and logit"
    )
    sub.add_argument("extended", help="the extended folder (written by `medspec vocab extend`)")
    sub.add_argument("--base", required=True, help='the base: a model folder, a .gguf file, or "demo"')
    sub.add_argument("--gguf-file", help="the GGUF file inside --base when it is a folder")
    sub.add_argument("--tokenizer-only", action="store_true", help="compare tokenizers and configs, not the models")
    sub.add_argument("--json", help="also write the findings to this JSON file")


def _crossfilter_run(args: argparse.Namespace) -> int:
    from medspec.crossfilter.config import load_crossfilter_config
    from medspec.crossfilter.pipeline import CrossFilter
    from medspec.crossfilter.scoring import TRANSPORT_FAILURE

    result = CrossFilter(load_crossfilter_config(args.config, args.set)).run(args.out)
    print(result.summary())
    reasons = result.report.get("unscored_reasons", {})
    failed = reasons.get(TRANSPORT_FAILURE, 0)
    if failed and not args.allow_unscored:
        why = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
        print(
            f"error: {len(result.unscored)} items are unscored ({why} judgements); run the same command again to "
            "retry the failed requests, or pass --allow-unscored to accept the result as it is",
            file=sys.stderr,
        )
        return 1
    return 0


def _crossfilter_refilter(args: argparse.Namespace) -> int:
    from medspec.crossfilter.filtering import ThresholdConfig
    from medspec.crossfilter.results import refilter

    threshold = ThresholdConfig(kind="quantile" if args.quantile else "absolute", value=args.threshold)
    result = refilter(args.run_dir, threshold=threshold, aggregate_method=args.aggregate, out=args.out)
    print(result.summary())
    return 0


def _crossfilter_commands(commands: argparse._SubParsersAction) -> None:
    crossfilter = commands.add_parser("crossfilter", help="generate, clean, cross-score and filter instruction data")
    subcommands = crossfilter.add_subparsers(dest="crossfilter_command", required=True, metavar="COMMAND")
    text = "run (or resume) CrossFilter in a run directory"
    sub = _subcommand(subcommands, "run", _crossfilter_run, text)
    sub.add_argument("--config", required=True, help="CrossFilter YAML config (see docs/crossfilter.md)")
    sub.add_argument("--out", required=True, help="run directory (resumed when it exists)")
    sub.add_argument(
        "--allow-unscored",
        action="store_true",
        help="exit 0 even when requests failed and left items unscored (by default: exit 1, run again to retry)",
    )
    _add_overrides(sub, "scoring.threshold.value=7")
    text = "apply another threshold to a run's stored scores, without any request"
    sub = _subcommand(subcommands, "refilter", _crossfilter_refilter, text)
    sub.add_argument("run_dir", help="a CrossFilter run directory")
    sub.add_argument("--threshold", type=float, required=True, help="keep aggregates at or above this score")
    sub.add_argument("--quantile", action="store_true", help="read --threshold as the share of items to drop")
    sub.add_argument("--aggregate", choices=["mean", "min", "weighted"], help="the run's aggregate when omitted")
    sub.add_argument("--out", help="output folder (default RUN_DIR/refilter-<aggregate>-<kind>-<value>)")


def _bench_run(args: argparse.Namespace) -> int:
    from medspec.bench.benchmark import Benchmark, BenchmarkConfig
    from medspec.bench.report import Report
    from medspec.bench.tasks import load_tasks
    from medspec.config import apply_overrides, from_dict
    from medspec.llm.transformers import TransformersBackend
    from medspec.training.loading import load_trained_model

    given = {
        "choice_mode": args.choice_mode,
        "circular": args.circular or None,
        "shots": args.shots,
        "max_new_tokens": args.max_new_tokens,
        "limit": args.limit,
    }
    config = from_dict(BenchmarkConfig, apply_overrides({k: v for k, v in given.items() if v is not None}, args.set))
    tasks = load_tasks(
        args.tasks or None,
        specialty=args.specialty,
        options=_read_options(args),
        breakdown=args.by,
        examples=args.shots_from,
    )
    benchmark = Benchmark(tasks, config=config)
    name = args.name or Path(args.model).name
    model, tokenizer = load_trained_model(args.model, device=args.device)
    backend = TransformersBackend(model, tokenizer, name=name, batch_size=args.batch_size)
    training = _read_many(args.train_data, None) if args.train_data else []
    result = benchmark.run(backend, out=args.out, model=name, training_data=training)
    written = Report([result]).save(args.out)
    print(f"{args.out}: {name}\n" + "\n".join(f"  {task}: {line}" for task, line in result.headlines().items()))
    print(f"report: {written['markdown']}")
    return 0


def _bench_compare(args: argparse.Namespace) -> int:
    from medspec.bench.judge.core import Judge, JudgeConfig
    from medspec.bench.judge.report import judge_results
    from medspec.bench.judge.setup import load_judge
    from medspec.bench.report import Report
    from medspec.bench.results import BenchmarkResult
    from medspec.llm.transformers import TransformersBackend

    results = [BenchmarkResult.load(run) for run in args.runs]
    judged = None
    out = Path(args.out)
    if args.judge or args.judge_config:
        if args.judge_config:
            judge = load_judge(args.judge_config, cache=out / "judge_cache.sqlite", log=out / "judge_log.jsonl")
        else:
            backend = TransformersBackend.from_pretrained(args.judge, batch_size=args.batch_size)
            judge_config = JudgeConfig(max_new_tokens=args.judge_max_new_tokens)
            judge = Judge(backend, config=judge_config, log=out / "judge_log.jsonl")
        judged = judge_results(judge, results, pairs=args.pairs, limit=args.judge_limit)
        judged.save(out / "judge.json")
    report = Report(results, judge=judged)
    written = report.save(args.out)
    print(report.markdown())
    print(f"report: {written['markdown']}")
    return 0


def _bench_human_export(args: argparse.Namespace) -> int:
    from medspec.bench.human.kit import export_sheets
    from medspec.bench.results import BenchmarkResult

    results = [BenchmarkResult.load(run) for run in args.runs]
    kit, sheets = export_sheets(
        results,
        out=args.out,
        raters=args.raters,
        tasks=args.tasks,
        limit=args.limit,
        formats=args.format,
        seed=args.seed,
        show_reference=not args.hide_reference,
    )
    print(f"{args.out}: {len(kit.answers)} blinded answers for {len(kit.raters)} raters")
    for sheet in sheets:
        print(f"  {sheet}")
    print(f"  {Path(args.out) / 'key.json'} (the key: keep it from the raters)")
    return 0


def _write_human_report(human: Any, judge_path: str | None, out: str | Path) -> None:
    """human.json, human.md and charts/ for sheet ratings or a browser study's ratings; prints the Markdown."""
    from medspec.bench.human.results import HumanResults
    from medspec.bench.judge.report import JudgeReport
    from medspec.bench.plots import plot_criteria, plot_win_tie_lose
    from medspec.bench.report import human_markdown, preference_markdown
    from medspec.durable import atomic_write_text

    judge = JudgeReport.load(judge_path) if judge_path else None
    out = Path(out)
    human.save(out / "human.json", judge=judge)
    if isinstance(human, HumanResults):
        text = human_markdown(human, judge=judge)
        plot_criteria(human.summary(), human.kit.criteria, out / "charts" / "human_criteria.png")
    else:
        text = preference_markdown(human, judge=judge)
        plot_win_tie_lose(human.summary(), out / "charts" / "human_win_tie_lose.png")
    atomic_write_text(out / "human.md", text + "\n")
    print(text)


def _bench_human_import(args: argparse.Namespace) -> int:
    from medspec.bench.human.kit import RatingKit, read_sheets
    from medspec.bench.human.results import HumanResults

    kit = RatingKit.load(args.key)
    _write_human_report(
        HumanResults(kit, read_sheets(args.sheets, kit, allow_missing=args.allow_missing)), args.judge, args.out
    )
    return 0


def _bench_human_create(args: argparse.Namespace) -> int:
    from medspec.bench.human.study import create_study, rubric_criteria
    from medspec.bench.results import BenchmarkResult
    from medspec.rubric import default_criteria
    from medspec.specialty import load_specialty

    criteria = default_criteria() if args.criteria == "hypnos" else rubric_criteria(load_specialty(args.specialty))
    study = create_study(
        [BenchmarkResult.load(run) for run in args.runs],
        args.out,
        mode=args.mode,
        criteria=criteria,
        tasks=args.tasks,
        limit=args.limit,
        pairs=args.pairs,
        seed=args.seed,
        show_reference=args.show_reference,
        **({"title": args.title} if args.title else {}),
    )
    print(f"{args.out}: a {study.mode} study of {len(study.units)} units, models {', '.join(study.models())}")
    print(f"next: medspec bench human raters add {args.out} NAME, then medspec bench human serve {args.out}")
    return 0


def _bench_human_raters_add(args: argparse.Namespace) -> int:
    from medspec.bench.human.store import DB_FILE, RatingStore
    from medspec.bench.human.study import Study

    Study.load(args.study)  # refuse a folder without a study before creating a database in it
    store = RatingStore(Path(args.study) / DB_FILE)
    base = args.base_url.rstrip("/")
    for name in args.names:
        print(f"{name}: {base}/r/{store.add_rater(name)}")
    print("Each link is shown once and is the rater's password: send it to that rater only.")
    return 0


def _bench_human_raters_list(args: argparse.Namespace) -> int:
    from medspec.bench.human.store import DB_FILE, RatingStore
    from medspec.bench.human.study import Study

    total = len(Study.load(args.study).units)
    store = RatingStore(Path(args.study) / DB_FILE)
    ratings = store.ratings()
    for name in store.raters():
        print(f"{name}: {sum(r.rater == name for r in ratings)} / {total} rated")
    return 0


def _bench_human_serve(args: argparse.Namespace) -> int:
    from medspec.bench.human.app import serve

    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"serving {args.study} on http://{shown}:{args.port}; progress at http://127.0.0.1:{args.port}/admin; "
        "Ctrl-C stops"
    )
    serve(args.study, host=args.host, port=args.port)
    return 0


def _bench_human_results(args: argparse.Namespace) -> int:
    from medspec.bench.human.analysis import export_ratings_csv, study_results

    _write_human_report(study_results(args.study), args.judge, args.out)
    print(f"ratings: {export_ratings_csv(args.study, Path(args.out) / 'ratings.csv')}")
    return 0


def _bench_commands(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="benchmark models: run, compare, human evaluation")
    subcommands = bench.add_subparsers(dest="bench_command", required=True, metavar="COMMAND")
    text = "run (or resume) a model on benchmark tasks in a run directory"
    sub = _subcommand(subcommands, "run", _bench_run, text)
    sub.add_argument("--model", required=True, help='a model folder, a .gguf file, or "demo" (SmolLM2-135M)')
    sub.add_argument("--tasks", nargs="*", help="task names of --specialty, files, or NAME=FILE (default: all)")
    sub.add_argument("--specialty", default="anesthesiology", help="where task names come from")
    sub.add_argument("--format", choices=list(FORMATS), help="source format of task files (detected when omitted)")
    _add_selection_options(sub)
    sub.add_argument(
        "--by", action="append", default=[], metavar="FIELD", help="break figures down by a kept field, e.g. level"
    )
    sub.add_argument("--out", required=True, help="run directory (resumed when it exists)")
    sub.add_argument("--name", help="the model's name in reports (default: the folder name)")
    sub.add_argument("--batch-size", type=int, default=16, help="chats generated together (default 16)")
    sub.add_argument("--device", help="cpu, cuda, ... (default: where transformers puts the model)")
    sub.add_argument(
        "--choice-mode",
        choices=["letter", "cloze", "generate"],
        help="letter: likeliest option letters; cloze: likeliest option text; generate (default): read the answer",
    )
    sub.add_argument(
        "--circular", action="store_true", help="ask each choice question once per rotation of its options"
    )
    sub.add_argument("--shots", type=int, help="few-shot examples before each open or choice question (default 0)")
    sub.add_argument("--shots-from", help="file of few-shot examples (default: a task file's dev split)")
    sub.add_argument("--max-new-tokens", type=int, help="longest open answer in tokens (default 512)")
    sub.add_argument("--limit", type=int, help="only the first N records of each task")
    sub.add_argument("--train-data", nargs="+", help="training files to check the benchmark items against")
    _add_overrides(sub, "max_new_tokens=256")
    text = "compare benchmark runs in one report, optionally with an LLM judge"
    sub = _subcommand(subcommands, "compare", _bench_compare, text)
    sub.add_argument("runs", nargs="+", help="run directories of `medspec bench run`")
    sub.add_argument("--out", required=True, help="folder for report.md, report.json and charts/")
    judges = sub.add_mutually_exclusive_group()
    judges.add_argument(
        "--judge", help="a local judge model (folder, .gguf or demo) for pointwise and pairwise judging"
    )
    judges.add_argument(
        "--judge-config",
        metavar="YAML",
        help="a judge from any backend (openai, anthropic, transformers; keys from the environment); replies cached",
    )
    sub.add_argument("--pairs", choices=["first", "all"], default="first", help="first run vs each other, or all")
    sub.add_argument("--judge-limit", type=int, help="judge only the first N items of each task")
    sub.add_argument("--judge-max-new-tokens", type=int, default=512, help="longest judge reply (default 512)")
    sub.add_argument("--batch-size", type=int, default=8, help="judge chats generated together")
    _human_commands(subcommands)


def _human_commands(subcommands: argparse._SubParsersAction) -> None:
    human = subcommands.add_parser("human", help="human evaluation: a rating study in the browser, or sheets")
    kit = human.add_subparsers(dest="human_command", required=True, metavar="COMMAND")
    text = "build a blinded browser rating study from benchmark runs"
    sub = _subcommand(kit, "create", _bench_human_create, text)
    sub.add_argument("runs", nargs="+", help="run directories whose answers are rated (pairwise: the first is 'ours')")
    sub.add_argument("--out", required=True, help="the study folder (must not hold a study yet)")
    sub.add_argument("--mode", choices=["pairwise", "pointwise"], default="pairwise", help="default pairwise")
    sub.add_argument("--pairs", choices=["first", "all"], default="first", help="first run vs each other, or all")
    sub.add_argument("--specialty", default="anesthesiology", help="whose rubric.yaml raters score (default)")
    sub.add_argument(
        "--criteria", choices=["rubric", "hypnos"], default="rubric",
        help="rubric: the specialty's rubric.yaml on 1-5; hypnos: usefulness, harmfulness, redundancy",
    )  # fmt: skip
    sub.add_argument("--tasks", nargs="+", help="open or case tasks to rate (default: all shared)")
    sub.add_argument("--limit", type=int, help="a seeded random sample of N items per task")
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--show-reference", action="store_true", help="show raters the reference answer")
    sub.add_argument("--title", help="page title (default 医学回答评价)")
    raters = kit.add_parser("raters", help="add raters to a study, or list them with their progress")
    rater_commands = raters.add_subparsers(dest="raters_command", required=True, metavar="COMMAND")
    sub = _subcommand(rater_commands, "add", _bench_human_raters_add, "add raters and print each one's personal link")
    sub.add_argument("study", help="the study folder")
    sub.add_argument("names", nargs="+", help="rater names (letters, digits, _ or -)")
    sub.add_argument(
        "--base-url", default="http://127.0.0.1:8765", help="where raters reach the server (default %(default)s)"
    )
    sub = _subcommand(rater_commands, "list", _bench_human_raters_list, "list raters with how many units each rated")
    sub.add_argument("study", help="the study folder")
    text = "serve the study to raters' browsers (this machine only, unless --host says otherwise)"
    sub = _subcommand(kit, "serve", _bench_human_serve, text)
    sub.add_argument("study", help="the study folder")
    sub.add_argument(
        "--host", default="127.0.0.1",
        help="interface (default 127.0.0.1: this machine only; 0.0.0.0 serves the network, over plain HTTP)",
    )  # fmt: skip
    sub.add_argument("--port", type=int, default=8765, help="TCP port (default %(default)s)")
    text = "analyse a browser study's ratings: means or win rates with intervals, agreement, plots, ratings.csv"
    sub = _subcommand(kit, "results", _bench_human_results, text)
    sub.add_argument("study", help="the study folder")
    sub.add_argument("--out", required=True, help="folder for human.json, human.md, charts/ and ratings.csv")
    sub.add_argument("--judge", help="judge.json of `bench compare --judge`, for judge-human agreement")
    text = "write blinded rating sheets (XLSX and CSV) per rater and the key"
    sub = _subcommand(kit, "export", _bench_human_export, text)
    sub.add_argument("runs", nargs="+", help="run directories whose answers are rated")
    sub.add_argument("--out", required=True, help="folder for the sheets and key.json")
    sub.add_argument("--raters", nargs="+", required=True, help="rater names (used in file names)")
    sub.add_argument("--tasks", nargs="+", help="open or case tasks to rate (default: all shared)")
    sub.add_argument("--limit", type=int, help="a seeded random sample of N items per task")
    sub.add_argument("--format", nargs="+", choices=["xlsx", "csv"], default=["xlsx", "csv"])
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--hide-reference", action="store_true", help="do not show raters the reference answer")
    text = "read filled sheets: per-model means, variance, Krippendorff's alpha, judge agreement"
    sub = _subcommand(kit, "import", _bench_human_import, text)
    sub.add_argument("sheets", nargs="+", help="filled sheets, one per rater (.xlsx or .csv)")
    sub.add_argument("--key", required=True, help="the key.json written by export")
    sub.add_argument("--out", required=True, help="folder for human.json, human.md and charts/")
    sub.add_argument("--judge", help="judge.json of `bench compare --judge`, for judge-human agreement")
    sub.add_argument("--allow-missing", action="store_true", help="accept blank scores and deleted rows")


def _train(args: argparse.Namespace) -> int:
    from medspec.recipes.gate import benchmark_gate
    from medspec.training.trainer import GeneralToSpecificTrainer, load_training_config

    gate = benchmark_gate(specialty=args.specialty)
    results = GeneralToSpecificTrainer(load_training_config(args.config, args.set), eval_gate=gate).train(args.out)
    for name, result in results.items():
        print(
            f"{name}: {result.steps} steps, train loss {result.train_loss:.4f}, non-padding "
            f"{result.non_padding_fraction:.1%}, {result.seconds:.0f} s -> {Path(args.out) / f'train-{name}' / 'model'}"
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from medspec.recipes.config import ABLATIONS
    from medspec.recipes.general_to_specific import run_recipe, summary_table

    overrides = [o for name in args.ablation for o in ABLATIONS[name]] + args.set
    outputs = run_recipe(args.specialty, out=args.out, overrides=overrides, recipe=args.recipe)
    print(f"medspec run {args.specialty} -> {args.out}\n\n{summary_table(outputs)}")
    print(f"\nreport: {Path(args.out) / 'report' / 'report.md'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medspec", description="Specialise a general LLM for a branch of medicine.")
    parser.add_argument("--version", action="version", version=f"medspec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        return _subcommand(commands, name, handler, text)

    sub = command("validate", _validate, "check data files and report every problem with file, line and field")
    sub.add_argument("files", nargs="+")
    _add_reading_options(sub)

    sub = command("convert", _convert, "convert any supported format to medspec JSONL")
    sub.add_argument("input")
    sub.add_argument("output")
    _add_reading_options(sub)
    sub.add_argument(
        "--skip-invalid",
        action="store_true",
        help="write the valid records and put the invalid rows in OUTPUT.rejects.jsonl",
    )

    command("specialties", _specialties, "list the built-in specialties")

    sub = command("dedup", _dedup, "remove exact and near-duplicate records")
    sub.add_argument("input")
    sub.add_argument("output")
    sub.add_argument("--format", choices=list(FORMATS))
    sub.add_argument("--threshold", type=float, default=0.7, help="Jaccard similarity of character 5-grams")
    sub.add_argument("--ngram", type=int, default=5)
    sub.add_argument("--show", type=int, default=20, help="how many removed pairs to print")

    sub = command("decontaminate", _decontaminate, "find (and drop) training records that overlap a benchmark")
    sub.add_argument("--train", required=True)
    sub.add_argument("--benchmark", required=True, nargs="+")
    sub.add_argument("--out", dest="output", help="write the clean training records here")
    sub.add_argument("--format", choices=list(FORMATS), help="format of the training file")
    sub.add_argument("--ngram", type=int, default=10, help="character n-gram length")
    sub.add_argument("--threshold", type=float, default=0.5, help="overlap coefficient that flags a record")
    sub.add_argument("--show", type=int, default=20, help="how many overlaps to print")

    sub = command("deidentify", _deidentify, "replace names, ID numbers, phones, record numbers, addresses, dates")
    sub.add_argument("input")
    sub.add_argument("output")
    sub.add_argument("--format", choices=list(FORMATS))
    sub.add_argument("--report", help="write the counts per span type as JSON here")

    _vocab_commands(commands)

    sub = command("train", _train, "run training stages (pretrain / sft, LoRA / full) in a resumable run directory")
    sub.add_argument("--config", required=True, help="YAML with base_model and stages")
    sub.add_argument("--specialty", default="anesthesiology", help="where eval_gate task names are looked up")
    sub.add_argument("--out", required=True, help="run directory (resumed when it exists)")
    _add_overrides(sub, "stages[0].lr=1e-4")
    _crossfilter_commands(commands)
    _bench_commands(commands)

    sub = command("run", _run, "run a specialty's recipe end to end in one resumable run directory")
    sub.add_argument("specialty", help="a built-in specialty name or a folder with config.yaml")
    sub.add_argument("--out", required=True, help="run directory (resumed when it exists)")
    sub.add_argument("--recipe", help="a recipe YAML other than the specialty's own recipe.yaml")
    sub.add_argument(
        "--ablation",
        action="append",
        default=[],
        choices=["no-vocab", "no-crossfilter", "no-general"],
        help="switch a component off (repeatable)",
    )
    _add_overrides(sub, "training.stages[0].lr=1e-4")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        # A run directory raises medspec's logger to INFO for its run.log; the terminal shows INFO only with -v.
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(level)
    try:
        return args.handler(args)
    except (InvalidDataError, VocabCheckError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except MedspecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
