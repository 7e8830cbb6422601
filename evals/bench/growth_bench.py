"""Ingest at scale and growth: papers per second and peak RSS of `papers ingest` at --papers synthetic papers
against the bundled corpus, the bytes written when --add more papers join that store, and (with --baseline)
the LlamaIndex default pipeline on the same --papers file in the same run.

Each ingest runs in a new process (this script with --worker), which reports its wall time, peak RSS
(getrusage) and the bytes it wrote (/proc/self/io: wchar, every byte passed to write(); write_bytes, what
reached the storage layer). Store folders are sized before and after the added papers, so the bytes each
part gained (Chroma, BM25, word index, vector copy) are given too.

    HF_HUB_OFFLINE=1 python evals/bench/growth_bench.py --papers 5000 --add 500 [--baseline] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))


def _io() -> dict[str, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return {"wchar": int(fields["wchar"]), "write_bytes": int(fields["write_bytes"])}


def worker(store: Path, files: list[str]) -> None:
    from assistant.config import Settings, StoreSettings
    from assistant.ingest import ingest

    settings = Settings(store=StoreSettings(path=store))
    before, started = _io(), time.perf_counter()
    report = ingest([Path(f) for f in files], settings)
    after = _io()
    print(
        json.dumps(
            {
                "papers_new": report.new,
                "seconds": round(time.perf_counter() - started, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                **{k: after[k] - before[k] for k in after},
            }
        )
    )


def _child(store: Path, files: list[Path]) -> dict:
    done = subprocess.run(
        [sys.executable, str(HERE), "--worker", str(store), *map(str, files)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"ingest failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sizes(store: Path) -> dict[str, int]:
    return {
        part.name: sum(f.stat().st_size for f in part.rglob("*") if f.is_file())
        for part in store.iterdir()
        if part.is_dir()
    }


def _write(path: Path, papers: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for title, abstract, date in papers:
            out.write(json.dumps({"title": title, "abstract": abstract, "date": date}) + "\n")
    return path


def main() -> None:
    from make_corpus import synthetic_papers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--add", type=int, default=500)
    parser.add_argument("--baseline", action="store_true", help="also time the LlamaIndex default on --papers")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="papers-growth-"))
    papers = list(synthetic_papers(args.papers + args.add))
    first = _write(work / "first.jsonl", papers[: args.papers])
    more = _write(work / "more.jsonl", papers[args.papers :])
    from assistant.config import bundled_corpus_files

    result: dict = {"papers": args.papers, "added": args.add}
    result["bundled"] = _child(work / "bundled", bundled_corpus_files())
    result["large"] = _child(work / "store", [first])
    result["large"]["papers_per_s"] = round(args.papers / result["large"]["seconds"], 2)
    sizes = _sizes(work / "store")
    result["grow"] = _child(work / "store", [more])
    grown = _sizes(work / "store")
    result["grow"]["bytes_gained"] = {k: grown[k] - sizes.get(k, 0) for k in grown}
    result["store_bytes"] = grown
    result["words_bytes_per_paper"] = round(grown.get("words", 0) / (args.papers + args.add))
    result["rss_ratio_large_to_bundled"] = round(result["large"]["peak_rss_mb"] / result["bundled"]["peak_rss_mb"], 2)
    result["wchar_per_added_paper_vs_first"] = round(
        (result["grow"]["wchar"] / args.add) / (result["large"]["wchar"] / args.papers), 2
    )
    if args.baseline:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE.parent / "llamaindex_ingest.py"), str(work / "li"), str(first)],
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        result["llamaindex"] = {"seconds": round(seconds, 1), "papers_per_s": round(args.papers / seconds, 2)}
        result["ratio"] = round(seconds / result["large"]["seconds"], 2)
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), sys.argv[3:])
    else:
        main()
