"""The store: the only code that talks to Chroma (local or server), plus the BM25 index derived from it.

Layout of a local store folder:
    chroma/            Chroma PersistentClient data (vectors, chunk texts, metadata; schema.py has the layout)
    bm25/<collection>/ the BM25 index over the same papers (bm25.py), rebuilt from Chroma whenever the
                       collection's chunk count differs from the one it was built at
    words/<collection>/    every paper's content-word vectors for the word-match rerank (words.py)
    vectors/<collection>/  every paper's chunk and whole-paper vectors, copied out of Chroma (vectors.py)
The indexes are derived from the collections, never the other way round, so they can always be rebuilt.
Reads and writes go through chromadb directly: writing through llama-index's ChromaVectorStore stored every
chunk a second time as JSON (`_node_content`) and cost 11% of ingest (evals/bench/README.md).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from assistant import bm25, derived, schema, vectors, words
from assistant.config import Settings
from assistant.errors import PapersError
from assistant.models import Filters

if TYPE_CHECKING:
    import numpy as np

_PAGE = 5000  # ids per `get`: well below SQLite's variable limit
BM25_RECHECK = 2.0  # seconds


def _date_int(text: str) -> int:
    return int(text.replace("-", ""))


def where_clause(filters: Filters | None) -> dict | None:
    """The filters as a Chroma `where` clause (dates are stored as YYYYMMDD integers, 0 when unknown)."""
    if not filters or not filters.active():
        return None
    parts: list[dict] = []
    if filters.since:
        parts.append({"date_int": {"$gte": _date_int(filters.since)}})
    if filters.until:  # an undated paper (0) is left out, as by `since` and by the BM25 mask
        parts += [{"date_int": {"$lte": _date_int(filters.until)}}, {"date_int": {"$gt": 0}}]
    if filters.source:
        parts.append({"source": {"$eq": filters.source}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


# Chroma's default HNSW ef_search (100) is approximate, and its graph differs between processes: on the bundled
# store (2,630 chunks) the top 40 chunks matched exact search 0.98 on average (0.90 at worst) and changed from
# run to run, so near-ties in the fused ranking flipped. At 400 they were exact on the 60 questions checked and
# the same in every process, with no measurable cost here (evals/README.md, "Session 7").
EF_SEARCH = 400


def _search_exactly(collection) -> None:
    """Raise a collection's HNSW ef_search to EF_SEARCH; stores built before were created with Chroma's 100."""
    try:
        hnsw = (collection.configuration_json or {}).get("hnsw") or {}
        if hnsw and hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:
            collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
    except Exception:  # a read-only store, or a server without the setting: it searches as it was built
        pass


class Store:
    """One opened store. Create with :func:`open_store`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = settings.store.path
        self._client = _client(settings)
        self.name = settings.store.collection
        self._collection = None
        self._whole = None
        self._bm25: bm25.BM25Index | None = None
        self._bm25_checked = 0.0
        self._words: words.WordIndex | None = None
        self._words_papers = -1
        self._vectors: vectors.VectorIndex | None = None
        self._vectors_of: bm25.BM25Index | None = None  # the BM25 index whose papers _vectors holds

    # --- the Chroma collection ---------------------------------------------------------------------------

    @property
    def _coll(self):
        if self._collection is None:
            try:
                self._collection = self._client.get_collection(self.name, embedding_function=None)
            except Exception:  # chromadb raises NotFoundError (or ValueError in older versions)
                return None
            _search_exactly(self._collection)
        return self._collection

    @property
    def _whole_coll(self):
        """The whole-paper vectors (schema.py); None in stores built before they existed."""
        if self._whole is None:
            try:
                self._whole = self._client.get_collection(self.name + schema.WHOLE_SUFFIX, embedding_function=None)
            except Exception:
                return None
            _search_exactly(self._whole)
        return self._whole

    def ping(self) -> None:
        """Fail when the Chroma server does not answer."""
        self._client.heartbeat()

    def exists(self) -> bool:
        return self._coll is not None and self._coll.count() > 0

    def create(self, embed_model: str, embed_dim: int, late: bool = True) -> None:
        """Create the collection, recording the embedding model and chunking it was built with, and how chunk
        vectors are made (late: pooled from one run over the whole paper, ingest.py; text: each chunk alone)."""
        chunking = self.settings.chunking
        self._collection = self._client.get_or_create_collection(
            self.name,
            embedding_function=None,
            metadata={
                "hnsw:space": "cosine",
                "embed_model": embed_model,
                "embed_dim": embed_dim,
                "chunk_size": chunking.size,
                "chunk_overlap": chunking.overlap,
                "chunk_vectors": "late" if late else "text",
            },
        )
        self._whole = self._client.get_or_create_collection(
            self.name + schema.WHOLE_SUFFIX, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        _search_exactly(self._collection)
        _search_exactly(self._whole)

    def has_whole_vectors(self) -> bool:
        return self._whole_coll is not None

    def info(self) -> dict:
        return dict(self._coll.metadata or {}) if self._coll is not None else {}

    def check_embedding(self, embed_model: str, embed_dim: int | None = None) -> None:
        """Fail with the fix when the collection was built with another embedding model."""
        info = self.info()
        if not info:
            return
        built_with = (info.get("embed_model"), info.get("embed_dim"))
        if built_with[0] != embed_model or (embed_dim is not None and built_with[1] != embed_dim):
            raise PapersError(
                f"the store at {self.where} was built with embedding model '{built_with[0]}' "
                f"({built_with[1]} dimensions) but the settings use '{embed_model}'"
                + (f" ({embed_dim} dimensions)" if embed_dim else ""),
                fix=_embedding_fix(built_with[0], embed_model),
            )

    def check_chunking(self) -> None:
        info, chunking = self.info(), self.settings.chunking
        if info and (info.get("chunk_size"), info.get("chunk_overlap")) != (chunking.size, chunking.overlap):
            raise PapersError(
                f"the store at {self.where} was chunked with size {info.get('chunk_size')} and overlap "
                f"{info.get('chunk_overlap')}, the settings say {chunking.size} and {chunking.overlap}",
                fix="run `papers ingest --rebuild`, or set PAPERS_CHUNK_SIZE / PAPERS_CHUNK_OVERLAP back",
            )

    def check_chunk_vectors(self, late: bool) -> None:
        """Fail with the fix when new chunk vectors would be made another way than the stored ones (a store
        built before late chunking holds vectors of chunks embedded alone): never mix the two."""
        info = self.info()
        made = info.get("chunk_vectors", "text")
        if info and made != ("late" if late else "text"):
            raise PapersError(
                f"the store at {self.where} holds chunk vectors made {'from each chunk alone' if made == 'text' else 'from whole papers'} "
                f"(an older version of papers, or another backend); new papers would be embedded another way",
                fix="run `papers ingest --rebuild` with your input files to build it again (the old store is kept "
                "as a backup), or use --store with a new folder",
            )

    @property
    def where(self) -> str:
        return self.settings.store.chroma_url or str(self.path)

    def count(self) -> int:
        """Chunks in the collection."""
        return self._coll.count() if self._coll is not None else 0

    def existing_ids(self, ids: list[str]) -> set[str]:
        if self._coll is None:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), _PAGE):
            found.update(self._coll.get(ids=ids[start : start + _PAGE], include=[])["ids"])
        return found

    def add(self, chunks: list[schema.Chunk], embeddings: np.ndarray) -> None:
        """Write chunks with their vectors, in order, in batches below the client's maximum batch size."""
        batch = max(1, min(self._client.get_max_batch_size(), _PAGE))
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self._coll.upsert(
                ids=[c.id for c in part],
                embeddings=embeddings[start : start + batch],
                documents=[c.text for c in part],
                metadatas=[c.metadata for c in part],
            )

    def add_whole(self, papers: list[tuple[str, dict]], embeddings: np.ndarray) -> None:
        """Write whole-paper vectors: (paper id, filter metadata) per row of embeddings."""
        batch = max(1, min(self._client.get_max_batch_size(), _PAGE))
        for start in range(0, len(papers), batch):
            part = papers[start : start + batch]
            self._whole_coll.upsert(
                ids=[pid for pid, _ in part],
                embeddings=embeddings[start : start + batch],
                metadatas=[meta for _, meta in part],
            )

    def add_dates(self, dates: dict[str, dict]) -> int:
        """Give stored papers that have no date the date fields in `dates` (paper id -> schema.date_fields), on
        every chunk and on the whole-paper vector; a paper that has a date keeps it. How many were dated."""
        if not dates or self._coll is None:
            return 0
        firsts = self._coll.get(ids=[schema.first_chunk(pid) for pid in dates], include=["metadatas"])
        undated = {
            schema.paper_of(cid): int(meta.get("n_chunks", 1))
            for cid, meta in zip(firsts["ids"], firsts["metadatas"], strict=True)
            if not meta.get("date_iso")
        }
        chunks = [(cid, dates[pid]) for pid, n in undated.items() for cid in schema.chunk_ids(pid, n)]
        whole = [(pid, {k: dates[pid][k] for k in schema.FILTER_KEYS if k in dates[pid]}) for pid in undated]
        batch = max(1, min(self._client.get_max_batch_size(), _PAGE))
        for collection, rows in ((self._coll, chunks), (self._whole_coll, whole)):
            for start in range(0, len(rows) if collection is not None else 0, batch):
                part = rows[start : start + batch]
                collection.update(ids=[i for i, _ in part], metadatas=[fields for _, fields in part])
        return len(undated)

    def whole_embeddings(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        """Paper id -> whole-paper vector, for those of these papers that have one."""
        return _embeddings(self._whole_coll, paper_ids)

    def query(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float, str]]:
        """(chunk id, cosine, chunk text) of the k nearest chunks, best first."""
        if self._coll is None:
            return []
        got = self._coll.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where_clause(filters),
            include=["documents", "distances"],
        )
        # the collection uses cosine distance: cosine = 1 - distance
        return [
            (cid, 1.0 - float(dist), doc or "")
            for cid, dist, doc in zip(got["ids"][0], got["distances"][0], got["documents"][0], strict=True)
        ]

    def get_chunks(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """Chunk id -> (text, metadata)."""
        if not ids or self._coll is None:
            return {}
        got = self._coll.get(ids=ids, include=["documents", "metadatas"])
        return {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    def get_embeddings(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Chunk id -> vector, for those of these chunks that are stored."""
        return _embeddings(self._coll, ids)

    def paper(self, paper_id: str) -> dict:
        """A stored paper's title, full abstract and metadata ({} when it is not stored)."""
        _, meta = self.get_chunks([schema.first_chunk(paper_id)]).get(schema.first_chunk(paper_id), ("", {}))
        return {**schema.paper_fields(meta), "abstract": meta.get(schema.ABSTRACT, "")} if meta else {}

    def papers(self) -> Iterator[list[bm25.PaperRow]]:
        """Every stored paper, a page at a time (read from each paper's first chunk)."""
        count = self.count()
        for offset in range(0, count, _PAGE):
            page = self._coll.get(where={"chunk": 0}, include=["metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                break
            yield [
                bm25.PaperRow(
                    schema.paper_of(cid),
                    int(meta.get("n_chunks", 1)),
                    meta.get("date_iso", ""),
                    meta.get("source", ""),
                    meta.get("title", ""),
                    meta.get(schema.ABSTRACT, ""),
                )
                for cid, meta in zip(page["ids"], page["metadatas"], strict=True)
            ]

    def reset(self) -> None:
        """Delete the collections and the indexes derived from them (for --rebuild)."""
        for name in (self.name, self.name + schema.WHOLE_SUFFIX):
            with contextlib.suppress(Exception):
                self._client.delete_collection(name)
        self._collection = self._whole = None
        shutil.rmtree(self._bm25_dir, ignore_errors=True)
        for folder in (self._words_dir, self._vectors_dir, self._derived_dir("tokens")):
            shutil.rmtree(folder, ignore_errors=True)
        self._bm25 = self._words = self._vectors = None

    # --- the BM25 index derived from the collection ------------------------------------------------------

    def _derived_dir(self, kind: str) -> Path:
        if self.settings.store.chroma_url:
            host = urlparse(self.settings.store.chroma_url).netloc.replace(":", "_")
            return self.path / kind / f"{host}-{self.name}"
        return self.path / kind / self.name

    @property
    def _bm25_dir(self) -> Path:
        return self._derived_dir("bm25")

    @property
    def _words_dir(self) -> Path:
        return self._derived_dir("words")

    @property
    def _vectors_dir(self) -> Path:
        return self._derived_dir("vectors")

    def bm25_stale(self) -> bool:
        return bm25.saved_count(self._bm25_dir) != self.count()

    def bm25(self) -> bm25.BM25Index | None:
        """The BM25 index, rebuilt first when it does not match the collection.

        Whether it still matches (the chunk count; another client may have ingested) is checked at most
        every BM25_RECHECK seconds: counting a 142k-chunk collection takes 14 ms, a third of a query.
        """
        if self._bm25 is not None and time.monotonic() - self._bm25_checked < BM25_RECHECK:
            return self._bm25
        count = self.count()
        self._bm25_checked = time.monotonic()
        if count == 0:
            return None
        if self._bm25 is not None and self._bm25.count == count:
            return self._bm25
        if bm25.saved_count(self._bm25_dir) != count:
            self.rebuild_bm25()
        else:
            self._bm25 = bm25.load(self._bm25_dir)
        return self._bm25

    def rebuild_bm25(self) -> None:
        """Index every paper of the collection with BM25 (title + whole abstract) and save it.

        One row per paper rather than per chunk: on the dev questions it ranks as well (MRR 0.9806 -> 0.9833,
        evals/README.md) and it indexes ~2x fewer tokens (build 2.8x faster at 20k papers).
        """
        count = self.count()
        self._bm25 = bm25.build(self.papers(), count)
        bm25.save(self._bm25, self._bm25_dir)
        self._bm25_checked = time.monotonic()

    # --- the chunk and whole-paper vectors copied out of the collections (vectors.py) -----------------------

    def _vectors_source(self, index: bm25.BM25Index) -> dict:
        """What a saved copy must have been built from to be used: this chunk count, these collections (a
        collection deleted and made again on a server gets a new id) and this embedding model."""
        info = self.info()
        whole = self._whole_coll
        return {
            "count": index.count,
            "collections": [str(self._coll.id), str(whole.id) if whole is not None else ""],
            "model": [info.get("embed_model"), info.get("embed_dim")],
        }

    def vectors_stale(self) -> bool:
        index = self.bm25()
        return index is not None and not self._vectors_match(vectors.saved_state(self._vectors_dir), index)

    def _vectors_match(self, state: dict, index: bm25.BM25Index) -> bool:
        source = self._vectors_source(index)
        return (
            all(state.get(k) == v for k, v in source.items())
            and len(state["paper_ids"]) == len(index)
            and set(state["paper_ids"]) == set(index.paper_ids)
        )

    def vectors(self, index: bm25.BM25Index) -> vectors.VectorIndex:
        """Every paper's chunk and whole-paper vectors (of the papers of `index`, the BM25 index the caller
        filters with); brought up to date first when the collection changed since they were saved."""
        if self._vectors is not None and self._vectors_of is index:
            return self._vectors
        if not self._vectors_match(vectors.saved_state(self._vectors_dir), index):
            self.rebuild_vectors(index)
        self._vectors, self._vectors_of = vectors.load(self._vectors_dir), index
        return self._vectors

    def rebuild_vectors(self, index: bm25.BM25Index) -> None:
        """Copy the vectors of the papers the saved copy lacks (all of them, when it was built from other
        collections or another model) out of Chroma, appending them to the copy."""
        source = self._vectors_source(index)
        read_whole = self.whole_embeddings if self.has_whole_vectors() else None
        dimension = int(source["model"][1] or 0)
        vectors.update(self._vectors_dir, index, self.get_embeddings, read_whole, dimension, source)
        self._vectors = None

    # --- the word vectors derived from the collection (words.py) --------------------------------------------

    def _words_state(self) -> dict:
        """What a saved word index must have been made with to be read or extended (no model is loaded)."""
        from assistant.embeddings import token_model

        name, model = token_model(self.settings)
        return {"model": name, "dims": words.WORD_DIMS, "basis": words.basis_id(model)}

    def _words_from_elsewhere(self, state: dict) -> bool:
        """A saved word index made by another encoder, width or basis: its rows are never read or extended."""
        return bool(state) and any(state.get(k) != v for k, v in self._words_state().items())

    def words_missing(self) -> int:
        """How many stored papers the saved word index lacks (all of them when it was built by another encoder
        or is missing)."""
        index = self.bm25()
        if index is None:
            return 0
        state = words.saved_state(self._words_dir)
        if not state or self._words_from_elsewhere(state):
            return len(index)
        return len(set(index.paper_ids) - set(state["paper_ids"]))

    def words_stale(self) -> bool:
        return self.words_missing() > 0

    def words(self, build_limit: int | None = None) -> words.WordIndex | None:
        """Every paper's word vectors, updated first when the collection gained papers (as bm25()); None,
        without encoding, when more than build_limit papers would have to be encoded first."""
        index = self.bm25()
        if index is None:
            return None
        if self._words is not None and self._words_papers == len(index):
            return self._words
        missing = self.words_missing()
        if missing and build_limit is not None and missing > build_limit:
            return None
        if missing:
            self.update_words()
        self._words = words.load(self._words_dir)
        self._words_papers = len(index)
        return self._words

    def _drop_other_words(self) -> None:
        """Delete a saved word index made by another encoder, width or basis (its rows cannot be extended),
        and the token index of versions before words.py (133 KB per paper, never read now)."""
        if self._words_from_elsewhere(derived.header(self._words_dir)):
            shutil.rmtree(self._words_dir, ignore_errors=True)
        shutil.rmtree(self._derived_dir("tokens"), ignore_errors=True)

    def add_words(self, papers: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Append papers' word rows (words.paper_words), encoded by ingest in the run that embedded them; a
        saved index from another encoder is replaced."""
        self._drop_other_words()
        words.add(self._words_dir, papers, self._words_state())
        self._words = None

    def update_words(self, progress=None) -> None:
        """Encode and append the papers the word index lacks. `progress(done, total)` counts papers."""
        from assistant.embeddings import token_encoder

        self._drop_other_words()
        total, done = len(self.bm25() or []), 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        words.update(self._words_dir, self.papers(), token_encoder(self.settings), self._words_state(), step)
        self._words = None


def _embeddings(collection, ids: list[str]) -> dict[str, np.ndarray]:
    """Id -> stored vector, read a page of ids at a time (absent ids are left out)."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    for start in range(0, len(ids) if collection is not None else 0, _PAGE):
        got = collection.get(ids=ids[start : start + _PAGE], include=["embeddings"])
        out.update({i: np.asarray(e, dtype="float32") for i, e in zip(got["ids"], got["embeddings"], strict=True)})
    return out


def _embedding_fix(built_with: str, wanted: str) -> str:
    """The settings that read a store as it was built (a local model's name says its model and runtime), or
    the rebuild."""
    from assistant.embeddings import INT8_SUFFIX
    from assistant.model_files import LOCAL_MODELS

    rebuild = f"run `papers ingest --rebuild` to re-embed with '{wanted}'"
    model, int8 = built_with.removesuffix(INT8_SUFFIX), built_with.endswith(INT8_SUFFIX)
    if model in LOCAL_MODELS and int8 and wanted == model:  # a CPU int8 store opened where CUDA is seen
        return f"set PAPERS_EMBED_DEVICE=cpu to use the store as it was built, or {rebuild}"
    if model in LOCAL_MODELS:
        runtime = "onnx-int8" if int8 else "onnx"
        settings = f"PAPERS_EMBED_RUNTIME={runtime}" + (
            "" if model == wanted.removesuffix(INT8_SUFFIX) else f" PAPERS_EMBED_MODEL={model}"
        )
        return f"set {settings} to use the store as it was built, or {rebuild}"
    return f"{rebuild}, or set PAPERS_EMBED_MODEL and PAPERS_EMBED_RUNTIME back to what built the store"


def _client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = settings.store.chroma_url
    if not url:
        folder = settings.store.path / "chroma"
        if settings.store.path.exists() and not settings.store.path.is_dir():
            raise PapersError(
                f"the store path {settings.store.path} is a file, not a folder",
                fix="point --store / PAPERS_STORE to a folder (a new one is created)",
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
        except Exception as exc:
            raise explain_failure(exc, settings) from None
    parsed = urlparse(url if "://" in url else f"http://{url}")
    headers = {}
    if settings.store.chroma_token:
        headers["Authorization"] = f"Bearer {settings.store.chroma_token.get_secret_value()}"
    try:
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            headers=headers,
            settings=chroma_settings,
        )
    except Exception as exc:
        text = str(exc).lower()
        if any(word in text for word in ("401", "403", "unauthorized", "forbidden")):
            has = "rejected the auth token" if headers else "requires an auth token"
            raise PapersError(
                f"the Chroma server at {url} {has}", fix="set PAPERS_CHROMA_TOKEN to a token the server accepts"
            ) from None
        raise PapersError(
            f"cannot reach the Chroma server at {url}: {type(exc).__name__}",
            fix="start it (chroma run --path DIR --port PORT) or fix PAPERS_CHROMA_URL / --chroma-url",
        ) from None


_DAMAGED = ("malformed", "not a database", "file is encrypted", "disk image", "no such table", "corrupt")
_READ_ONLY = ("readonly", "read-only", "read only", "permission denied", "errno 13", "errno 30")


def explain_failure(exc: BaseException, settings: Settings) -> PapersError:
    """A Chroma failure as the message and fix that fit its real cause (a damaged or read-only local store,
    an unreachable server)."""
    text = f"{type(exc).__name__}: {exc}"
    url = settings.store.chroma_url
    if url:
        return PapersError(
            f"the Chroma server at {url} failed: {text}",
            fix="check that the Chroma server is running and reachable (papers doctor)",
        )
    path, lower = settings.store.path, text.lower()
    if any(word in lower for word in _DAMAGED):
        return PapersError(
            f"the store at {path} is damaged ({text})",
            fix="run `papers ingest --rebuild` to build it again (the damaged files are kept beside it as a backup)",
        )
    if any(word in lower for word in _READ_ONLY):
        return PapersError(
            f"the store at {path} cannot be written ({text}); Chroma needs write access even to read",
            fix=f"make {path} writable, or use a copy of it with --store",
        )
    return PapersError(
        f"the store at {path} failed: {text}", fix="run `papers doctor`; `papers ingest --rebuild` rebuilds it"
    )


def set_aside(settings: Settings) -> Path | None:
    """Move a local store's Chroma folder aside and delete the indexes derived from it (for --rebuild, even of a damaged store);
    returns the backup folder, or None when there was nothing to move."""
    folder = settings.store.path / "chroma"
    if settings.store.chroma_url or not folder.exists():
        return None
    from chromadb.api.client import SharedSystemClient

    backup = settings.store.path / time.strftime("backup-%Y%m%d-%H%M%S")
    backup.mkdir(parents=True)
    folder.rename(backup / "chroma")
    SharedSystemClient.clear_system_cache()  # chromadb keeps one client per path and process: not the moved one
    shutil.rmtree(settings.store.path / "bm25", ignore_errors=True)
    for kind in ("tokens", "words", "vectors"):
        shutil.rmtree(settings.store.path / kind, ignore_errors=True)
    return backup


def open_store(settings: Settings) -> Store:
    return Store(settings)
