"""What the tabs' pages share: a model picker with its status line, a seed box, an audio
player with its mel picture, a control built from a parameter, and the Run/Stop wiring.

``control(modality, fallback)`` builds a slider, number box, dropdown, checkbox or text box
from the modality's parameter spec (``genai.specs.<modality>``: bounds, default, help) when
it declares the parameter, else from the tab's own ``fallback`` Param, so the app follows
the specs as they grow without listing any bound twice.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from ..params import Param, ParamSpec
from .callbacks import MAX_SEED
from .models import SLOTS, model_choices, status_of

# --- number controls that name themselves in their messages ---------------------------------


def checked_number(component: gr.Slider | gr.Number, payload: Any) -> Any:
    """A slider's or number box's value as the page sent it, checked before the callback:
    text, nan or a value outside its range is a message naming the control (through the
    API anything can arrive), never Gradio's generic error."""
    name = component.param_name
    if payload is None or payload == "":
        return None
    if isinstance(payload, bool) or not isinstance(payload, (int, float)):
        raise gr.Error(f"{name}={payload!r} must be a number", print_exception=False)
    if not math.isfinite(payload):
        raise gr.Error(f"{name}={payload} must be a finite number", print_exception=False)
    low, high = component.minimum, component.maximum
    if (low is not None and payload < low) or (high is not None and payload > high):
        shown = (
            f"{'-inf' if low is None else f'{low:g}'} to {'inf' if high is None else f'{high:g}'}"
        )
        raise gr.Error(
            f"{name}={payload:g} is outside this control's range, {shown}", print_exception=False
        )
    return gr.Number.round_to_precision(payload, component.precision)


def checked_control(kind: type, param_name: str, **options: Any) -> Any:
    """A gr.Slider or gr.Number for the parameter ``param_name`` whose value is checked by
    :func:`checked_number` before the callback sees it. (Its ``preprocess`` is replaced on
    the instance: a subclass would make Gradio write a type stub beside this module.)"""
    component = kind(**options)
    component.param_name = param_name
    component.preprocess = functools.partial(checked_number, component)
    return component


def spec_param(modality: str, name: str) -> Param | None:
    """The parameter ``name`` as a spec in ``genai.specs.<modality>`` declares it, if one does."""
    try:
        module = importlib.import_module(f"genai.specs.{modality}")
    except ModuleNotFoundError:
        return None
    for value in vars(module).values():
        if isinstance(value, ParamSpec) and name in value:
            return value[name]
    return None


def merged(modality: str, fallback: Param) -> Param:
    """The spec's parameter within the page's own range (the narrower of the two bounds on
    each side: a speed slider stays 0.5-2 even where the spec allows 0-4), with the
    fallback's default and help where the spec has none."""
    found = spec_param(modality, fallback.name)
    if found is None:
        return fallback

    def narrower(a: float | None, b: float | None, pick) -> float | None:
        return b if a is None else a if b is None else pick(a, b)

    return replace(
        found,
        default=fallback.default if found.default is None else found.default,
        low=narrower(fallback.low, found.low, max),
        high=narrower(fallback.high, found.high, min),
        help=found.help or fallback.help,
    )


def control(modality: str, fallback: Param, *, value: Any = None, **look: Any) -> gr.Component:
    """A control for one parameter. ``look`` passes to the component (label, info, step,
    elem_id, minimum for a "0: the model's default" slider...); ``value`` overrides the default."""
    param = merged(modality, fallback)
    value = param.default if value is None else value
    options: dict[str, Any] = {
        "label": param.name.replace("_", " ").capitalize(),
        "info": param.help or None,
        **look,
    }
    if param.choices is not None:
        return gr.Dropdown(choices=list(param.choices), value=value, **options)
    if param.type is bool:
        return gr.Checkbox(value=bool(value), **options)
    if param.type in (int, float):
        bounds = {"minimum": param.low, "maximum": param.high}
        bounds.update({k: look[k] for k in ("minimum", "maximum") if k in look})
        options.update(bounds)
        if bounds["minimum"] is not None and bounds["maximum"] is not None:
            options.setdefault("step", 1 if param.type is int else 0.05)
            return checked_control(gr.Slider, param.name, value=value, **options)
        options.pop("step", None)
        precision = 0 if param.type is int else None
        return checked_control(gr.Number, param.name, value=value, precision=precision, **options)
    return gr.Textbox(value=value, **options)


