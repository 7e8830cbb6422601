"""Peak memory of ingest's reading and chunking, at two input sizes, for one or more checkouts of papers.

Generates arXiv-snapshot JSONL files (the fields and line-broken text of arxiv-metadata-oai-snapshot.json;
titles and abstracts are bundled abstracts with shuffled sentences, as make_corpus.py makes them), then, in a
new process per checkout and file, runs that checkout's own ingest code over the file: read, drop duplicates,
split every paper into chunks, BATCH_PAPERS at a time, as its ingest does before embedding. Embedding and the
Chroma writes are left out: they are the same per batch in every version, and Chroma's in-memory index grows
with the store, not with the input file. Peak RSS is getrusage's maximum resident set size of that process;
"growth" is the peak less the resident size after the imports and the splitter are loaded.

    git archive 6728bd3 | tar -x -C /tmp/papers-before
    HF_HUB_OFFLINE=1 python evals/bench/ingest_memory.py --records 5000,20000 \\
        --checkout before=/tmp/papers-before --checkout after=.

A memory bounded by the batch shows as a growth ratio near 1 between the sizes; a memory that holds the input
grows with it (4x the records, about 4x the growth).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from make_corpus import synthetic_papers

HERE = Path(__file__).resolve()


def arxiv_record(n: int, title: str, abstract: str, date: str) -> dict:
    """One record as the arXiv metadata snapshot writes it (line-broken title and abstract, versions, ...)."""
    return {
        "id": f"{2400 + n // 90000:04d}.{n % 90000 + 10000:05d}",
        "submitter": "A. Author",
        "authors": "A. Author, B. Author and C. Author",
        "title": textwrap.fill(title, 70, subsequent_indent="  "),
        "comments": "12 pages, 4 figures",
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": "cs.LG cs.CL",
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "abstract": "  " + textwrap.fill(abstract, 78) + "\n",
        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2024 19:18:42 GMT"}],
        "update_date": date or "2024-04-02",
        "authors_parsed": [["Author", "A.", ""], ["Author", "B.", ""], ["Author", "C.", ""]],
    }


def write_arxiv(path: Path, records: int) -> Path:
    if not path.exists():
        with path.open("w", encoding="utf-8") as out:
            for n, (title, abstract, date) in enumerate(synthetic_papers(records)):
                out.write(json.dumps(arxiv_record(n, title, abstract, date)) + "\n")
    return path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def worker(path: Path) -> None:
    """Read and chunk one file with the ingest code of the checkout on PYTHONPATH; print one JSON line."""
    import assistant
    import assistant.ingest as ingest
    from assistant.config import Settings
    from assistant.sources import Paper

    warm_up = Paper("x", "Warm up", "A sentence about language models and their training. " * 40)  # loads it all

    settings = Settings()
    report = ingest.IngestReport()
    if hasattr(ingest, "iter_papers"):  # streaming ingest: batches taken from the stream as they are read
        splitter = ingest.make_splitter(settings)
        ingest.chunk_paper(warm_up, splitter)
        baseline = _rss_mb()
        started = time.perf_counter()
        stream = ingest.batches(ingest.iter_papers([path], "arxiv", report), ingest.BATCH_PAPERS)
    else:  # 6728bd3: read_papers returns every paper of the input; _write then took them BATCH_PAPERS at a time
        splitter = ingest._splitter(settings)
        ingest.chunk_paper(warm_up, splitter)
        baseline = _rss_mb()
        started = time.perf_counter()
        everything = ingest.read_papers([path], "arxiv", report)
        size = ingest.BATCH_PAPERS
        stream = (everything[i : i + size] for i in range(0, len(everything), size))
    chunks = papers_done = 0
    for batch in stream:
        papers = [p for p in batch if isinstance(p, Paper)]  # not the dates found on duplicates
        chunks += sum(len(ingest.chunk_paper(p, splitter)) for p in papers)
        papers_done += len(papers)
    peak = _rss_mb()
    print(
        json.dumps(
            {
                "code": str(Path(assistant.__file__).parent.parent),
                "papers": papers_done,
                "chunks": chunks,
                "problems": len(report.problems),
                "seconds": round(time.perf_counter() - started, 1),
                "baseline_mb": round(baseline, 1),
                "peak_mb": round(peak, 1),
                "growth_mb": round(peak - baseline, 1),
            }
        )
    )


def measure(checkout: Path, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(HERE), "--worker", str(path)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the run in {checkout} on {path} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["code"]).resolve() != checkout.resolve():
        sys.exit(f"the run imported assistant from {result['code']}, not from {checkout}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="5000,20000", help="input sizes, comma-separated (default 5000,20000)")
    parser.add_argument("--checkout", action="append", help="LABEL=DIR of a checkout (default: this one)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp"), help="where the input files are written")
    parser.add_argument("--json-out", type=Path, help="also write the figures here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    sizes = sorted(int(n) for n in args.records.split(","))
    if len(sizes) < 2:
        parser.error("--records needs two sizes or more, e.g. 5000,20000")
    checkouts = [c.split("=", 1) for c in args.checkout or [f"this={HERE.parents[2]}"]]
    args.dir.mkdir(parents=True, exist_ok=True)
    files = [write_arxiv(args.dir / f"arxiv-synthetic-{n}.jsonl", n) for n in sizes]
    rows = []
    print("| checkout | records | file MB | s | baseline MB | peak MB | growth MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, directory in checkouts:
        for n, path in zip(sizes, files, strict=True):
            result = {"checkout": label, "records": n, "file_mb": round(path.stat().st_size / 1e6, 1)}
            result |= measure(Path(directory), path)
            rows.append(result)
            print(
                f"| {label} | {n:,} | {result['file_mb']} | {result['seconds']} | {result['baseline_mb']} | "
                f"{result['peak_mb']} | {result['growth_mb']} |",
                flush=True,
            )
    print()
    for label, _ in checkouts:
        own = [r for r in rows if r["checkout"] == label]
        for large in own[1:]:
            small = own[0]
            print(
                f"{label}: {large['records']:,} / {small['records']:,} records: "
                f"peak RSS x{large['peak_mb'] / small['peak_mb']:.2f}, "
                f"growth x{large['growth_mb'] / max(small['growth_mb'], 0.1):.2f}"
            )
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
