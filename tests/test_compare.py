"""The comparison board: one prompt and seed through several models, figures and outputs saved."""

from __future__ import annotations

import html
import json

import pytest

import genai
from genai import provenance
from genai.cli import main as cli
from genai.compare import compare


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


def test_a_board_of_two_text_models_has_figures_and_renders(
    tiny_llama_dir, tiny_gpt2_dir, tmp_path
):
    def loaded() -> set[str]:
        return {g.source.location for g in genai.loaded()} & {tiny_llama_dir, tiny_gpt2_dir}

    seen, before = [], loaded()
    board = compare(
        "the fox",
        [tiny_llama_dir, tiny_gpt2_dir],
        seed=3,
        max_new_tokens=6,
        temperature=0,
        on_entry=seen.append,
    )
    assert [e.model for e in seen] == [tiny_llama_dir, tiny_gpt2_dir]
    for entry in board.entries:
        assert entry.error is None
        figures = entry.figures
        assert figures["load_s"] >= 0 and figures["generate_s"] > 0
        # A model loaded before its turn (by another test here) has no peak of its own.
        assert (
            figures["memory_mb"] is None
            if figures.get("loaded_before")
            else figures["memory_mb"] >= 0
        )
        assert figures["tokens"] == entry.result.completion_tokens
        assert figures["tokens_per_s"] > 0
        assert figures["output_bytes"] == len(entry.result.text.encode())
        assert entry.result.seed == 3
    assert loaded() == before  # what the board loaded, it unloaded

    paths = board.save(tmp_path / "board")
    assert sorted(p.name for p in paths) == ["board.html", "board.json"]
    page = (tmp_path / "board" / "board.html").read_text()
    assert page.count('<div class="card">') == 2 and "tokens / s" in page
    for entry in board.entries:  # each model's text is on the page, escaped as HTML
        assert f"<pre>{html.escape(entry.result.text)}</pre>" in page, entry.result.text
    saved = json.loads((tmp_path / "board" / "board.json").read_text())
    assert saved["seed"] == 3 and saved["parameters"] == {"max_new_tokens": 6, "temperature": 0}
    assert saved["entries"][1]["text"] == board.entries[1].result.text
    for entry in saved["entries"]:
        provenance.validate_record(entry[provenance.KEY])
    assert tiny_llama_dir not in json.dumps(saved["entries"][0][provenance.KEY])


@pytest.mark.slow
def test_an_image_board_embeds_the_pictures_and_saves_a_grid(tmp_path):
    from PIL import Image

    from genai.testing.image import make_tiny_sd

    folders = [str(make_tiny_sd(tmp_path / f"sd-{n}", seed=n)) for n in (0, 1)]
    board = compare("a fox", folders, seed=1, num_inference_steps=1, width=32, height=32)
    assert [e.figures["s_per_image"] > 0 for e in board.entries] == [True, True]
    assert board.entries[0].figures["size"] == "32x32"
    board.save(tmp_path / "board")
    assert (tmp_path / "board" / "board.html").read_text().count("data:image/png;base64,") == 2
    with Image.open(tmp_path / "board" / "grid.png") as grid:
        assert grid.size == (512, 276)


def test_an_audio_board_embeds_players(tmp_path):
    from genai.testing.audio import make_tiny_vits

    folder = str(make_tiny_vits(tmp_path / "vits"))
    board = compare("hello there", [folder], seed=1)
    assert board.entries[0].figures["real_time_factor"] > 0
    assert board.entries[0].figures["duration_s"] == pytest.approx(
        board.entries[0].result.duration, abs=1e-3
    )
    assert '<audio controls src="data:audio/wav;base64,' in board.html()


def test_models_of_two_modalities_are_refused_before_any_loads(tiny_llama_dir, tmp_path):
    from genai.testing.audio import make_tiny_vits

    folder = str(make_tiny_vits(tmp_path / "vits"))
    with pytest.raises(genai.InvalidParameterError, match="one modality"):
        compare("x", [tiny_llama_dir, folder])


def test_a_model_that_fails_is_shown_with_its_error_and_the_others_go_on(tiny_llama_dir, tmp_path):
    board = compare("the fox", ["smollm2-360m", tiny_llama_dir], seed=1, max_new_tokens=3)
    assert board.entries[0].result is None and "genai pull" in board.entries[0].error
    assert board.entries[1].error is None
    page = board.html()
    assert 'class="error"' in page and page.count('<div class="card">') == 2


def test_the_compare_command_writes_the_board(tiny_llama_dir, tmp_path, capsys):
    code = cli(
        [
            "compare",
            "the fox",
            "--models",
            tiny_llama_dir,
            "--seed",
            "2",
            "--param",
            "max_new_tokens=4",
            "-o",
            str(tmp_path / "b"),
        ]
    )
    assert code == 0
    assert "tokens_per_s" in capsys.readouterr().out
    assert json.loads((tmp_path / "b" / "board.json").read_text())["parameters"] == {
        "max_new_tokens": 4
    }
    assert cli(["compare", "x", "--models", tiny_llama_dir, "--param", "oops"]) == 2


@pytest.mark.real_weights
@pytest.mark.slow
def test_a_board_with_the_real_smollm2_renders(smollm2_gguf, tiny_llama_dir, tmp_path):
    from genai.testing.answers import assert_right_answer

    question = "What is the capital of France?"
    board = compare(
        question, ["smollm2-135m-gguf", tiny_llama_dir], seed=1, max_new_tokens=32, temperature=0
    )
    assert all(e.error is None and e.figures["tokens_per_s"] > 0 for e in board.entries)
    answer = board.entries[0].result
    assert answer.text == "The capital of France is Paris."  # as genai.load gives it
    assert_right_answer(answer.text, "Paris", question=question, finish_reason=answer.finish_reason)
    board.save(tmp_path / "board")
    page = (tmp_path / "board" / "board.html").read_text()
    assert "smollm2-135m-gguf" in page and f"<pre>{answer.text}</pre>" in page
