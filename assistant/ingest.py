"""Ingest: read files, drop duplicates, chunk with llama-index's SentenceSplitter, embed in batches, write to Chroma.

One run of the local model per paper (late chunking, Günther et al. 2024): the model reads the paper's title and
abstract once, and from its token outputs come the whole-paper vector (the mean over all tokens, as
sentence-transformers pools), each chunk's vector (the mean over the chunk's own tokens and the title's, all
encoded with the whole paper as context) and the paper's word vectors for the rerank (words.py). Encoding each chunk,
the whole paper and the words separately read every paper about three times (docs/decisions.md, 2026-12-06).

Streaming: papers are read, chunked, embedded and written one batch of BATCH_PAPERS at a time, so memory is
bounded by the batch, not by the input (a 400 MB arXiv snapshot is never held whole). The total number of
papers is therefore not known until the end; progress is reported as papers done and bytes of input read.

Resumable by construction: ids are content hashes, a paper counts as present only when its last chunk is in
the collection, and every batch is written whole before the next starts. Running ingest again after an
interruption finishes the job and adds nothing twice.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from assistant import schema, sources, words
from assistant.config import Settings, bundled_corpus_files
from assistant.embeddings import LocalEncoder, embedder_name, get_embedder, model_tokenizer, unit_rows
from assistant.errors import PapersError
from assistant.sources import Format, Paper, SourceError, SourceNote, iter_input_files
from assistant.store import Store, open_store, set_aside

BATCH_PAPERS = 128
# reading, chunking, embedding and writing papers; building the BM25 index; encoding the word vectors of papers
# that ingest did not encode (words.py: a store from another client or an older version); finished
Stage = Literal["embed", "index", "words", "done"]


@dataclass(frozen=True)
class IngestProgress:
    """How far an ingest has got. The number of papers is not known before the input is read to its end, so
    the share done is the share of input bytes read."""

    stage: Stage
    papers: int  # papers read and in the store so far (written now, or already present)
    bytes_read: int  # of the input files as stored on disk (compressed bytes for a compressed file)
    bytes_total: int
    encoded: tuple[int, int] = (0, 0)  # stage "words": papers whose tokens are indexed, of all papers


Progress = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class DatedDuplicate:
    """A later copy of a paper whose first copy had no date, carrying the date it lacked (the same paper dated
    by another page or file)."""

    paper: Paper


@dataclass
class IngestReport:
    files: int = 0
    entries: int = 0
    new: int = 0
    present: int = 0
    duplicates: int = 0
    dated: int = 0  # papers stored without a date that a later copy of them dated
    chunks: int = 0
    seconds: float = 0.0
    bytes_read: int = 0  # of the input files as stored (compressed bytes for a compressed file)
    bytes_total: int = 0
    problems: list[SourceError] = field(default_factory=list)
    notes: list[SourceNote] = field(default_factory=list)  # what the readers want the user to know
    backup: Path | None = None  # where --rebuild moved the old store

    def summary(self) -> str:
        kept = f" The old store was moved to {self.backup}." if self.backup else ""
        dated = f" ({self.dated} of them dated a paper stored without a date)" if self.dated else ""
        return (
            f"{self.files} files read: {self.new} new papers, {self.present} already present, "
            f"{self.duplicates} duplicates{dated}, {len(self.problems)} problems; {self.chunks} chunks added "
            f"in {self.seconds:.1f} s" + kept
        )

    def progress(self, stage: Stage = "embed") -> IngestProgress:
        return IngestProgress(stage, self.new + self.present, self.bytes_read, self.bytes_total)

    def note(self, note: SourceNote) -> None:
        if note not in self.notes:  # a file named twice says the same thing once
            self.notes.append(note)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def iter_papers(files: list[Path], fmt: Format, report: IngestReport) -> Iterator[Paper | DatedDuplicate]:
    """Every paper in the files, once each (first occurrence wins), as the files are read; and a duplicate that
    has the date its first copy lacked. Problems, notes and the bytes read so far go into the report."""
    # Every id seen is kept to drop duplicates across the whole input: ids are 16-character hashes, about
    # 100 bytes each in a set, so a million papers cost about 100 MB, against several GB for the papers.
    seen: set[str] = set()
    undated: set[str] = set()  # the papers kept without a date (a subset of seen)
    done = 0  # bytes of the files before this one

    def reached(position: int) -> None:
        report.bytes_read = done + position

    for file in files:
        if not file.exists():
            report.problems.append(SourceError(file, "no such file or folder"))
            continue
        report.files += 1
        for item in sources.iter_records(file, fmt, report.note, reached):
            if isinstance(item, SourceError):
                report.problems.append(item)
                continue
            report.entries += 1
            if item.id not in seen:
                seen.add(item.id)
                if not item.date_iso:
                    undated.add(item.id)
                yield item
                continue
            report.duplicates += 1
            if item.date_iso and item.id in undated:
                undated.discard(item.id)
                yield DatedDuplicate(item)
        done += _size(file)
        report.bytes_read = done


def batches(items: Iterable, size: int) -> Iterator[list]:
    """The items in lists of `size` (the last one shorter), taken from the stream only as each is needed."""
    stream = iter(items)
    while batch := list(itertools.islice(stream, size)):
        yield batch


def make_splitter(settings: Settings):
    """llama-index's SentenceSplitter, counting the embedding model's tokens."""
    from llama_index.core.node_parser import SentenceSplitter

    tokenizer = model_tokenizer(settings)
    return SentenceSplitter(
        chunk_size=settings.chunking.size,
        chunk_overlap=settings.chunking.overlap,
        tokenizer=lambda text: tokenizer.encode(text, add_special_tokens=False).ids,
    )


def chunk_paper(paper: Paper, splitter) -> list[schema.Chunk]:
    """The paper's abstract in overlapping chunks; the title is embedded with every chunk."""
    return schema.paper_chunks(paper, splitter.split_text(paper.abstract) or [paper.abstract])


