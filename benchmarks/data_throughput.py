"""Data throughput: published-shape files to medspec JSONL beside ``datasets.load_dataset``, then dedup and
decontamination of the converted records.

Files, generated into a temporary folder with varied synthetic Chinese text (random picks from the medical words
below, the record number in every question; every 20th record repeats the words of the one 7 before it, a near
duplicate): a CMExam-shaped CSV (``Question``, ``Options`` as one cell of lettered lines, ``Answer``,
``Explanation``, ``Clinical Department``, ``Difficulty level``), Zhongjing's copy of Huatuo as a JSON array
(``{"id": "", "instruction": ["..."], "input": "", "output": ["..."]}``) and Huatuo's official test shape as JSONL
(``{"questions": "...", "answers": "..."}``), ``--records`` records each, and a quarter-size copy of each.

Each measurement runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own; "RSS before" is the same
figure when the measured step starts (imports: ``import medspec`` loads torch; for cleaning, also the records):

* medspec, in process: ``medspec convert``'s path, ``RecordReader.jsonl()`` streamed into the output file. Blocks
  of plain rows are converted column-wise with pyarrow (``medspec.data.columnar``), every other row through the row
  converters, byte for byte the same output; the table says how many rows went column-wise. For the JSON array,
  which has no column-wise path, also the raw rows alone (``iter_rows``), the layer under the records.
* ``datasets.load_dataset("csv" | "json", data_files=..., split="train")`` on the same file, ``HF_DATASETS_CACHE``
  in the temporary folder: it parses the file and writes an Arrow cache, which is its design. It converts nothing.
* Scaling with cores: medspec's ``workers`` (``--workers`` on the command line; one per core by default) at 1 beside
  the default; and ``Dataset.map(batched=True, num_proc=1, then 2)`` over the loaded CMExam rows running medspec's
  row -> record conversion (``FORMATS["cmexam"].convert``, ``record_to_dict``), the route for formats without a
  column-wise path.
* ``deduplicate`` (5-grams, Jaccard 0.7) on the first ``--dedup-records`` converted CMExam records, and
  ``Decontaminator`` with 1,000 of them as the benchmark, checking all of them. Deduplication keeps every record's
  n-gram set and 32 LSH band keys in memory, in pure Python: for 1,000,000 records that is more time and memory than
  this 2-core, 23 GiB machine gives it, so the table says how many were measured and what all would take.

Targets: medspec at least 0.5x the rate of ``datasets``; medspec's peak RSS flat in the file size (the quarter-size
file beside the full one).

Each conversion and each load runs ``--repeat`` times, in turn, each load with a fresh cache; the tables keep the run
of median time and the JSON every run's seconds. The files are synced to disk before the first measurement.

Usage: ``python benchmarks/data_throughput.py [--records 1000000] [--dedup-records 200000] [--repeat 3]``; writes
``benchmarks/results/data_throughput.json``. About 20 minutes at the defaults on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
CHUNK = 50_000  # records generated and written at a time
NEAR_DUPLICATE_EVERY, NEAR_DUPLICATE_OF = 20, 7
BENCHMARK_ITEMS = 1_000
WORDS = (
    "患者 术后 麻醉 诱导 维持 苏醒 镇痛 镇静 肌松 插管 拔管 气道 通气 氧合 血压 心率 心律 血氧 体温 尿量 "
    "丙泊酚 依托咪酯 氯胺酮 咪达唑仑 右美托咪定 芬太尼 舒芬太尼 瑞芬太尼 吗啡 氢吗啡酮 布托啡诺 地佐辛 曲马多 "
    "罗库溴铵 维库溴铵 顺式阿曲库铵 琥珀胆碱 新斯的明 舒更葡糖钠 阿托品 格隆溴铵 麻黄碱 去氧肾上腺素 肾上腺素 "
    "去甲肾上腺素 多巴胺 多巴酚丁胺 艾司洛尔 乌拉地尔 硝酸甘油 硝普钠 胺碘酮 利多卡因 罗哌卡因 布比卡因 "
    "七氟烷 地氟烷 异氟烷 氧化亚氮 昂丹司琼 地塞米松 甲氧氯普胺 氟哌利多 帕洛诺司琼 丹曲林 肝素 鱼精蛋白 "
    "氨甲环酸 头孢唑林 万古霉素 胰岛素 葡萄糖 氯化钾 碳酸氢钠 钙剂 白蛋白 羟乙基淀粉 乳酸林格液 生理盐水 "
    "红细胞 血浆 血小板 冷沉淀 纤维蛋白原 凝血酶原 血红蛋白 红细胞压积 血糖 血钾 血钠 乳酸 肌酐 尿素氮 "
    "转氨酶 胆红素 白细胞 中性粒细胞 C反应蛋白 降钙素原 肌钙蛋白 脑钠肽 D二聚体 动脉血气 二氧化碳分压 "
    "氧分压 呼气末二氧化碳 潮气量 呼吸频率 气道压 呼气末正压 肺顺应性 功能残气量 肺泡 支气管 气管 喉头 "
    "声门 会厌 咽部 鼻腔 口腔 牙齿 颈椎 胸椎 腰椎 骶管 硬膜外腔 蛛网膜下腔 脑脊液 脊髓 神经根 臂丛 "
    "股神经 坐骨神经 腹横肌平面 竖脊肌平面 椎旁 肋间 颈丛 星状神经节 超声 神经刺激仪 穿刺 置管 导管 "
    "中心静脉 动脉穿刺 有创监测 脑电双频指数 肌松监测 体温监测 尿管 胃管 喉罩 气管导管 双腔管 支气管封堵器 "
    "可视喉镜 纤维支气管镜 环甲膜 气管切开 困难气道 饱胃 误吸 反流 喉痉挛 支气管痉挛 低氧血症 高碳酸血症 "
    "低血压 高血压 心动过缓 心动过速 室颤 心搏骤停 心肺复苏 除颤 过敏 过敏性休克 恶性高热 局麻药中毒 "
    "全脊麻 硬膜外血肿 头痛 恶心 呕吐 寒战 谵妄 认知功能障碍 苏醒延迟 呼吸抑制 尿潴留 瘙痒 低体温 "
    "术中知晓 疼痛 慢性疼痛 癌痛 神经病理性疼痛 分娩镇痛 剖宫产 子痫前期 产后出血 羊水栓塞 新生儿 "
    "小儿 老年 肥胖 糖尿病 冠心病 心力衰竭 瓣膜病 房颤 高血压病 慢阻肺 哮喘 睡眠呼吸暂停 肝硬化 "
    "肾衰竭 透析 脑卒中 颅内压 癫痫 帕金森病 重症肌无力 甲亢 嗜铬细胞瘤 库欣综合征 脓毒症 休克 "
    "创伤 烧伤 大出血 输血 凝血功能障碍 弥散性血管内凝血 肺栓塞 深静脉血栓 气胸 急性呼吸窘迫综合征 "
    "腹腔镜 开颅 心脏手术 体外循环 胸科手术 单肺通气 骨科手术 关节置换 脊柱手术 眼科手术 耳鼻喉手术 "
    "日间手术 门诊手术 内镜检查 无痛胃镜 介入治疗 重症监护 复苏室 术前评估 术前禁食 美国麻醉医师协会分级 "
    "知情同意 用药史 过敏史 既往史 体格检查 心电图 胸片 超声心动图 肺功能 首选 禁忌 剂量 用法 "
    "不良反应 并发症 机制 作用 特点 处理 预防 监测 评估 诊断 鉴别 治疗 原则 指征 风险 预后"
).split()
DEPARTMENTS = (
    "麻醉科 外科 内科 妇产科 儿科 急诊科 重症医学科 心内科 呼吸科 神经内科 骨科 泌尿外科 胸外科 心外科 "
    "眼科 耳鼻喉科 口腔科 皮肤科 肿瘤科 康复科"
).split()
LETTERS = "ABCDE"
EXAM_COLUMNS = ["Question", "Options", "Answer", "Explanation", "Clinical Department", "Difficulty level"]
FILES = {  # name in the tables: file name
    "CMExam CSV": "cmexam.csv",
    "Huatuo JSON array (Zhongjing)": "huatuo_zhongjing.json",
    "Huatuo JSONL (questions/answers)": "huatuo_test.jsonl",
}


def word_picks(rng: np.random.Generator, start: int, count: int, width: int) -> list[list[int]]:
    """Word indices for records ``start .. start + count``; every 20th record takes the picks of the one 7 before."""
    picks = rng.integers(0, len(WORDS), size=(count, width))  # (count, width)
    numbers = np.arange(start, start + count)
    copies = np.flatnonzero((numbers % NEAR_DUPLICATE_EVERY == 0) & (numbers - start >= NEAR_DUPLICATE_OF))
    picks[copies] = picks[copies - NEAR_DUPLICATE_OF]
    return picks.tolist()


def phrase(picks: list[int]) -> str:
    return "".join(map(WORDS.__getitem__, picks))


def exam_rows(rng: np.random.Generator, start: int, count: int) -> list[tuple]:
    """CMExam rows: the question numbered, five two-word options in one cell, a letter, an explanation."""
    questions, options, explanations = (word_picks(rng, start, count, width) for width in (8, 10, 14))
    answers = rng.integers(0, len(LETTERS), size=count).tolist()
    departments = rng.integers(0, len(DEPARTMENTS), size=count).tolist()
    levels = rng.integers(1, 6, size=count).tolist()
    return [
        (
            f"第{start + i}题：{phrase(questions[i])}，最恰当的是",
            "\n".join(f"{letter} {phrase(options[i][2 * k : 2 * k + 2])}" for k, letter in enumerate(LETTERS)),
            LETTERS[answers[i]],
            f"{phrase(explanations[i])}。",
            DEPARTMENTS[departments[i]],
            levels[i],
        )
        for i in range(count)
    ]


def huatuo_pairs(rng: np.random.Generator, start: int, count: int) -> list[tuple[str, str]]:
    """Huatuo questions (12 words, numbered) and answers (40 words)."""
    asked, answered = word_picks(rng, start, count, 12), word_picks(rng, start, count, 40)
    return [(f"病例{start + i}：{phrase(asked[i])}怎么办？", f"{phrase(answered[i])}。") for i in range(count)]


def generate(folder: Path, records: int, seed: int) -> dict[str, Path]:
    """The three files, ``records`` records each, written a chunk at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / file_name for name, file_name in FILES.items()}
    rng = np.random.default_rng(seed)
    with (
        open(paths["CMExam CSV"], "w", encoding="utf-8", newline="") as exam_file,
        open(paths["Huatuo JSON array (Zhongjing)"], "w", encoding="utf-8") as array_file,
        open(paths["Huatuo JSONL (questions/answers)"], "w", encoding="utf-8") as jsonl_file,
    ):
        exam = csv.writer(exam_file)
        exam.writerow(EXAM_COLUMNS)
        array_file.write("[\n")
        for start in range(0, records, CHUNK):
            count = min(CHUNK, records - start)
            exam.writerows(exam_rows(rng, start, count))
            pairs = huatuo_pairs(rng, start, count)
            elements = (
                json.dumps({"id": "", "instruction": [q], "input": "", "output": [a]}, ensure_ascii=False)
                for q, a in pairs
            )
            array_file.write((",\n" if start else "") + ",\n".join(elements))
            jsonl_file.writelines(
                json.dumps({"questions": q, "answers": a}, ensure_ascii=False) + "\n" for q, a in pairs
            )
        array_file.write("\n]\n")
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def medspec_convert(task: dict) -> dict:
    """``medspec convert``'s path: ``RecordReader.jsonl()`` streamed into the output file."""
    from medspec.data.io import RecordReader

    before, start = peak_rss_mb(), time.perf_counter()
    reader = RecordReader(task["path"])
    with open(task["out"], "wb") as f:
        f.writelines(reader.jsonl(task.get("workers")))
    seconds = time.perf_counter() - start
    records = sum(reader.counts.values())
    return {
        "records": records,
        "columnar": reader.columnar_rows,
        "errors": len(reader.errors),
        "seconds": seconds,
        "rss_before_mb": before,
    }


