"""Embedding backends behind one small interface: a local sentence-transformers model (all-mpnet-base-v2 by
default, all-MiniLM-L6-v2 as the faster choice; offline) or an OpenAI-compatible API.

The local models run on ONNX Runtime on the CPU (int8 by default, or fp32), or on torch (fp16 on a CUDA device
when torch sees one, fp32 on the CPU). Every runtime gives the model's token outputs before pooling, so one run
of the model over a paper yields its whole-paper vector, its chunks' vectors and its word vectors
(encode_papers; ingest.py), and one run over a question its vector and its word vectors (encode_query).
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.config import EmbeddingSettings, Settings
from assistant.errors import PapersError
from assistant.model_files import LOCAL_MODELS, MINILM, LocalModel, model_folder

if TYPE_CHECKING:
    import numpy as np

# per-channel int8 weights: cosine to fp32 mean 0.993 on all-MiniLM-L6-v2 (per-tensor int8 was 0.949; same
# speed; evals/bench/README.md). A new name, so a store of per-tensor int8 vectors is never mixed with these.
INT8_SUFFIX = "-int8-pc"
WINDOW_OVERLAP = 0.25  # share of a window repeated in the next one, for texts longer than the model's window


class Embedder(Protocol):
    name: str  # recorded in the collection; a different name at query time is an error

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


class LocalEncoder:
    """A local model's tokenizer, windows and mean pooling; a runtime implements `_forward` (padded ids and
    mask in, token outputs out) and says how many texts one run may hold (`_batch`).

    Texts longer than the model's window are encoded in windows overlapping by WINDOW_OVERLAP, and each token
    gets the mean of its outputs over the windows that hold it, so no text is truncated.
    """

    name: str
    _batch: int

    def __init__(self, model: LocalModel, folder: Path):
        self.model = model
        self._tokenizer = _tokenizer(str(folder / "tokenizer.json"))
        self._last_query: tuple[str, tuple] | None = None  # encode_query's last text and result
        self.runs = 0  # texts (windows) passed through the model: ingest encodes each paper once

    @property
    def dimension(self) -> int:
        return self.model.dimension

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _run(self, sequences: list[list[int]]) -> list[np.ndarray]:
        """Each id sequence's token outputs (float32, one row per id), batched by length with minimal padding."""
        import numpy as np

        out: list[np.ndarray | None] = [None] * len(sequences)
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        for start in range(0, len(order), self._batch):
            rows = order[start : start + self._batch]
            width = max(len(sequences[r]) for r in rows)
            ids = np.zeros((len(rows), width), dtype="int64")
            mask = np.zeros((len(rows), width), dtype="int64")
            for i, r in enumerate(rows):
                ids[i, : len(sequences[r])] = sequences[r]
                mask[i, : len(sequences[r])] = 1
            hidden = self._forward(ids, mask)
            self.runs += len(rows)
            for i, r in enumerate(rows):
                out[r] = np.asarray(hidden[i, : len(sequences[r])], dtype="float32")
        return out  # type: ignore[return-value]

    def _windows(self, ids: list[int]) -> list[tuple[int, list[int]]]:
        """(start in the content tokens, window ids with the special tokens) covering a text's tokens."""
        size = self.model.max_tokens - 2
        content, first, last = ids[1:-1], ids[:1], ids[-1:]
        if len(content) <= size:
            return [(0, ids)]
        step = max(1, int(size * (1 - WINDOW_OVERLAP)))
        starts = list(range(0, len(content) - size, step)) + [len(content) - size]
        return [(s, first + content[s : s + size] + last) for s in starts]

    def hidden(self, encodings: list) -> list[np.ndarray]:
        """Each encoded text's token outputs, one row per token ([CLS] and [SEP] included), from one pass of the
        model over the text (in windows when it is longer than the model's)."""
        import numpy as np

        plans = [self._windows(e.ids) for e in encodings]
        flat = self._run([w for plan in plans for _, w in plan])
        out = []
        for e, plan in zip(encodings, plans, strict=True):
            outputs, flat = flat[: len(plan)], flat[len(plan) :]
            if len(plan) == 1:
                out.append(outputs[0])
                continue
            total = np.zeros((len(e.ids), self.dimension), dtype="float32")
            counts = np.zeros(len(e.ids), dtype="float32")
            for (start, _), hidden in zip(plan, outputs, strict=True):
                total[start + 1 : start + len(hidden) - 1] += hidden[1:-1]
                counts[start + 1 : start + len(hidden) - 1] += 1
            total[0], total[-1] = outputs[0][0], outputs[-1][-1]
            counts[0] = counts[-1] = 1
            out.append(total / counts[:, None])
        return out

    def encode(self, texts: list[str]) -> list:
        return self._tokenizer.encode_batch(texts)

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        pooled = np.stack([h.mean(axis=0) for h in self.hidden(self.encode(texts))])
        return unit_rows(pooled).astype("float32")

    def token_vectors(self, texts: list[str]) -> list[tuple[object, np.ndarray]]:
        """Each text's tokenizer encoding (word ids, offsets) and its unit-length token vectors ([CLS] and [SEP]
        included), before pooling: what a word-by-word match of two texts needs."""
        encodings = self.encode(texts)
        return [(e, unit_rows(h)) for e, h in zip(encodings, self.hidden(encodings), strict=True)]

    def encode_query(self, text: str) -> tuple[np.ndarray, tuple[object, np.ndarray]]:
        """The text's embedding (as embed() gives it) and its encoding with its token outputs, from one run of
        the model: retrieval needs both for a question, and the near-miss check (abstain.py) the token outputs
        again, so the last question's result is kept."""
        import numpy as np

        last = self._last_query
        if last is not None and last[0] == text:
            return last[1]
        encoding = self._tokenizer.encode(text)
        hidden = self.hidden([encoding])[0]
        pooled = hidden.mean(axis=0)
        result = pooled / max(float(np.linalg.norm(pooled)), 1e-12), (encoding, hidden)
        self._last_query = (text, result)  # one assignment: a chat worker thread reads a whole pair
        return result


