"""The Story tab: one idea in; the text model writes a story and a picture prompt, the image
model illustrates it, the speech model reads it aloud, shown stage by stage."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

import genai

from ..files import atomic_write_text
from ..provenance import story_record
from ..specs.text import TEXT_SPEC
from .callbacks import (
    MAX_SEED,
    as_seed,
    checked,
    number,
    pieces_of,
    require_text,
    shown_in_page,
    with_cancel,
)
from .fitting import is_completion_model
from .models import catalog_defaults, entry_of, slot_task, takes_prompt
from .painting import image_caption, paint
from .speech import speak
from .studio import Tab
from .widgets import (
    PRIVATE,
    Picker,
    checked_control,
    model_picker,
    seed_box,
    stop_button,
    wire_run,
)

# No system prompt of the app's own: the request says what is wanted, the model's chat
# template adds its own default.
STORY_REQUEST = "Write a short story of about {words} words about {idea}."
PICTURE_REQUEST = (
    "{story}\n\nDescribe a picture of the main scene of this story in one short sentence."
)
# A text model outside the catalog writes with these (a catalog model with its entry's
# long_output settings): sampled, with a mild repetition penalty, so it does not loop.
LONG_OUTPUT = {"temperature": 0.6, "top_p": 0.9, "repetition_penalty": 1.15}
STORY_EXAMPLES = ("a robot who learns to paint", "a lighthouse keeper and a lost whale")
TOKENS_PER_WORD = 1.6  # English words are about 1.3 tokens; the rest is room to end a sentence
WORDS = (20, 300)


def whole_sentences(text: str) -> str:
    """The text up to its last sentence end (a story cut off by the token limit ends cleanly)."""
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)]*(?=\s|$)", text)]
    return text[: ends[-1]].strip() if ends else text.strip()


def first_sentence(text: str) -> str:
    match = re.search(r"[.!?…](?=\s|$)", text)
    return (text[: match.end()] if match else text).strip().strip('"')


def speakable(text: str) -> str:
    """Text for a voice: without markdown marks a model may add, nor control characters (a
    NUL in a model's text is refused as speech input)."""
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return re.sub(r"[*#_`>~]+", "", text).strip()


def skipped(stages: list[str], what: str, error: Exception) -> None:
    """A stage that failed, said in the stages and in a pop-up (the story goes on)."""
    message = error.message if isinstance(error, gr.Error) else str(error)
    stages[-1] = f"⚠ no {what}: {message}"
    gr.Warning(f"No {what}: {message}")


def writing_settings(name: str) -> dict[str, Any]:
    """How the model writes a long text: its catalog entry's sampling for long outputs."""
    entry = entry_of(name)
    found = entry.sampling(long=True) if entry is not None else dict(LONG_OUTPUT)
    return {
        k: v
        for k, v in found.items()
        if k in ("temperature", "top_p", "top_k", "repetition_penalty")
    }


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
        studio = self.studio
        with shown_in_page():
            idea = require_text(idea, "The idea")
            words = number(words, "words")
            if words is None or not WORDS[0] <= words <= WORDS[1]:
                raise gr.Error(
                    f"words={words!r}: give a length from {WORDS[0]} to {WORDS[1]} words",
                    print_exception=False,
                )
            seed = as_seed(seed)
            checked(TEXT_SPEC, seed=seed)
            names = {
                slot: studio.model_name(slot, name)
                for slot, name in (
                    ("text", text_model),
                    ("image", image_model),
                    ("speech", speech_model),
                )
            }
        seed = random.SystemRandom().randint(0, MAX_SEED) if seed is None else seed
        same_seed = {"seed": seed}  # the picture and the voice draw from the story's seed
        stages = [f"… writing the story (seed {seed})…"]
        story, picture_prompt, picture, narration, record = "", "", None, None, None
        parts: dict[str, Any] = {}  # each part's result, for the story record
        files: dict[str, str] = {}

        def state() -> tuple[str, str, str | None, str | None, str, str | None]:
            return story, picture_prompt, picture, narration, "\n\n".join(stages), record

        yield state()
        request = STORY_REQUEST.format(words=int(words), idea=idea)
        writing = writing_settings(names["text"])

        def write(put, cancel) -> Any:
            def work(writer: Any) -> Any:
                stream = writer.stream(
                    request,
                    **with_cancel(
                        writer,
                        cancel,
                        {**writing, "max_new_tokens": int(words * TOKENS_PER_WORD), "seed": seed},
                    ),
                )
                try:
                    for piece in stream:
                        put(piece)
                except BaseException:
                    stream.close()
                    raise
                return stream.result

            return studio.call("text", names["text"], work, cancel=cancel, progress=progress)

        try:
            async for kind, item in pieces_of(write):
                if kind == "piece":
                    story += item
                    yield state()
                else:
                    written = item
            # Cut by the token limit, or ended by the model after a fragment ("(The End)"):
            # the story ends on its last whole sentence.
            story = whole_sentences(story)
            parts["story"] = written
            stages[-1] = f"✓ story: {len(story.split())} words by {written.model}"
        except (gr.Error, genai.GenaiError) as error:  # no story, nothing to illustrate or narrate
            message = error.message if isinstance(error, gr.Error) else str(error)
            stages[-1] = f"⚠ no story: {message}"
            yield state()
            raise gr.Error(message, print_exception=False) from error

        prompted = takes_prompt(slot_task("image", names["image"]))
        if prompted:
            stages.append("… writing a picture prompt…")
            yield state()
            try:
                described = await studio.in_thread(
                    "text",
                    names["text"],
                    lambda writer, cancel: writer(
                        PICTURE_REQUEST.format(story=(story or idea)[:1200]),
                        max_new_tokens=50,
                        temperature=0.0,
                        repetition_penalty=1.1,
                        stop=["\n"],
                        seed=seed,
                    ),
                )
                picture_prompt = first_sentence(described.text) or idea
                parts["picture_prompt"] = described
                stages[-1] = "… painting the illustration…"
            except gr.Error as error:  # the idea itself makes a fine picture prompt
                picture_prompt = idea
                stages[-1] = f"… painting the illustration from the idea ({error.message})…"
        else:
            picture_prompt = (
                f"(none: {names['image']} draws without a prompt, so the picture does not "
                "show the story)"
            )
            stages.append(f"… drawing a picture with {names['image']} (it takes no prompt)…")
        yield state()
        try:
            shown = {k: v for k, v in catalog_defaults(names["image"]).items() if k != "num_images"}
            _, result, painted = await paint(
                studio,
                names["image"],
                picture_prompt if prompted else None,
                {**shown, **same_seed, "num_images": 1},
                folder="story",
                progress=progress,
            )
            picture = painted[0]
            parts["illustration"], files["illustration"] = result, picture
            if prompted:
                stages[-1] = f"✓ illustration by {result.model} ({image_caption(result, 0)})"
            else:
                stages[-1] = (
                    f"✓ picture by {result.model}, which draws without a prompt: a face from seed "
                    f"{result.seeds[0]}, not an illustration of the story "
                    f"({image_caption(result, 0)})"
                )
        except (gr.Error, genai.GenaiError) as error:
            skipped(stages, "illustration", error)
        stages.append("… narrating…")
        yield state()

        try:
            _, spoken, spoken_files = await speak(
                studio,
                names["speech"],
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
        folder = studio.folder("story")
        record = save_record(folder, seed, parts, files)
        yield state()

    def build(self, defaults: dict[str, str], limit: dict[str, Any]) -> list[Picker]:
        gr.Markdown(
            "One idea in: the text model writes a short story and a picture prompt, the "
            "image model illustrates it (a model that draws without a prompt gives a picture "
            "of its own, and the page says so), the speech model reads it aloud."
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
                        model_picker(
                            slot,
                            defaults[slot],
                            label=label,
                            elem_id=f"story-{slot}",
                            served=self.studio.served(slot),
                            # a base model continues text: it does not take a request
                            only=(lambda name: not is_completion_model(name))
                            if slot == "text"
                            else None,
                        )
                    )
        with gr.Row():
            idea = gr.Textbox(
                label="Idea",
                scale=4,
                elem_id="story-idea",
                placeholder="a robot who learns to paint",
            )
            words = checked_control(
                gr.Slider,
                "words",
                minimum=WORDS[0],
                maximum=WORDS[1],
                value=120,
                step=10,
                label="Words (about)",
                scale=2,
                elem_id="story-words",
            )
        seed = seed_box("story-seed")
        with gr.Row():
            go = gr.Button("Tell the story", variant="primary", elem_id="story-generate")
            stop = stop_button("story-stop")
        gr.Examples(
            [[example] for example in STORY_EXAMPLES],
            inputs=[idea],
            cache_examples=False,
            elem_id="story-examples",
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
                    label="Picture",
                    type="filepath",
                    format="png",
                    height=360,
                    interactive=False,
                    elem_id="story-image",
                    elem_classes=["crisp"],
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
            status=self.studio.status_of,
        )
        event.then(lambda path: path, record, record_file, **PRIVATE)
        return pickers
