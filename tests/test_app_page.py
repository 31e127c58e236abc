"""genai.app without a server: the port check, no leaked temp folders, file permissions,
controls built from a parameter spec, an unconditional image model, and Stop that really
stops the model (the request cancelled the way Gradio cancels it)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "demos" / "app.py"


def run_python(code: str, env: dict[str, str] | None = None, *args: str):
    return subprocess.run(
        [sys.executable, *(["-c", textwrap.dedent(code)] if code else []), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- starting -------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "0", "-5"])
def test_genai_demo_refuses_a_port_out_of_range_in_one_line(port):
    done = run_python("", None, "-m", "genai", "demo", "--port", port)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"genai: error: --port {port} is not a port number")
    assert "Traceback" not in done.stderr


def test_genai_demo_refuses_a_port_in_use_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_python("", None, "-m", "genai", "demo", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith(f"genai: error: --port {port} on 127.0.0.1 cannot be used")
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_genai_app_temp_folder_is_left_behind(tmp_path):
    """Importing and building the app twice, writing into its temporary output folder, and a
    failed start (a bad port) leave no genai-app-* folder."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "HF_HUB_OFFLINE": "1"}
    done = run_python(
        f"""
        import importlib.util
        for round in range(2):
            spec = importlib.util.spec_from_file_location("app_" + str(round), {str(APP)!r})
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        made = module.demo.studio.folder("images")  # the first output makes the folder
        assert made.is_dir() and made.parent.name.startswith("genai-app-"), made
        print(made)
        """,
        env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "genai-app-" in done.stdout  # it was made, under $TMPDIR
    failed = run_python("", env, str(APP), "--port", "99999")
    assert failed.returncode == 2 and "--port 99999" in failed.stderr, failed.stderr[-2000:]
    assert not list(temp.glob("genai-app-*"))


def test_outputs_respect_the_umask(tmp_path):
    done = run_python(
        f"""
        import os
        os.umask(0o027)
        import numpy as np
        from genai.app.studio import Studio
        from genai.results.audio import AudioResult

        studio = Studio({{}}, {str(tmp_path)!r})
        result = AudioResult(model="x", waveform=np.zeros((1, 1600), np.float32), seed=1)
        for path in studio.save(result, "audio"):
            print(path.name, oct(path.stat().st_mode & 0o777))
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modes = dict(line.split() for line in done.stdout.splitlines())
    assert any(name.endswith(".wav") for name in modes) and set(modes.values()) == {"0o640"}


# --- controls from the parameter specs ------------------------------------------------------


def test_a_control_follows_the_modality_spec_when_it_declares_the_parameter(monkeypatch):
    from genai.app.text import MAX_NEW_TOKENS, TEMPERATURE
    from genai.app.widgets import control
    from genai.params import Param, ParamSpec

    spec = types.ModuleType("genai.specs.text")
    spec.TEXT = ParamSpec(
        "text",
        (
            Param("temperature", float, 0.8, "how adventurous", low=0.0, high=1.5),
            Param("max_new_tokens", int, 64, "tokens to write", low=1),
        ),
    )
    monkeypatch.setitem(sys.modules, "genai.specs.text", spec)
    slider = control("text", TEMPERATURE)
    assert (slider.minimum, slider.maximum, slider.value, slider.info) == (
        0.0,
        1.5,
        0.8,
        "how adventurous",
    )
    # The spec gives no upper bound: the page's own one (here the model's context) holds.
    tokens = control("text", MAX_NEW_TOKENS, value=32, maximum=8192)
    assert (tokens.maximum, tokens.value, tokens.info) == (8192, 32, "tokens to write")
    monkeypatch.setitem(sys.modules, "genai.specs.text", types.ModuleType("genai.specs.text"))
    assert control("text", TEMPERATURE).maximum == TEMPERATURE.high  # no spec: the fallback


# --- an unconditional image model -------------------------------------------------------------


@pytest.fixture(scope="module")
def ddpm(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_ddpm

    return str(make_tiny_ddpm(tmp_path_factory.mktemp("ddpm") / "ddpm"))


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("sd") / "sd"))


def test_an_unconditional_model_hides_the_prompt_and_draws_without_one(ddpm, tiny_sd, tmp_path):
    from genai.app.image import ImageTab, shown_controls
    from genai.app.models import status_line
    from genai.app.studio import Studio

    studio = Studio({"image": ddpm}, tmp_path)
    assert shown_controls(studio, tiny_sd)["prompt"] is True
    shown = shown_controls(studio, ddpm)
    assert not shown["prompt"] and not shown["negative_prompt"] and not shown["guidance_scale"]
    assert not shown["walk"]  # a diffusion model has no walk between seeds
    assert "draws without a prompt" in status_line("image", ddpm)
    tab = ImageTab(studio)
    gallery, files, summary = asyncio.run(
        tab.generate(ddpm, "", "ignored", 2, 7.5, 0, 0, 5, 2, progress=None)
    )
    assert len(gallery) == 2 and all(Path(f).suffix == ".png" for f in files)
    assert "draws without a prompt" in summary and "seeds 5, 6" in summary


def test_a_story_drawn_by_a_model_without_a_prompt_says_the_picture_is_not_of_the_story(
    ddpm, tiny_llama_dir, tmp_path
):
    from genai.app.story import StoryTab
    from genai.app.studio import Studio
    from genai.testing.audio import make_tiny_vits

    vits = str(make_tiny_vits(tmp_path / "vits"))
    studio = Studio({"text": tiny_llama_dir, "image": ddpm, "speech": vits}, tmp_path / "out")

    async def tell():
        updates = StoryTab(studio).story("a fox", tiny_llama_dir, ddpm, vits, 20, 2, progress=None)
        return [update async for update in updates]

    story, picture_prompt, picture, narration, stages, record = asyncio.run(tell())[-1]
    assert picture_prompt.startswith("(none: ") and "draws without a prompt" in picture_prompt
    assert "which draws without a prompt" in stages and "not an illustration of the story" in stages
    assert Path(picture).suffix == ".png" and Path(narration).suffix == ".wav"
    assert stages.count("✓") == 3


# --- Stop stops the model, not only the page ---------------------------------------------------


def test_cancelling_an_image_request_stops_the_model_at_its_next_step(tiny_sd, tmp_path):
    import genai
    from genai.app.image import ImageTab
    from genai.app.studio import Studio

    studio = Studio({"image": tiny_sd}, tmp_path)
    tab = ImageTab(studio)
    steps: list[tuple[int, int]] = []
    first_step = threading.Event()

    def progress(value, desc=None, unit=None):
        if desc == "denoising":
            steps.append(value)
            first_step.set()

    async def start_then_cancel():
        job = asyncio.ensure_future(
            tab.generate(tiny_sd, "a fox", "", 200, 5.0, 0, 0, 1, 4, progress=progress)
        )
        while not first_step.is_set():
            await asyncio.sleep(0.01)
        job.cancel()  # what Gradio does on Stop or a client's job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(start_then_cancel())
    generator = genai.load(tiny_sd)
    started = time.monotonic()
    with studio.using(generator):  # the worker thread let go of the model
        freed = time.monotonic() - started
    time.sleep(0.5)
    assert freed < 10 and len(steps) < 100, (freed, len(steps))  # of 4 x 200 steps
    assert not list(tmp_path.rglob("*.png"))  # nothing was finished, nothing saved


def test_stop_ends_the_reply_of_its_own_session_and_no_other(tiny_llama_dir, tmp_path):
    """The Text tab's Stop: the pressing session's reply ends, saying so; another's goes on."""
    from genai.app.studio import Studio
    from genai.app.text import TextTab

    tab = TextTab(Studio({"text": tiny_llama_dir}, tmp_path))
    ours, theirs = (types.SimpleNamespace(session_hash=name) for name in ("ours", "theirs"))
    assert tab.stops.stop("ours") == 0  # nothing running: nothing to stop

    async def chat(request, stop_at: int | None):
        updates = []
        replies = tab.chat(
            "tell me a long story", [], tiny_llama_dir, "", 100, 0.0, 1.0, 1, request=request
        )
        async for update in replies:
            updates.append(update)
            if len(updates) == stop_at:
                tab.stop(ours)
        return updates[-1]

    async def both():
        return await asyncio.gather(chat(ours, 3), chat(theirs, None))

    (our_chat, _, our_stats), (their_chat, _, their_stats) = asyncio.run(both())
    assert our_stats == "stopped", our_stats
    assert our_chat[-1]["content"].strip()  # the reply so far stays on the page
    assert their_stats.startswith("100 tokens"), their_stats
    assert len(their_chat[-1]["content"]) > len(our_chat[-1]["content"])
    assert tab.stops._running == {}  # nothing left registered


# --- from a wheel -------------------------------------------------------------------------------

# What pip says when it cannot download (the build backend, in an isolated build).
NETWORK_FAILURES = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Network is unreachable",
)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_genai_demo_works_from_an_installed_wheel(tmp_path):
    """Build the wheel, install it (no deps) into a fresh venv that sees this one's packages,
    and run `genai demo --help` and build the app there, away from the checkout."""
    import shutil
    import sysconfig

    source = tmp_path / "source"
    source.mkdir()
    shutil.copytree(ROOT / "genai", source / "genai", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        # The only excuse: the isolated build could not download its backend because PyPI
        # is out of reach. Anything else (a broken pyproject, a missing file) fails.
        offline = not reachable("pypi.org", 443)
        if offline and any(word in built.stderr for word in NETWORK_FAILURES):
            pytest.skip("offline: the wheel's build backend cannot be downloaded from PyPI")
        pytest.fail(f"the wheel did not build:\n{built.stdout[-2000:]}\n{built.stderr[-3000:]}")
    wheel = next((tmp_path / "dist").glob("genai_showcase-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # This venv's packages (torch, gradio...) after the fresh one's own: a path in a .pth file
    # (its own .pth files, this checkout's editable install among them, are not run).
    fresh = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(fresh, "parent-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GENAI_DEMO_APP")}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    away = tmp_path / "elsewhere"  # not the checkout: its genai/ must not be imported
    away.mkdir()
    helped = subprocess.run(
        [str(venv / "bin" / "genai"), "demo", "--help"],
        cwd=away,
        env=env,
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0 and "--port" in helped.stdout, helped.stderr[-2000:]
    built_app = subprocess.run(
        [
            str(python),
            "-c",
            "import genai, genai.app; print(genai.__file__); "
            "demo = genai.app.build_demo(); print(sorted(f.api_name for f in demo.fns.values() "
            "if f.api_name in ('chat', 'image', 'speech', 'audio', 'story')))",
        ],
        cwd=away,
        env={**env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built_app.returncode == 0, built_app.stderr[-3000:]
    where, endpoints = built_app.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(venv)), where
    assert endpoints == "['audio', 'chat', 'image', 'speech', 'story']"