def medspec_rows(task: dict) -> dict:
    """The raw rows alone, the layer under :class:`RecordReader`."""
    from medspec.data.rows import iter_rows

    before, start = peak_rss_mb(), time.perf_counter()
    records = sum(row.error is None for row in iter_rows(Path(task["path"]), None)[1])
    return {"records": records, "seconds": time.perf_counter() - start, "rss_before_mb": before}


def datasets_load(task: dict) -> dict:
    """``load_dataset`` of the file: parsed and written to the Arrow cache."""
    import datasets

    datasets.disable_progress_bars()
    builder = "csv" if task["path"].endswith(".csv") else "json"
    before, start = peak_rss_mb(), time.perf_counter()
    dataset = datasets.load_dataset(builder, data_files=task["path"], split="train")
    return {"records": dataset.num_rows, "seconds": time.perf_counter() - start, "rss_before_mb": before}


def datasets_map(task: dict) -> dict:
    """medspec's row -> record conversion as ``Dataset.map`` over the loaded CMExam rows (the load is not timed)."""
    import datasets

    from medspec.data.formats import FORMATS, ConvertOptions
    from medspec.data.schema import record_to_dict

    datasets.disable_progress_bars()
    dataset = datasets.load_dataset("csv", data_files=task["path"], split="train")
    stem = Path(task["path"]).stem
    convert, options = FORMATS["cmexam"].convert, ConvertOptions(source=stem)

    def to_records(batch: dict[str, list], indices: list[int]) -> dict[str, list[str]]:
        rows = (dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True))
        records = (convert(row, f"{stem}-{index + 1}", options) for row, index in zip(rows, indices, strict=True))
        return {"record": [json.dumps(record_to_dict(record), ensure_ascii=False) for record in records]}

    before, start = peak_rss_mb(), time.perf_counter()
    mapped = dataset.map(
        to_records,
        batched=True,
        with_indices=True,
        num_proc=task["num_proc"],
        remove_columns=dataset.column_names,
        # a file of its own: map reuses the shard count of an earlier map's cache files, so num_proc=2 would run as 1
        cache_file_name=str(Path(os.environ["HF_DATASETS_CACHE"]) / f"medspec-map-{task['num_proc']}.arrow"),
    )
    return {"records": mapped.num_rows, "seconds": time.perf_counter() - start, "rss_before_mb": before}