def _export_onnx(model: LocalModel, weights: Path, folder: Path, quantized: bool) -> Path:
    """Export the installed weights to ONNX once (int8: dynamic quantisation of that export); atomic writes,
    and a failed write (a full disk) is a PapersError that leaves no partial file."""
    try:
        return _export(model, weights, folder, quantized)
    except OSError as exc:
        for partial in folder.glob(f"*.tmp{os.getpid()}"):
            partial.unlink(missing_ok=True)
        raise PapersError(
            f"cannot export {model.name} to ONNX in {folder}: {exc.strerror or exc}",
            fix="free about 700 MB there and make it writable, or set PAPERS_EMBED_CACHE_DIR to another folder",
        ) from None


def _export(model: LocalModel, weights: Path, folder: Path, quantized: bool) -> Path:
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        class _Encoder(torch.nn.Module):  # keyword call: BertModel.forward's positional order changed in v5
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                extra = {"token_type_ids": torch.zeros_like(input_ids)} if model.type_ids else {}
                return self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

        folder.mkdir(parents=True, exist_ok=True)
        inner = AutoModel.from_pretrained(str(weights), use_safetensors=True).eval()
        ids = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        tmp = fp32.with_suffix(f".tmp{os.getpid()}")
        with warnings.catch_warnings():  # the exporter's notes on opset details are not for users
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Encoder(inner),
                (ids, ids),
                str(tmp),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={n: axes for n in ("input_ids", "attention_mask", "last_hidden_state")},
                opset_version=17,
                dynamo=False,
            )
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
        keep = []
        if model.int8_fp32:
            import onnx

            graph = onnx.load(str(fp32), load_external_data=False).graph
            keep = [n.name for n in graph.node if n.op_type == "MatMul" and model.int8_fp32 in n.name]
            keep = [n for n in keep if "attention" not in n]
            if not keep:  # an exporter naming its nodes otherwise would quantise them all under the same name
                raise PapersError(
                    f"the ONNX export of {model.name} has no MatMul named like '{model.int8_fp32}' to keep in fp32",
                    fix="set PAPERS_EMBED_RUNTIME=onnx (fp32), and report the torch version in use",
                )
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep)
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        os.replace(tmp, int8)
    return int8


class OnnxEncoder(LocalEncoder):
    """A local model on ONNX Runtime (CPU), exported offline from the installed weights (sentence-transformers'
    ONNX backend needs optimum and the Hugging Face hub).

    int8 runs one text per run: dynamic quantisation scales activations per run, so padding a batch would move
    a text's vectors (token cosines down to 0.973 against the text encoded alone), and the same question must
    get the same vector at ingest and at query time. On 2 cores batching saves little for 100-400 token texts.
    """

    def __init__(self, model: LocalModel, cache: Path, quantized: bool, batch_size: int = 16):
        import onnxruntime as ort

        weights = model_folder(model.name, cache)
        super().__init__(model, weights)
        self.name = model.name + (INT8_SUFFIX if quantized else "")
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        path = _export_onnx(model, weights, cache / "onnx" / model.name, quantized)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._batch = 1 if quantized else batch_size

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class TorchEncoder(LocalEncoder):
    """A local model on torch: fp16 on a CUDA device (the GPU path), fp32 on the CPU. Loads only the safetensors
    weights. Vectors agree with the fp32 ONNX model's, so both record the model's plain name."""

    def __init__(self, model: LocalModel, cache: Path, device: str, batch_size: int = 16):
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        weights = model_folder(model.name, cache)
        super().__init__(model, weights)
        self.name = model.name
        self.device = device
        dtype = torch.float16 if device == "cuda" else torch.float32
        self._torch = torch
        self._model = AutoModel.from_pretrained(str(weights), use_safetensors=True, torch_dtype=dtype).to(device).eval()
        self._batch = batch_size * 8 if device == "cuda" else batch_size

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            inputs = {
                "input_ids": torch.from_numpy(ids).to(self.device),
                "attention_mask": torch.from_numpy(mask).to(self.device),
            }
            if self.model.type_ids:
                inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
            return self._model(**inputs).last_hidden_state.float().cpu().numpy()


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


