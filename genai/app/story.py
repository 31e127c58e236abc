"""The Story tab: one idea in; the text model writes a story and a picture prompt, the image
model illustrates it, the speech model reads it aloud, shown stage by stage."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

import genai

from ..provenance import story_record
from ..results.base import atomic_write_text
from .callbacks import MAX_SEED, Tab, as_int, as_seed, in_thread, require_text, streamed
from .image import image_caption, paint
from .models import slot_task, takes_prompt
from .speech import speak
from .widgets import PRIVATE, Picker, model_picker, seed_box, stop_button, wire_run

STORY_SYSTEM = (
    "You are a storyteller. You write short, vivid, complete stories in plain English "
    "for all ages. No lists, no headings, no notes: only the story."
)
STORY_REQUEST = "Write a short story, about {words} words, about this idea: {idea}"
PICTURE_REQUEST = (
    "{story}\n\nDescribe a picture of the main scene of this story in one short sentence."
)
PORTRAIT = "a portrait of the hero"


def whole_sentences(text: str) -> str:
    """The text up to its last sentence end (a story cut off by the token limit ends cleanly)."""
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)]*(?=\s|$)", text)]
    return text[: ends[-1]].strip() if ends else text.strip()


def first_sentence(text: str) -> str:
    match = re.search(r"[.!?…](?=\s|$)", text)
    return (text[: match.end()] if match else text).strip().strip('"')


def speakable(text: str) -> str:
    """Text for a voice: without markdown marks a model may add."""
    return re.sub(r"[*#_`>~]+", "", text).strip()


def skipped(stages: list[str], what: str, error: Exception) -> None:
    """A stage that failed, said in the stages and in a pop-up (the story goes on)."""
    message = error.message if isinstance(error, gr.Error) else str(error)
    stages[-1] = f"⚠ no {what}: {message}"
    gr.Warning(f"No {what}: {message}")


def save_record(folder: Path, seed: int, parts: dict[str, Any], files: dict[str, str]) -> str:
    """``story-<seed>.json`` in ``folder`` (beside the picture and the narration): each part's
    provenance, so ``genai replay`` / ``genai verify`` can make the whole story again."""
    record = story_record(parts, files=files)
    path = folder / f"story-{seed}.json"
    return str(atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False)))


class StoryTab(Tab):
    """One idea in: a story, its illustration and its narration."""

    async def story(
        self,
        idea: str,
        text_model: str,
        image_model: str,
        speech_model: str,
        words: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> AsyncIterator[tuple[str, str, str | None, str | None, str, str | None]]:
        """Idea -> story (streamed) -> picture prompt -> picture -> narration, stage by stage.

        Yields (story, picture prompt, picture file, narration file, stages, story record
        file). A stage that fails (an image model that is not on disk, say) is reported and
        the others go on. Once all stages ran, the story record (``story-<seed>.json``)
        holds the provenance of each part made.
        """
        idea = require_text(idea, "The idea")
        seed = as_seed(seed)
        seed = random.SystemRandom().randint(0, MAX_SEED) if seed is None else seed
        same_seed = {"seed": seed}  # the picture and the voice draw from the story's seed
        load = self.studio.load_or_raise
        stages = [f"… writing the story (seed {seed})…"]
        story, picture_prompt, picture, narration, record = "", "", None, None, None
        parts: dict[str, Any] = {}  # each part's result, for the story record
        files: dict[str, str] = {}

        def state() -> tuple[str, str, str | None, str | None, str, str | None]:
            return story, picture_prompt, picture, narration, "\n\n".join(stages), record

        yield state()
        try:
            writer = await in_thread(lambda _: load("text", text_model, progress))
            request = STORY_REQUEST.format(words=as_int(words), idea=idea)
            # Keep within small models' contexts (SmolLM2 has 8192): about 2 characters a token.
            context = writer.info().get("context_length") or 4096
            room = context - (len(STORY_SYSTEM) + len(request)) // 2 - 32
            stream = writer.stream(
                request,
                system_prompt=STORY_SYSTEM,
                max_new_tokens=max(16, min(int(words * 2), room)),
                temperature=0.7,
                top_p=0.9,
                seed=seed,
            )
            async for piece in streamed(stream):
                story += piece
                yield state()
            if stream.result.finish_reason == "length":
                story = whole_sentences(story)
            story = story.strip()
            parts["story"] = stream.result
            stages[-1] = f"✓ story: {len(story.split())} word(s) by {stream.result.model}"
        except genai.GenaiError as error:  # no story, nothing to illustrate or narrate
            stages[-1] = f"⚠ no story: {error}"
            yield state()
            raise gr.Error(str(error), print_exception=False) from error

        prompted = takes_prompt(slot_task("image", image_model or self.studio.defaults["image"]))
        if prompted:
            stages.append("… writing a picture prompt…")
            yield state()
            try:
                described = await in_thread(
                    lambda _: writer(
                        PICTURE_REQUEST.format(story=(story or idea)[:1200]),
                        max_new_tokens=min(50, context // 4),
                        temperature=0.3,
                        repetition_penalty=1.1,
                        stop=["\n"],
                        seed=seed,
                    )
                )
                picture_prompt = first_sentence(described.text) or idea
                parts["picture_prompt"] = described
                stages[-1] = "… painting the illustration…"
            except genai.GenaiError as error:  # the idea itself makes a fine picture prompt
                picture_prompt = idea
                stages[-1] = f"… painting the illustration from the idea ({error})…"
        else:
            picture_prompt = f"{PORTRAIT} (the image model draws without a prompt)"
            stages.append(f"… painting {PORTRAIT}…")
        yield state()
        try:
            painter = await in_thread(lambda _: load("image", image_model, progress))
            result, painted = await paint(
                self.studio, painter, picture_prompt, same_seed, folder="story", progress=progress
            )
            picture = painted[0]
            parts["illustration"], files["illustration"] = result, picture
            what = "illustration" if prompted else f"{PORTRAIT}, drawn without a prompt,"
            stages[-1] = f"✓ {what} by {result.model} ({image_caption(result, 0)})"
        except (gr.Error, genai.GenaiError) as error:
            skipped(stages, "illustration", error)
        stages.append("… narrating…")
        yield state()

        try:
            narrator = await in_thread(lambda _: load("speech", speech_model, progress))
            spoken, spoken_files = await speak(
                self.studio,
                narrator,
                speakable(story) or idea,
                same_seed,
                folder="story",
                progress=progress,
            )
            narration = next(str(p) for p in spoken_files if p.suffix.lower() in (".wav", ".flac"))
            parts["narration"], files["narration"] = spoken, narration
            stages[-1] = f"✓ narration by {spoken.model}: {spoken.duration:.1f} s"
        except (gr.Error, genai.GenaiError) as error:
            skipped(stages, "narration", error)
        folder = self.studio.folder("story")
        record = await in_thread(lambda _: save_record(folder, seed, parts, files))
        yield state()

    def build(self, defaults: dict[str, str], limit: dict[str, Any]) -> list[Picker]:
        gr.Markdown(
            "One idea in: the text model writes a short story and a picture prompt, the "
            "image model illustrates it (a model that draws without a prompt gives a portrait "
            "of the hero), the speech model reads it aloud."
        )
        pickers = []
        with gr.Row():
            for slot, label in (
                ("text", "Writer"),
                ("image", "Illustrator"),
                ("speech", "Narrator"),
            ):
                with gr.Column():
                    pickers.append(
                        model_picker(slot, defaults[slot], label=label, elem_id=f"story-{slot}")
                    )
        with gr.Row():
            idea = gr.Textbox(
                label="Idea",
                scale=4,
                elem_id="story-idea",
                placeholder="a robot who learns to paint",
            )
            words = gr.Slider(20, 300, value=120, step=10, label="Words (about)", scale=2)
        seed = seed_box("story-seed")
        with gr.Row():
            go = gr.Button("Tell the story", variant="primary", elem_id="story-generate")
            stop = stop_button("story-stop")
        gr.Examples(
            [["a robot who learns to paint"], ["a lighthouse keeper and a lost whale"]],
            inputs=[idea],
            cache_examples=False,
        )
        stages = gr.Markdown(elem_id="story-stages")
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Textbox(label="Story", lines=12, interactive=False, elem_id="story-text")
                narration = gr.Audio(
                    label="Narration", type="filepath", interactive=False, elem_id="story-audio"
                )
            with gr.Column(scale=2):
                picture = gr.Image(
                    label="Illustration",
                    type="filepath",
                    format="png",
                    height=360,
                    interactive=False,
                    elem_id="story-image",
                )
                picture_prompt = gr.Textbox(
                    label="Picture prompt (written by the text model)",
                    interactive=False,
                    elem_id="story-picture-prompt",
                )
                record_file = gr.File(
                    label="Story record (genai replay / genai verify make it again)",
                    interactive=False,
                    elem_id="story-record",
                )
        # The record's path travels in a State (not part of the /story API), then to the file.
        record = gr.State()
        event = wire_run(
            go,
            stop,
            self.story,
            [idea, *(p.dropdown for p in pickers), words, seed],
            [text, picture_prompt, picture, narration, stages, record],
            api_name="story",
            limit=limit,
            pickers=pickers,
        )
        event.then(lambda path: path, record, record_file, **PRIVATE)
        return pickers