def dedup(task: dict) -> dict:
    """``deduplicate`` on the first ``records`` converted records (read before the clock starts)."""
    from medspec.data.dedup import deduplicate
    from medspec.data.io import RecordReader

    records = list(itertools.islice(RecordReader(task["path"]), task["records"]))
    before, start = peak_rss_mb(), time.perf_counter()
    result = deduplicate(records)
    seconds = time.perf_counter() - start
    return {"records": len(records), "removed": len(result.removed), "seconds": seconds, "rss_before_mb": before}


def decontaminate(task: dict) -> dict:
    """``Decontaminator`` indexing 1,000 of the converted records as the benchmark, then checking all of them."""
    from medspec.data.dedup import Decontaminator
    from medspec.data.io import read_records

    records = read_records(task["path"])
    benchmark = records[:: max(1, len(records) // BENCHMARK_ITEMS)][:BENCHMARK_ITEMS]
    before, start = peak_rss_mb(), time.perf_counter()
    report = Decontaminator(benchmark).check(records)
    seconds = time.perf_counter() - start
    return {"records": len(records), "flagged": len(report.overlaps), "seconds": seconds, "rss_before_mb": before}


MEASUREMENTS = {
    "medspec": medspec_convert,
    "rows": medspec_rows,
    "datasets": datasets_load,
    "map": datasets_map,
    "dedup": dedup,
    "decontaminate": decontaminate,
}


def measure(
    kind: str, scratch: Path, path: Path, out: Path | None = None, cache: str = "hf-cache", **options: int
) -> dict:
    """One measurement in a fresh process, so that its peak RSS is its own; ``datasets`` caches in ``scratch/cache``."""
    task = {"kind": kind, "path": str(path), "out": str(out or scratch / "discarded.jsonl"), **options}
    env = {**os.environ, "HF_DATASETS_CACHE": str(scratch / cache), "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, __file__, "--child", json.dumps(task)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
    print(json.dumps({**task, **figures}), flush=True)
    return figures


def median_of_runs(scratch: Path, path: Path, repeat: int) -> tuple[dict, dict]:
    """medspec's conversion and ``datasets``' load of one file, taken in turn ``repeat`` times: the run of median
    time of each, with every run's seconds in ``runs``. Each load has a cache of its own, deleted after it."""
    converted = scratch / f"{path.stem}.medspec.jsonl"
    medspec, datasets = [], []
    for turn in range(repeat):
        medspec.append(measure("medspec", scratch, path, converted))
        cache = f"hf-cache-{path.stem}-{turn}"
        datasets.append(measure("datasets", scratch, path, cache=cache))
        shutil.rmtree(scratch / cache, ignore_errors=True)

    def median(runs: list[dict]) -> dict:
        chosen = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
        return {**chosen, "runs": [round(run["seconds"], 3) for run in runs]}

    return median(medspec), median(datasets)


def run(records: int, dedup_records: int, repeat: int) -> tuple[dict[str, int], list[dict]]:
    """Generate the files and take every measurement: the file sizes and one row per measurement."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        start = time.perf_counter()
        files = generate(scratch / "full", records, seed=0)
        quarter = generate(scratch / "quarter", records // 4, seed=1)
        os.sync()  # the files on disk before the clocks start: writing them back would slow the first measurements
        print(f"generated the files in {time.perf_counter() - start:.0f} s", flush=True)
        for name, path in files.items():
            medspec, datasets = median_of_runs(scratch, path, repeat)
            rows.append({"file": name, "tool": "medspec RecordReader", **medspec})
            rows.append(
                {"file": name, "tool": "medspec, quarter-size file", **measure("medspec", scratch, quarter[name])}
            )
            if path.suffix == ".json":
                rows.append({"file": name, "tool": "medspec iter_rows (raw rows)", **measure("rows", scratch, path)})
            else:  # the setting a machine with more cores turns up
                one = measure("medspec", scratch, path, workers=1)
                rows.append({"file": name, "tool": "medspec RecordReader, workers=1", **one})
            rows.append({"file": name, "tool": "datasets.load_dataset", **datasets})
        exam = files["CMExam CSV"]
        for num_proc in (1, 2):
            tool = f"datasets map(num_proc={num_proc}) of medspec's convert"
            rows.append({"file": "CMExam CSV", "tool": tool, **measure("map", scratch, exam, num_proc=num_proc)})
        converted = scratch / f"{exam.stem}.medspec.jsonl"
        deduplicated = measure("dedup", scratch, converted, records=min(dedup_records, records))
        rows.append({"file": "CMExam, converted", "tool": dedup_tool(deduplicated, records), **deduplicated})
        tool = f"Decontaminator, {BENCHMARK_ITEMS:,}-item benchmark"
        rows.append({"file": "CMExam, converted", "tool": tool, **measure("decontaminate", scratch, converted)})
        sizes = {name: path.stat().st_size for name, path in files.items()}
    for row in rows:
        row["records_per_second"] = row["records"] / row["seconds"]
    return sizes, rows


def dedup_tool(figures: dict, records: int) -> str:
    """``deduplicate``, saying how much of the data it covered and what all of it would take."""
    if figures["records"] == records:
        return "deduplicate"
    scale = records / figures["records"]  # time and memory grow about linearly with the records
    minutes = figures["seconds"] * scale / 60
    gigabytes = (figures["peak_rss_mb"] - figures["rss_before_mb"]) * scale / 1024
    return f"deduplicate (first {figures['records']:,} of {records:,}; all: ~{minutes:.0f} min, ~{gigabytes:.0f} GB)"


def summary(sizes: dict[str, int], rows: list[dict]) -> list[dict]:
    """Per file: medspec's rate over datasets', and medspec's peak RSS on the full and the quarter-size file."""

    def row_of(name: str, tool: str) -> dict:
        return next(r for r in rows if r["file"] == name and r["tool"] == tool)

    result = []
    for name, size in sizes.items():
        medspec, datasets = row_of(name, "medspec RecordReader"), row_of(name, "datasets.load_dataset")
        result.append(
            {
                "file": name,
                "mb": size / 2**20,
                "ratio": medspec["records_per_second"] / datasets["records_per_second"],
                "rss_full_mb": medspec["peak_rss_mb"],
                "rss_quarter_mb": row_of(name, "medspec, quarter-size file")["peak_rss_mb"],
            }
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="records in each generated file")
    parser.add_argument("--dedup-records", type=int, default=200_000, help="converted CMExam records deduplicated")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each conversion and load; the median is kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task = json.loads(args.child)
        figures = MEASUREMENTS[task["kind"]](task)
        print("RESULT " + json.dumps({**figures, "peak_rss_mb": peak_rss_mb()}), flush=True)
        return
    sizes, rows = run(args.records, args.dedup_records, args.repeat)
    files = summary(sizes, rows)
    maps = [r for r in rows if r["tool"].startswith("datasets map")]
    dedup_row, decontamination_row = rows[-2:]
    headline = (
        "medspec/datasets rate "
        + ", ".join(f"{f['file'].split(' (')[0]} {f['ratio']:.2f}x" for f in files)
        + f"; map num_proc 2/1 {maps[1]['records_per_second'] / maps[0]['records_per_second']:.2f}x; "
        f"dedup {dedup_row['records_per_second']:,.0f}/s ({dedup_row['records']:,}), "
        f"decontamination {decontamination_row['records_per_second']:,.0f}/s ({decontamination_row['records']:,})"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "data_throughput.json").write_text(
        json.dumps(
            {
                "headline": headline,
                "records": args.records,
                "repeat": args.repeat,
                "cpus": os.cpu_count(),
                "files": files,
                "rows": rows,
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(
        f"\n{headline}\n\n| file | MB | medspec / datasets rate (target 0.5x) | medspec peak RSS MB, full / quarter |"
    )
    print("|---|---:|---:|---:|")
    for f in files:
        rss = f"{f['rss_full_mb']:,.0f} / {f['rss_quarter_mb']:,.0f}"
        print(f"| {f['file']} | {f['mb']:,.0f} | {f['ratio']:.2f}x | {rss} |")
    print("\n| file | measurement | records | column-wise | records/s | wall s | peak RSS MB | RSS before MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        columnar = f"{row['columnar']:,}" if "columnar" in row else ""
        print(
            f"| {row['file']} | {row['tool']} | {row['records']:,} | {columnar} | {row['records_per_second']:,.0f} | "
            f"{row['seconds']:.1f} | {row['peak_rss_mb']:,.0f} | {row['rss_before_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