@dataclass
class Picker:
    """A model picker on the page: its slot, dropdown, Load button, status line, the API
    name of its Load event (None: not in the API), and what to refresh once it loaded."""

    slot: str
    dropdown: gr.Dropdown
    load: gr.Button
    status: gr.Markdown
    api_name: str | None = None
    after_load: Callable[[str], Any] | None = None
    after_load_output: gr.Component | None = None


def model_picker(
    slot: str,
    default: str,
    *,
    label: str | None = None,
    elem_id: str | None = None,
    api_name: str | None = None,
    served: list[str] | None = None,
    only: Callable[[str], bool] | None = None,
) -> Picker:
    """A model dropdown with a Load button (the API endpoint ``api_name``, if any), and the
    status line of the model it names below it. Its choices: the catalog models that work
    here (a hub id or a local path may be typed in), or only ``served`` (a server's, then
    nothing else may be typed). ``only`` keeps the choices it says yes to."""
    load = gr.Button("Load now", size="sm", elem_id=f"{elem_id or slot}-load")
    choices = model_choices(slot, default, served)
    if only is not None:
        choices = [(label, name) for label, name in choices if name == default or only(name)]
    dropdown = gr.Dropdown(
        choices=choices,
        value=default,
        label=label or SLOTS[slot].label,
        info=(
            "the models this server serves"
            if served is not None
            else "from the catalog, or type a hub id or a local path"
        ),
        allow_custom_value=served is None,
        elem_id=f"{elem_id or slot}-model",
        buttons=[load],
    )
    status = gr.Markdown(elem_id=f"{elem_id or slot}-status")
    return Picker(slot, dropdown, load, status, api_name)


def player_and_mel(label: str, tab: str) -> tuple[gr.Audio, gr.Image]:
    """An audio tab's player, and below it the mel spectrogram picture of what it plays."""
    player = gr.Audio(label=label, type="filepath", interactive=False, elem_id=f"{tab}-audio")
    mel = gr.Image(
        label="Mel spectrogram",
        type="pil",
        format="png",
        interactive=False,
        elem_id=f"{tab}-spectrogram",
    )
    return player, mel


def seed_box(elem_id: str) -> gr.Number:
    """A seed field (-1: random) with a button that draws one, in the browser."""
    dice = gr.Button("Random seed", size="sm")
    seed = checked_control(
        gr.Number,
        "seed",
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


def stop_button(elem_id: str) -> gr.Button:
    return gr.Button("Stop", variant="stop", size="sm", elem_id=elem_id)


# Events that only refresh the page: not in the API, never queued behind a long job.
PRIVATE = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}


def wire_run(
    go: gr.Button,
    stop: gr.Button,
    run: Callable[..., Any],
    inputs: list[gr.Component],
    outputs: list[gr.Component],
    *,
    api_name: str,
    limit: dict[str, Any],
    pickers: list[Picker],
    status: Callable[[str], Callable[[str], str]] = status_of,
) -> Any:
    """``go`` runs ``run`` (the API endpoint ``api_name``, in the tab's own queue), then
    refreshes each picker's status line (``status(slot)`` makes its callback) and what it
    refreshes after a load; ``stop`` cancels the run. Returns the run's event."""
    event = go.click(run, inputs, outputs, api_name=api_name, concurrency_id=api_name, **limit)
    for picker in pickers:
        refreshed = event.then(status(picker.slot), picker.dropdown, picker.status, **PRIVATE)
        if picker.after_load is not None:
            refreshed.then(picker.after_load, picker.dropdown, picker.after_load_output, **PRIVATE)
    stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
    return event