@contextlib.contextmanager
def write_lock(store: Store) -> Iterator[None]:
    """Only one ingest writes into a store at a time; a second one is refused, naming the first one's pid."""
    from filelock import FileLock, Timeout

    store.path.mkdir(parents=True, exist_ok=True)
    pid_file = store.path / "ingest.pid"  # not the lock file itself: filelock truncates that when it tries
    lock = FileLock(store.path / "ingest.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = pid_file.read_text().strip()
        except OSError:
            holder = ""
        raise PapersError(
            f"another ingest (pid {holder or '?'}) is writing into {store.where}",
            fix="wait for it to finish, then run this command again",
        ) from None
    try:
        pid_file.write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        lock.release()


def ingest(
    paths: list[Path] | None,
    settings: Settings,
    fmt: Format = "auto",
    rebuild: bool = False,
    progress: Progress | None = None,
    store: Store | None = None,
) -> IngestReport:
    """Ingest files (default: the bundled sample corpus) into the store; returns what happened."""
    started = time.perf_counter()
    report = IngestReport()
    paths = paths or bundled_corpus_files()
    if not paths:
        raise PapersError("no input files given and no bundled corpus found", fix="papers ingest PATH ...")
    files = list(iter_input_files(paths))
    report.bytes_total = sum(_size(f) for f in files)
    if rebuild and store is None:
        report.backup = set_aside(settings)  # a damaged store cannot even be opened to reset it
    store = store or open_store(settings)
    with write_lock(store):
        if rebuild:
            store.reset()
        store.check_embedding(embedder_name(settings))
        store.check_chunking()
        _write(iter_papers(files, fmt, report), settings, store, report, progress)
        changed = report.new or report.dated or store.bm25_stale()
        if changed and store.count() > 0:  # nothing to index in an empty store
            if progress:
                progress(report.progress("index"))
            store.rebuild_bm25()
        if store.count() > 0 and store.vectors_stale():  # only papers not yet copied are read
            store.rebuild_vectors(store.bm25())
        # the word index of the rerank: papers this run did not encode (another client's, an older store's)
        if settings.retrieval.reranks and store.count() > 0 and store.words_stale():

            def encoded(done: int, total: int) -> None:
                if progress:
                    progress(replace(report.progress("words"), encoded=(done, total)))

            store.update_words(encoded)
    if progress:
        progress(report.progress("done"))
    report.seconds = time.perf_counter() - started
    return report


def _write(
    items: Iterable[Paper | DatedDuplicate], settings: Settings, store: Store, report: IngestReport, progress
) -> None:
    """Chunk, skip what is stored, embed and write, one batch of papers at a time, as they are read; then date
    the stored papers that a later copy dated (their first copy is in this batch or an earlier one).

    A paper counts as stored when its last chunk is: chunks are written in order, so an interrupted run
    leaves whole papers plus at most one batch that the next run writes again under the same ids.
    """
    splitter = make_splitter(settings)
    embedder = None
    if progress:
        progress(report.progress())
    for batch in batches(items, BATCH_PAPERS):
        papers = [item for item in batch if isinstance(item, Paper)]
        chunked = [chunk_paper(p, splitter) for p in papers]
        present = store.existing_ids([c[-1].id for c in chunked])
        new = [(p, chunks) for p, chunks in zip(papers, chunked, strict=True) if chunks[-1].id not in present]
        todo = [chunk for _, chunks in new for chunk in chunks]
        report.present += len(present)
        if todo:
            if embedder is None:
                embedder = get_embedder(settings)
                if not store.info():
                    store.create(embedder.name, embedder.dimension, late=isinstance(embedder, LocalEncoder))
                store.check_embedding(embedder.name, embedder.dimension)
                store.check_chunk_vectors(late=isinstance(embedder, LocalEncoder))
            if isinstance(embedder, LocalEncoder):
                whole, chunk_vectors, rows = encode_papers(embedder, new)
                word_rows = {p.id: r for (p, _), r in zip(new, rows, strict=True)}
            else:  # an embeddings API: chunks and papers embedded as texts; words.update encodes the words later
                whole = embedder.embed([schema.whole_text(p) for p, _ in new])
                chunk_vectors = embedder.embed([c.embed_text for c in todo])
                word_rows = {}
            # whole-paper vectors first: a paper counts as stored once its last chunk is (schema.py)
            if store.has_whole_vectors():
                filters = [(p.id, {k: chunks[0].metadata[k] for k in schema.FILTER_KEYS}) for p, chunks in new]
                store.add_whole(filters, whole)
            store.add(todo, chunk_vectors)
            if word_rows and settings.retrieval.reranks:
                store.add_words(word_rows)
            report.new += len(chunked) - len(present)
            report.chunks += len(todo)
        dated = {item.paper.id: schema.date_fields(item.paper) for item in batch if isinstance(item, DatedDuplicate)}
        report.dated += store.add_dates(dated)
        if progress:
            progress(report.progress())


def chunk_spans(abstract: str, start: int, texts: list[str]) -> list[tuple[int, int]]:
    """Each chunk's character span in the encoded text (the abstract begins at `start`), found in order; a
    chunk the splitter changed so that it is not found verbatim spans the whole abstract."""
    spans, cursor = [], 0
    for text in texts:
        at = abstract.find(text, cursor)
        if at < 0:
            spans.append((start, start + len(abstract)))
            continue
        spans.append((start + at, start + at + len(text)))
        cursor = at + 1
    return spans


def encode_papers(encoder: LocalEncoder, papers: list[tuple[Paper, list[schema.Chunk]]]):
    """Whole-paper vectors, every chunk's vector (in order) and each paper's word rows, from one run of the model
    per paper over its title and abstract (schema.whole_text): the whole vector pools all its tokens, a chunk's
    the tokens of its span and of the title (late chunking)."""
    import numpy as np

    texts = [schema.whole_text(p) for p, _ in papers]
    encodings = encoder.encode(texts)
    whole, chunk_rows, word_rows = [], [], []
    for (paper, chunks), text, encoding, hidden in zip(
        papers, texts, encodings, encoder.hidden(encodings), strict=True
    ):
        whole.append(hidden.mean(axis=0))
        offsets = np.array(encoding.offsets)
        real = offsets[:, 1] > offsets[:, 0]  # [CLS] and [SEP] have empty spans
        # a chunk pools its own tokens and the title's, as "title\nchunk" was embedded before: on the dev sets
        # hit@1 0.673 -> 0.692 (researcher held-out 1) and 0.904 -> 0.923 (lexical dev), none lower
        title = real & (offsets[:, 1] <= len(paper.title))
        for a, b in chunk_spans(paper.abstract, len(paper.title) + 1, [c.text for c in chunks]):
            inside = title | (real & (offsets[:, 0] >= a) & (offsets[:, 1] <= b))
            chunk_rows.append(hidden[inside].mean(axis=0) if inside.any() else hidden.mean(axis=0))
        word_rows.append(words.paper_words(text, encoding, hidden, encoder.model.name))
    return unit_rows(np.stack(whole)).astype("float32"), unit_rows(np.stack(chunk_rows)).astype("float32"), word_rows


def ensure_ingested(settings: Settings, progress: Progress | None = None) -> IngestReport | None:
    """On an empty store, ingest the bundled sample corpus first (the first-run experience)."""
    store = open_store(settings)
    if store.exists():
        return None
    if settings.store.chroma_url:
        raise PapersError(
            f"the collection '{settings.store.collection}' on {settings.store.chroma_url} is empty",
            fix="papers --chroma-url URL ingest PATH ...",
        )
    return ingest(None, settings, progress=progress, store=store)
