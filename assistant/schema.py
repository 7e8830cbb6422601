"""The chunk schema, defined once: chunk ids, metadata keys, and where a paper's abstract lives.

- A paper with id P is stored as chunks "P:0" .. "P:{n-1}", in order; chunk 0 also carries the full abstract
  and every paper-level field, so one `get` of chunk 0 gives the whole paper.
- A paper counts as stored when its last chunk is (ingest writes a paper's chunks in order).
- The text embedded for a chunk is the title, a newline and the chunk text; the stored document is the chunk
  text alone.
- Each paper also has one whole-paper vector (title, newline, abstract; the mean of all its token outputs,
  from the same run of the model as its chunks' vectors: ingest.py) in a second collection, `<collection>-whole`, under the paper id, with the fields filters use.
  Ingest writes it before the paper's chunks, so a paper whose last chunk is stored has it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.sources import Paper

ABSTRACT = "abstract"  # metadata key, on chunk 0 only
# keys that llama-index's ChromaVectorStore wrote into stores built before the one write path
_LEGACY_KEYS = ("_node_content", "_node_type", "doc_id", "document_id", "ref_doc_id")


def chunk_id(paper_id: str, n: int) -> str:
    return f"{paper_id}:{n}"


def paper_of(chunk: str) -> str:
    """The paper id of a chunk id."""
    return chunk.rsplit(":", 1)[0]


def first_chunk(paper_id: str) -> str:
    """The chunk that holds the paper's full abstract and metadata."""
    return chunk_id(paper_id, 0)


def chunk_ids(paper_id: str, n_chunks: int) -> list[str]:
    return [chunk_id(paper_id, i) for i in range(n_chunks)]


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str  # stored as the document
    embed_text: str  # what is embedded: title + text
    metadata: dict


def date_fields(paper: Paper) -> dict:
    """The date metadata of every chunk of a paper (date_int, YYYYMMDD or 0, is what date filters compare)."""
    return {
        "date": paper.date,
        "date_iso": paper.date_iso,
        "date_int": int(paper.date_iso.replace("-", "")) if paper.date_iso else 0,
    }


def paper_chunks(paper: Paper, pieces: list[str]) -> list[Chunk]:
    """A paper's chunks with their metadata (the paper's fields on every chunk, the abstract on chunk 0)."""
    base = {
        "paper_id": paper.id,
        "title": paper.title,
        "authors": paper.authors,
        **date_fields(paper),
        "upvotes": paper.upvotes if paper.upvotes is not None else -1,
        "url": paper.url,
        "categories": paper.categories,
        "source": paper.source,
        "n_chunks": len(pieces),
    }
    chunks = []
    for i, text in enumerate(pieces):
        metadata = {**base, "chunk": i}
        if i == 0:
            metadata[ABSTRACT] = paper.abstract  # the full abstract, for answering and display
        chunks.append(Chunk(chunk_id(paper.id, i), text, f"{paper.title}\n{text}", metadata))
    return chunks


WHOLE_SUFFIX = "-whole"
FILTER_KEYS = ("date_int", "source")  # the metadata a whole-paper vector carries, for `where` filters


def whole_text(paper: Paper) -> str:
    """What the whole-paper vector embeds."""
    return f"{paper.title}\n{paper.abstract}"


def paper_fields(metadata: dict) -> dict:
    """A stored chunk's metadata without the abstract and without keys older stores carry."""
    return {k: v for k, v in metadata.items() if k != ABSTRACT and k not in _LEGACY_KEYS}
