"""papers: a research assistant for the terminal over paper abstracts."""

import os

# numpy's OpenBLAS keeps its worker threads spinning after each product; on 2 cores they take the CPU from
# Chroma's and ONNX Runtime's threads. Our products are small (at most 25 x 384 by 384 x ~7,000 for the
# rerank), so one thread is enough: warm retrieval p95 98.5-109.8 ms -> 48.8 ms, and 43.6 -> 30.9 ms without
# the rerank (evals/bench/latency_ab.py, 127 questions). Set before numpy is first imported; a value the user
# set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
