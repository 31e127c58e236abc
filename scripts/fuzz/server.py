"""HTTP tries: `genai serve` on the tiny models, driven as a client."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

from .inputs import EITHER, REFUSE
from .outcome import Outcome, Try, short
from .targets import PATHS, Target

# --- the HTTP server, driven as a client ----------------------------------------------------


class Http:
    """`genai serve` on the sweep's tiny models, started on first use, in a thread."""

    def __init__(self) -> None:
        self.base: str | None = None
        self._stack = contextlib.ExitStack()
        self.models: dict[str, str] = {}

    def start(self) -> str:
        if self.base is None:
            from genai.server.config import ServerConfig
            from genai.server.testing import running

            self.models = {"chat": PATHS["llama"], "voice": PATHS["vits"], "pic": PATHS["sd"]}
            config = ServerConfig(models=dict(self.models), ui=False)
            self.base = self._stack.enter_context(running(config))
        return self.base

    def close(self) -> None:
        self._stack.close()


HTTP = Http()


def http_bodies(rng: random.Random) -> list[tuple[str, str, Any, str]]:
    """(label, path, JSON body or raw bytes, expectation) for the served models."""
    chat = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    speech = {"model": "voice", "input": "Hello there."}
    image = {"model": "pic", "prompt": "a cat", "size": "32x32", "num_inference_steps": 1}
    tries = [
        ("chat ok", "/v1/chat/completions", chat, EITHER),
        ("speech ok", "/v1/audio/speech", speech, EITHER),
        ("speech speed=1.0", "/v1/audio/speech", {**speech, "speed": 1.0}, EITHER),
    ]
    for speed in (0.001, 1e-6, 0.0, -1.0, 5.0, 10**400):
        tries.append(
            (f"speech speed={show(speed)}", "/v1/audio/speech", {**speech, "speed": speed}, REFUSE)
        )
    for name, value in (("temperature", 10**400), ("top_p", 10**400), ("max_tokens", 10**9),
                        ("max_tokens", 10**400), ("n", 10**9), ("frequency_penalty", 10**400),
                        ("temperature", "hot"), ("messages", []), ("stop", [""])):  # fmt: skip
        tries.append(
            (f"chat {name}={show(value)}", "/v1/chat/completions", {**chat, name: value}, REFUSE)
        )
    raw = json.dumps(chat).replace('"max_tokens": 2', '"max_tokens": 2, "temperature": NaN')
    tries.append(
        ("chat temperature=NaN (JSON extension)", "/v1/chat/completions", raw.encode(), REFUSE)
    )
    raw = json.dumps(speech)[:-1] + ', "speed": Infinity}'
    tries.append(("speech speed=Infinity", "/v1/audio/speech", raw.encode(), REFUSE))
    for size in ("\uff16\uff14x\uff16\uff14", "100000x100000", "0x0", "32x", "-32x32", "1e3x32"):
        tries.append(
            (f"image size={size!r}", "/v1/images/generations", {**image, "size": size}, REFUSE)
        )
    for name, value in (("n", 10**9), ("n", 0), ("num_inference_steps", 10**400)):
        tries.append(
            (
                f"image {name}={show(value)}",
                "/v1/images/generations",
                {**image, name: value},
                REFUSE,
            )
        )
    tries.append(("image ok", "/v1/images/generations", image, EITHER))
    return tries


def show(value: Any) -> str:
    from genai.params import show_value

    return show_value(value)


def try_http(rng: random.Random, targets: list[Target], scratch: Path) -> Try:
    label, path, body, expect = rng.choice(http_bodies(rng))
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def run(timeout: float) -> Outcome:
        import urllib.error
        import urllib.request

        base = HTTP.start()
        request = urllib.request.Request(
            base + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except (TimeoutError, urllib.error.URLError) as error:
            return Outcome("hang", f"no answer in {timeout:.0f} s ({error})")
        if status >= 500:
            return Outcome("5xx", f"{status}: {payload[:200]!r}")
        if status >= 400:
            try:
                message = json.loads(payload)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                return Outcome("wrong exception", f"{status} without an OpenAI error body")
            return Outcome("typed", f"{status}: {message[:160]}")
        if expect == REFUSE:
            return Outcome("silently wrong", f"{status}: accepted ({len(payload)} bytes)")
        return Outcome("ok")

    return Try(
        "http", path.rsplit("/", 1)[-1], label, expect,
        f"curl -X POST {path} -d {short(data.decode('utf-8', 'replace'), 100)}", custom=run,
    )  # fmt: skip
