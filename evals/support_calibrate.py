"""Calibrate the per-sentence support check (assistant/support.py) on evals/support-labelled.jsonl.

Measures every labelled pair once per embedding runtime, then prints Markdown tables: precision and recall of
flagging unsupported sentences (positive class = unsupported) at the module's thresholds, per split and per
kind; a sweep of each threshold; what each signal adds; and how many pairs change decision between runtimes.

    HF_HUB_OFFLINE=1 python evals/support_calibrate.py [--runtimes onnx,onnx-int8] [--split dev]

Each pair is checked against "Title. Abstract" of its cited paper, as support.check_support documents.
Thresholds were chosen on the dev split; the test split was looked at only with them (evals/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import support  # noqa: E402
from assistant.config import Settings, bundled_corpus_files  # noqa: E402
from assistant.sources import read_file  # noqa: E402

LABELLED = ROOT / "evals" / "support-labelled.jsonl"
KINDS = ["paraphrase", "quote", "wrong_number", "negated", "wrong_source", "other_abstract", "off_topic"]


def load_pairs(path: Path) -> list[dict]:
    papers: dict[str, str] = {}
    for file in bundled_corpus_files():
        for paper in read_file(file).papers:
            papers.setdefault(paper.title, f"{paper.title}. {paper.abstract}")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["cited_title"] not in papers:
            raise SystemExit(f"{path}:{number}: no bundled paper is titled {row['cited_title']!r}")
        if row["kind"] not in KINDS or row["supported"] != (row["kind"] in ("paraphrase", "quote")):
            raise SystemExit(f"{path}:{number}: kind {row['kind']!r} does not agree with supported={row['supported']}")
        pairs.append({**row, "source": papers[row["cited_title"]]})
    return pairs


def measure_all(pairs: list[dict], runtime: str) -> tuple[list[support.Signals], float]:
    settings = Settings().updated(embedding={"runtime": runtime})
    support.measure("warm up the model", ["Warm up. The model loads once."], settings)
    started = time.perf_counter()
    signals = [support.measure(p["sentence"], [p["source"]], settings) for p in pairs]
    return signals, (time.perf_counter() - started) / len(pairs)


def scores(pairs: list[dict], flags: list[bool]) -> dict:
    tp = sum(f and not p["supported"] for p, f in zip(pairs, flags, strict=True))
    fp = sum(f and p["supported"] for p, f in zip(pairs, flags, strict=True))
    positives = sum(not p["supported"] for p in pairs)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / positives if positives else 0.0,
        "tp": tp,
        "fp": fp,
        "positives": positives,
        "negatives": len(pairs) - positives,
    }


def flags_for(signals: list[support.Signals], thresholds: support.Thresholds) -> list[bool]:
    return [not support.decide(s, thresholds).supported for s in signals]


def flips(measured: dict[str, list[support.Signals]], thresholds: support.Thresholds) -> str:
    """How many pairs get a different decision from the first two runtimes ("" with one runtime)."""
    if len(measured) < 2:
        return ""
    a, b = (flags_for(signals, thresholds) for signals in list(measured.values())[:2])
    return str(sum(x != y for x, y in zip(a, b, strict=True)))


def fmt(s: dict) -> str:
    return f"{s['precision']:.3f} | {s['recall']:.3f} | {s['fp']}/{s['negatives']} | {s['tp']}/{s['positives']}"


def subset(pairs, signals, split):
    keep = [i for i, p in enumerate(pairs) if split == "all" or p["split"] == split]
    return [pairs[i] for i in keep], [signals[i] for i in keep]


def report(pairs: list[dict], measured: dict[str, list[support.Signals]], split: str) -> None:
    default = support.Thresholds()
    runtimes = list(measured)
    print(
        f"\n### Default thresholds (min similarity {default.min_similarity}, max unmatched {default.max_unmatched})\n"
    )
    print("| runtime | split | precision | recall | supported flagged | unsupported flagged |")
    print("| --- | --- | --- | --- | --- | --- |")
    for runtime in runtimes:
        for name in ("dev", "test", "all"):
            ps, ss = subset(pairs, measured[runtime], name)
            print(f"| {runtime} | {name} ({len(ps)}) | {fmt(scores(ps, flags_for(ss, default)))} |")

    print("\n### Per kind (all pairs; share flagged: wanted for the unsupported kinds, not for the supported)\n")
    print("| kind | pairs | " + " | ".join(f"flagged, {r}" for r in runtimes) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in runtimes) + " |")
    for kind in KINDS:
        idx = [i for i, p in enumerate(pairs) if p["kind"] == kind]
        cells = []
        for runtime in runtimes:
            flags = flags_for([measured[runtime][i] for i in idx], default)
            cells.append(f"{sum(flags)} ({sum(flags) / len(idx):.2f})")
        print(f"| {kind} | {len(idx)} | " + " | ".join(cells) + " |")

    ps = {r: subset(pairs, measured[r], split) for r in runtimes}
    print(
        f"\n### Sweep of max unmatched (split: {split}; precision | recall | supported flagged | unsupported flagged)\n"
    )
    print("| max unmatched | " + " | ".join(f"{r}: P / R / FP / TP" for r in runtimes) + " | flips (all pairs) |")
    print("| --- | " + " | ".join("---" for _ in runtimes) + " | --- |")
    for value in (0.04, 0.06, 0.08, 0.10, 0.12, 0.13, 0.14, 0.17, 0.20, 1.0):
        t = replace(default, max_unmatched=value)
        cells = [fmt(scores(ps[r][0], flags_for(ps[r][1], t))).replace(" | ", " / ") for r in runtimes]
        print(f"| {value} | " + " | ".join(cells) + f" | {flips(measured, t)} |")

    print(f"\n### Sweep of min similarity (split: {split})\n")
    print("| min similarity | " + " | ".join(f"{r}: P / R / FP / TP" for r in runtimes) + " | flips (all pairs) |")
    print("| --- | " + " | ".join("---" for _ in runtimes) + " | --- |")
    for value in (0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        t = replace(default, min_similarity=value)
        cells = [fmt(scores(ps[r][0], flags_for(ps[r][1], t))).replace(" | ", " / ") for r in runtimes]
        print(f"| {value} | " + " | ".join(cells) + f" | {flips(measured, t)} |")

    off = replace(default, min_similarity=-1.0, max_unmatched=99.0, numbers=False, negation="off")
    variants = [
        ("all signals (default)", default),
        ("similarity alone", replace(off, min_similarity=default.min_similarity)),
        ("unmatched alone", replace(off, max_unmatched=default.max_unmatched)),
        ("numbers alone", replace(off, numbers=True)),
        ("negation alone (scoped)", replace(off, negation="scoped")),
        ("without similarity", replace(default, min_similarity=-1.0)),
        ("without unmatched", replace(default, max_unmatched=99.0)),
        ("without numbers", replace(default, numbers=False)),
        ("without negation", replace(default, negation="off")),
        ("negation by parity instead of scope", replace(default, negation="parity")),
        ("similarity to single sentences only", replace(default, pairs=False)),
    ]
    print(f"\n### What each signal adds (split: {split})\n")
    print("| variant | " + " | ".join(f"{r}: P / R / FP / TP" for r in runtimes) + " |")
    print("| --- | " + " | ".join("---" for _ in runtimes) + " |")
    for name, t in variants:
        cells = [fmt(scores(ps[r][0], flags_for(ps[r][1], t))).replace(" | ", " / ") for r in runtimes]
        print(f"| {name} | " + " | ".join(cells) + " |")

    if len(runtimes) == 2:
        a, b = (flags_for(measured[r], default) for r in runtimes)
        changed = [i for i in range(len(pairs)) if a[i] != b[i]]
        sa, sb = (measured[r] for r in runtimes)
        sim_gap = max(abs(x.similarity - y.similarity) for x, y in zip(sa, sb, strict=True))
        unm_gap = max(abs(x.unmatched - y.unmatched) for x, y in zip(sa, sb, strict=True))
        print(f"\n### {runtimes[0]} vs {runtimes[1]}\n")
        print(f"Pairs whose decision differs: {len(changed)} of {len(pairs)}.")
        print(f"Largest difference of a pair's similarity: {sim_gap:.3f}; of its unmatched share: {unm_gap:.3f}.")
        for i in changed:
            print(f"- {pairs[i]['kind']}: {pairs[i]['sentence']}")
            for r in runtimes:
                print(f"  - {r}: {support.decide(measured[r][i], default).reasons or 'supported'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtimes", default="onnx,onnx-int8", help="comma-separated embedding runtimes")
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"], help="split the sweeps use")
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument("--errors", action="store_true", help="also list every wrong decision at the defaults")
    args = parser.parse_args(argv)

    pairs = load_pairs(args.labelled)
    measured = {}
    for runtime in args.runtimes.split(","):
        measured[runtime], seconds = measure_all(pairs, runtime)
        print(f"{runtime}: {len(pairs)} pairs, {seconds * 1000:.0f} ms per sentence (cited texts cached)")
    report(pairs, measured, args.split)
    if args.errors:
        for runtime, signals in measured.items():
            print(f"\n### Wrong decisions, {runtime}\n")
            for pair, s in zip(pairs, signals, strict=True):
                result = support.decide(s)
                if result.supported != pair["supported"]:
                    print(f"- [{pair['split']}] {pair['kind']}: {pair['sentence']}")
                    print(f"  - {result.reasons or 'not flagged'}; similarity {s.similarity:.2f}, ")
                    print(f"    unmatched {s.unmatched:.3f} ({', '.join(s.unmatched_words)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
