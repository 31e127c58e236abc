"""A try, its outcome, and how one API call or one `genai` command is classified."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import genai

from . import ROOT
from .inputs import REFUSE

# --- tries and their outcome ----------------------------------------------------------------


@dataclass
class Try:
    surface: str  # "api" or "cli"
    target: str
    label: str
    expect: str
    repro: str
    run: Callable[[], Any] | None = None  # api
    custom: Callable[[float], Outcome] | None = None  # classifies itself (threads, http, batch)
    argv: list[Any] = field(default_factory=list)  # cli (str or bytes)
    stdin: bytes | None = None
    shell: str | None = None  # cli: arguments run by bash after `python -m genai` (redirections)
    stdin_path: str | None = None  # cli: a file to read stdin from (/dev/zero)
    stdout_path: str | None = None  # cli: a file to write stdout to (/dev/full)
    check: Callable[[Any], str | None] | None = None  # after success: a reason it was silent
    after: Callable[[], str | None] | None = None  # after any outcome: damage left behind


@dataclass
class Outcome:
    column: str
    detail: str = ""


def short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"...<{len(text)} chars>"


def run_api(attempt: Try, timeout: float) -> Outcome:
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = attempt.run()
        except BaseException as error:  # classified below
            box["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or time.monotonic() - started > timeout:
        return Outcome("hang", f"still running after {timeout:.0f} s")
    damage = attempt.after() if attempt.after else None
    error = box.get("error")
    if error is not None:
        if isinstance(error, genai.GenaiError):
            if damage:
                return Outcome("silently wrong", f"{type(error).__name__} but {damage}")
            return Outcome("typed", f"{type(error).__name__}: {str(error)[:160]}")
        return Outcome("wrong exception", f"{type(error).__name__}: {str(error)[:200]}")
    if damage:
        return Outcome("silently wrong", damage)
    if attempt.expect == REFUSE:
        return Outcome("silently wrong", f"accepted, returned {short(box.get('value'), 100)}")
    reason = attempt.check(box.get("value")) if attempt.check else None
    return Outcome("silently wrong", reason) if reason else Outcome("ok")


CLI_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def run_cli(attempt: Try, timeout: float) -> Outcome:
    argv = [sys.executable, "-m", "genai", *attempt.argv]
    if attempt.shell is not None:
        argv = ["bash", "-c", f"'{sys.executable}' -m genai {attempt.shell}"]
    streams: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with contextlib.ExitStack() as files:
        if attempt.stdin_path is not None:
            streams["stdin"] = files.enter_context(open(attempt.stdin_path, "rb"))
        else:
            streams["input"] = attempt.stdin if attempt.stdin is not None else b""
        if attempt.stdout_path is not None:
            streams["stdout"] = files.enter_context(open(attempt.stdout_path, "wb"))
        try:
            done = subprocess.run(
                argv, timeout=timeout, env=CLI_ENV, cwd=tempfile.gettempdir(), **streams
            )
        except subprocess.TimeoutExpired:
            return Outcome("hang", f"still running after {timeout:.0f} s")
    done.stdout = done.stdout or b""
    stderr = done.stderr.decode("utf-8", "replace")
    damage = attempt.after() if attempt.after else None
    if "Traceback (most recent call last)" in stderr:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:]
        return Outcome("traceback", f"exit {done.returncode}: {' '.join(last)[:200]}")
    errors = [line for line in stderr.splitlines() if line.startswith("genai: error:")]
    if done.returncode == 0:
        if damage:
            return Outcome("silently wrong", damage)
        if attempt.expect == REFUSE:
            return Outcome(
                "silently wrong", "exit 0: " + done.stdout.decode("utf-8", "replace")[:100]
            )
        return Outcome("ok")
    if done.returncode == 2 and len(errors) == 1:
        return (
            Outcome("silently wrong", f"exit 2 but {damage}")
            if damage
            else Outcome("typed", errors[0][:200])
        )
    tail = " | ".join(stderr.strip().splitlines()[-2:])[:200]
    return Outcome(
        "wrong exception", f"exit {done.returncode}, {len(errors)} error line(s): {tail}"
    )
