"""The baseline: LlamaIndex's default pipeline ingesting the same files in a new process.

HuggingFaceEmbedding (the model PAPERS_EMBED_MODEL names, all-mpnet-base-v2 by default: the same installed weights) into a VectorStoreIndex on a persistent
Chroma collection, every other setting left at LlamaIndex's default (SentenceSplitter 1024/200, batch 10).

    python evals/bench/llamaindex_ingest.py STORE_DIR FILE ...
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    import chromadb
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from assistant.config import Settings as PapersSettings
    from assistant.embeddings import local_model_folder
    from assistant.sources import read_file

    store, files = Path(sys.argv[1]), [Path(f) for f in sys.argv[2:]]
    docs = [Document(text=f"{p.title}\n{p.abstract}") for f in files for p in read_file(f).papers]
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(local_model_folder(PapersSettings())), device="cpu")
    Settings.llm = None
    client = chromadb.PersistentClient(path=str(store))
    vector_store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(vector_store=vector_store))
    print(len(docs))


if __name__ == "__main__":
    main()