@functools.cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA device. Without NVIDIA's driver (no /proc/driver/nvidia) torch is not even
    imported: that costs ~1 s per command; a broken CUDA install counts as no device."""
    import importlib.util

    if not Path("/proc/driver/nvidia").exists() or importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def local_device(settings: Settings) -> str:
    """Where the local model runs: cuda (torch, fp16) or cpu (the runtime setting)."""
    device = settings.embedding.device
    if device == "cuda" and not cuda_available():
        raise PapersError(
            "PAPERS_EMBED_DEVICE=cuda, but torch sees no CUDA device",
            fix="unset PAPERS_EMBED_DEVICE (or set it to cpu), or install a CUDA build of torch on a GPU machine",
        )
    if device == "auto":
        return "cuda" if settings.embedding.backend == "local" and cuda_available() else "cpu"
    return device


def embedder_name(settings: Settings) -> str:
    """The name the embedder records in the collection, without loading it."""
    embedding = settings.embedding
    if embedding.backend == "local" and embedding.runtime == "onnx-int8" and local_device(settings) == "cpu":
        return embedding.model + INT8_SUFFIX
    return embedding.model


def _local_model(name: str) -> LocalModel:
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        raise PapersError(
            f"the local backend has {' and '.join(LOCAL_MODELS)}, not '{name}'",
            fix=f"unset PAPERS_EMBED_MODEL, or use PAPERS_EMBED_BACKEND=openai for '{name}'",
        ) from None


@functools.cache
def _cached_local(name: str, runtime: str, device: str, batch_size: int, cache: Path) -> LocalEncoder:
    model = _local_model(name)
    if device == "cuda" or runtime == "torch":
        return TorchEncoder(model, cache, device, batch_size)
    return OnnxEncoder(model, cache, quantized=runtime == "onnx-int8", batch_size=batch_size)


def model_cache(settings: Settings) -> Path:
    """Where the models' weights and ONNX exports live: PAPERS_EMBED_CACHE_DIR, else the platform's per-user
    cache folder, one for every store (a copy in each store was 109 MB that `papers stats` counted)."""
    if settings.embedding.cache_dir:
        return settings.embedding.cache_dir
    from platformdirs import user_cache_path

    return user_cache_path("papers") / "models"


def local_encoder(settings: Settings) -> LocalEncoder:
    """The local model the settings name, loaded once per process (its ONNX export is made on first use and
    cached per user: model_cache)."""
    embedding = settings.embedding
    return _cached_local(
        embedding.model, embedding.runtime, local_device(settings), embedding.batch_size, model_cache(settings)
    )


def token_encoder(settings: Settings) -> LocalEncoder:
    """The local model that gives word vectors for the rerank: the query embedder when it is local, else
    all-mpnet-base-v2 int8 (its weights ship with the package, so this works whatever embeds the store)."""
    if settings.embedding.backend == "local":
        return local_encoder(settings)
    from assistant.model_files import MPNET

    return _cached_local(MPNET, "onnx-int8", "cpu", settings.embedding.batch_size, model_cache(settings))


def token_model(settings: Settings) -> tuple[str, str]:
    """The name token_encoder's vectors are recorded under and its model's name, without loading it."""
    if settings.embedding.backend == "local":
        return embedder_name(settings), settings.embedding.model
    from assistant.model_files import MPNET

    return MPNET + INT8_SUFFIX, MPNET


def support_encoder(settings: Settings) -> LocalEncoder:
    """The model of the support check (support.py): all-MiniLM-L6-v2 int8, whatever embeds the store, because
    the check's thresholds were calibrated on its vectors (evals/support_calibrate.py)."""
    return _cached_local(MINILM, "onnx-int8", "cpu", settings.embedding.batch_size, model_cache(settings))


def model_tokenizer(settings: Settings):
    """The local model's word-piece tokenizer (light: no model loaded), used to size chunks."""
    name = settings.embedding.model if settings.embedding.backend == "local" else MINILM
    return _tokenizer(str(model_folder(_local_model(name).name, model_cache(settings)) / "tokenizer.json"))


@functools.cache
def _tokenizer(path: str):
    """A model's tokenizer without padding or truncation (shipped tokenizer.json files pad and truncate; we
    count real tokens and window long texts ourselves); one per file and process."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def local_model_folder(settings: Settings) -> Path:
    """The sentence-transformers folder of the local model the settings name (for the baselines)."""
    return model_folder(_local_model(settings.embedding.model).name, model_cache(settings))


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name; a local model is loaded once per process."""
    if settings.embedding.backend == "local":
        return local_encoder(settings)
    return OpenAIEmbedder(settings.embedding)
