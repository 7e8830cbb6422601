"""Fit a local model's word basis (assistant/word_basis/<model>.npz): the mean of its content-word vectors over
the bundled corpus and their top principal directions after that mean is taken off, onto which the word index
projects (assistant/words.py).

Uncentred by default (the mean saved is zero): every contextual word vector shares a large common component,
and taking it off (--centre) spreads the word cosines but lowered the rerank's hit@1 on the researcher dev
sets at 64 directions, 0.604 -> 0.574 (evals/README.md, Word index). Run once per model; the int8 ONNX model,
which ingest uses, gives the vectors.

    HF_HUB_OFFLINE=1 python evals/experiments/word_basis.py [--model all-mpnet-base-v2] [--dims 128] [--centre]
"""

from __future__ import annotations

import argparse

import numpy as np

from assistant.config import EmbeddingSettings, Settings, bundled_corpus_files
from assistant.embeddings import get_embedder
from assistant.sources import read_file
from assistant.words import BASIS_DIR, content_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-mpnet-base-v2")
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--centre", action="store_true", help="take the mean word vector off before projecting")
    args = parser.parse_args()
    encoder = get_embedder(Settings(embedding=EmbeddingSettings(model=args.model, runtime="onnx-int8", device="cpu")))
    rows = []
    for paper in (p for f in bundled_corpus_files() for p in read_file(f).papers):
        text = f"{paper.title}\n{paper.abstract}"
        encoding = encoder.encode([text])[0]
        hidden = encoder.hidden([encoding])[0]
        unit = hidden / np.linalg.norm(hidden, axis=1, keepdims=True)
        rows += [unit[positions].mean(axis=0) for positions in content_words(text, encoding).values()]
    matrix = np.stack(rows)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    mean = matrix.mean(axis=0) if args.centre else np.zeros(matrix.shape[1], dtype="float32")
    _, singular, right = np.linalg.svd(matrix - mean, full_matrices=False)
    kept = (singular[: args.dims] ** 2).sum() / (singular**2).sum()
    np.savez(BASIS_DIR / f"{args.model}.npz", mean=mean.astype("float32"), basis=right[: args.dims].T.astype("float16"))
    print(f"{args.model}: {len(matrix)} word vectors, {args.dims} directions keep {kept:.3f} of the energy")


if __name__ == "__main__":
    main()
