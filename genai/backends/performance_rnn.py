"""PerformanceRNN: solo piano performances, event by event, rendered to audio (and kept as MIDI).

The model (Simon & Oore 2017, Magenta; this checkpoint from the ``coopertunes`` wheel, MIT,
trained on the classical piano MIDI files of piano-midi.de) is a 3-layer GRU of 512 units
that predicts the next performance event: note-on or note-off for one of the 88 keys, one of
32 velocities, or a time shift (genai.backends.midi_render has the vocabulary). It may be
steered by a control vector, as in djosix/Performance-RNN-PyTorch which the checkpoint
follows: a pitch-class histogram (genai fills it from a ``key`` such as "D minor": the
notes of that scale) and a note density (``note_density`` 0-11, about 3n+1 notes per two
seconds). A key named in the prompt ("a calm piece in A minor") is used when no ``key=`` is
given; the model reads no other text.

Generation samples ``duration`` seconds of events from a torch.Generator of its own (no
global RNG, no lock), decodes them to notes, writes a MIDI file and renders it (FluidSynth
with a General MIDI piano when installed, else a small numpy piano synth); the audio is
exactly ``duration`` seconds. Same seed, same events, same MIDI, same audio.

The network runs on the model's device in float32 (a small GRU: half precision saves
nothing and rounds the probabilities); the random numbers are always drawn on the CPU from
that CPU generator (the probabilities are fetched each event anyway, to know the time), so
a seed draws the same numbers on every machine and no CPU generator meets a GPU tensor.

The architecture lives here; the checkpoint is loaded into it with strict key matching
(``torch.load(weights_only=True)``), so a changed wheel fails loudly. coopertunes itself is
never imported.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import time
from typing import Any

from ..errors import InvalidParameterError, UnsupportedModelError
from ..params import Param, check_text
from ..seeding import torch_generator
from ..specs.audio import AUDIO, COMMON
from . import midi_render
from .audio import AudioGenerator, report, stop_if_cancelled

_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
KEYS = tuple(f"{name} {mode}" for mode in _SCALES for name in _NAMES)
_KEY_IN_TEXT = re.compile(r"\b([A-G])([#b♯♭]?)[ -]?(major|minor|maj|min)\b", re.IGNORECASE)
DENSITY_LEVELS = 12
# Events a second never reached by a pianist (dense playing is about 60): the sampling stops
# here even if the model keeps time from moving on.
MAX_EVENTS_PER_SECOND = 200
SAMPLE_RATE = 44_100


def key_name(text: str) -> str | None:
    """'C major', 'F# minor'... from a key name or a sentence naming one; None if none is named."""
    found = _KEY_IN_TEXT.search(text.replace("♯", "#").replace("♭", "b"))
    if not found:
        return None
    letter, accidental, mode = found.groups()
    name = _FLATS.get(letter.upper() + accidental, letter.upper() + accidental)
    if name not in _NAMES:  # E#, B#, Cb, Fb
        name = _NAMES[(_NAMES.index(letter.upper()) + (1 if accidental == "#" else -1)) % 12]
    return f"{name} {'major' if mode.lower().startswith('maj') else 'minor'}"


def _check_key(value: str) -> str:
    # H5a: the whole value must be a key ("C minor extra" is not)
    name = key_name(value) if _KEY_IN_TEXT.fullmatch(value.strip()) else None
    if name is None:
        raise InvalidParameterError(
            f"key={value!r} is not a key; give a note and a mode, such as 'C major' or 'F# minor'"
        )
    return name


class PerformanceRNN:
    """The network, built on first use so that importing this module does not import torch."""

    def __new__(cls, event_dim: int, control_dim: int, init_dim: int, hidden: int, layers: int):
        import torch
        from torch import nn

        class Network(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers, self.hidden, self.control_dim = layers, hidden, control_dim
                self.inithid_fc = nn.Linear(init_dim, layers * hidden)
                self.event_embedding = nn.Embedding(event_dim, event_dim)
                self.concat_input_fc = nn.Linear(event_dim + 1 + control_dim, hidden)
                self.gru = nn.GRU(hidden, hidden, num_layers=layers)
                self.output_fc = nn.Linear(layers * hidden, event_dim)

            def initial_hidden(self, init):
                return torch.tanh(self.inithid_fc(init)).view(self.layers, 1, self.hidden)

            def step(self, event, control, hidden):
                """Logits of the next event after ``event`` (shape [1, 1]); ``control`` [1, 1, C] or None."""
                embedded = self.event_embedding(event)
                like = {"device": embedded.device, "dtype": embedded.dtype}
                if control is None:  # the "no control" flag set, the control vector zero
                    flag = torch.ones(1, 1, 1, **like)
                    control = torch.zeros(1, 1, self.control_dim, **like)
                else:
                    flag = torch.zeros(1, 1, 1, **like)
                x = self.concat_input_fc(torch.cat([embedded, flag, control], -1))
                _, hidden = self.gru(nn.functional.leaky_relu(x, 0.1), hidden)
                return self.output_fc(hidden.permute(1, 0, 2).reshape(1, -1)), hidden

        return Network()


def load_network(path: str):
    """The network of a checkpoint ({"model": state_dict} or a bare state dict), strict keys."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint.get("model", checkpoint)
        embedding = state["event_embedding.weight"]
        concat = state["concat_input_fc.weight"]
        init = state["inithid_fc.weight"]
    except (
        OSError,
        RuntimeError,
        ValueError,
        KeyError,
        AttributeError,
        EOFError,
        pickle.UnpicklingError,
    ) as error:
        raise UnsupportedModelError(
            f"{path}: not a PerformanceRNN checkpoint ({type(error).__name__}: {error})"
        ) from error
    events, hidden = embedding.shape[0], concat.shape[0]
    if events != midi_render.EVENTS:
        raise UnsupportedModelError(
            f"{path}: the model has {events} event types; genai reads the {midi_render.EVENTS}"
            "-event PerformanceRNN vocabulary (note on/off, 32 velocities, 32 time shifts)"
        )
    network = PerformanceRNN(
        events, concat.shape[1] - events - 1, init.shape[1], hidden, init.shape[0] // hidden
    )
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise UnsupportedModelError(
            f"{path}: weights do not fit PerformanceRNN: {error}"
        ) from error
    return network.eval()


class PerformanceRNNGenerator(AudioGenerator):
    """``genai.load("piano-rnn")("a calm piece in D minor", duration=10, seed=1)``."""

    call_spec = AUDIO.only("duration", "max_duration", "temperature", *COMMON).plus(
        Param(
            "key", str, None, "steer towards the notes of a key, e.g. 'D minor'", check=_check_key
        ),
        Param(
            "note_density",
            int,
            None,
            "how busy: 0 (sparse) to 11 (dense)",
            low=0,
            high=DENSITY_LEVELS - 1,
        ),
        Param(
            "renderer",
            str,
            "auto",
            "auto (FluidSynth if installed), fluidsynth or synth",
            choices=("auto", "fluidsynth", "synth"),
        ),
    )
    load_option_names = ("max_duration",)
    uses_global_rng = False

    def _load(self) -> None:
        reason = f"{self.placement.reason}; PerformanceRNN runs in float32 (a small GRU)"
        self.placement = dataclasses.replace(self.placement, dtype_name="float32", reason=reason)
        self.network = load_network(self.source.location).to(self.placement.device)

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def __call__(self, prompt: str = "", **parameters: Any):
        """Play ``duration`` seconds of piano (the prompt may name a key; nothing else of it is read).

        Keywords: ``seed``, ``duration``, ``temperature`` (1.0 as trained; lower is tamer),
        ``key``, ``note_density``, ``renderer``, ``progress(done, total)`` (percent of the
        duration), ``cancel`` (a threading.Event), and the output options ``sample_rate``,
        ``normalize``, ``fade_in``, ``fade_out``, ``trim``. The result holds the MIDI file
        (``result.midi``, saved beside the audio) and draws it (``result.piano_roll()``).
        """
        if prompt is None:
            prompt = ""
        check_text(prompt, "prompt", max_chars=1000)  # H5a: 0, [] and b"" typed; it names a key
        settings = self._settings(parameters)
        if prompt:
            settings["key"] = settings["key"] or key_name(prompt)
        duration = self.check_duration(settings, minimum=0.1)
        started = time.perf_counter()
        with self.running():
            events = self._sample(settings, duration)
        notes = midi_render.decode(events, duration)
        audio, renderer = midi_render.render(notes, duration, SAMPLE_RATE, settings["renderer"])
        return self._result(
            audio,
            SAMPLE_RATE,
            prompt=prompt,
            settings=settings,
            started=started,
            midi=midi_render.to_midi_bytes(notes),
            renderer=renderer,
        )

    def _control(self, settings: dict[str, Any]):
        """The control vector: note density (one-hot), then the pitch-class histogram; or None."""
        import torch

        key, density = settings.get("key"), settings.get("note_density")
        if key is None and density is None:
            return None
        histogram = torch.full((12,), 1 / 12)
        if key is not None:
            name, mode = key.split()
            tonic = _NAMES.index(name)
            histogram = torch.zeros(12)
            histogram[[(tonic + step) % 12 for step in _SCALES[mode]]] = 1 / 7
        level = torch.zeros(DENSITY_LEVELS)
        level[density if density is not None else 5] = 1.0
        return torch.cat([level, histogram])[None, None, :]

    def _sample(self, settings: dict[str, Any], duration: float) -> list[int]:
        """Events until ``duration`` seconds of time have passed, checking ``cancel`` as it goes."""
        import torch

        generator = torch_generator(settings["seed"])  # CPU: every draw happens there
        device = self.placement.device
        network, control = self.network, self._control(settings)
        control = None if control is None else control.to(device)
        temperature = float(settings["temperature"])
        progress, cancel = settings.get("progress"), settings.get("cancel")
        init = torch.randn(1, network.inithid_fc.in_features, generator=generator)
        hidden = network.initial_hidden(init.to(device))
        # The start event the model was fed.
        event = torch.tensor([[midi_render.EVENTS - 1]], device=device)
        events: list[int] = []
        elapsed, reported = 0.0, 0
        while elapsed < duration and len(events) < duration * MAX_EVENTS_PER_SECOND:
            logits, hidden = network.step(event, control, hidden)
            probabilities = torch.softmax(logits[0] / temperature, -1).cpu()
            drawn = torch.multinomial(probabilities, 1, generator=generator)
            events.append(int(drawn))
            event = drawn.to(device)[None]
            elapsed += midi_render.event_time(events[-1])
            if len(events) % 64 == 0:
                done = min(99, int(100 * elapsed / duration))
                stop_if_cancelled(cancel, done, 100)
                if done > reported:
                    report(progress, done, 100)
                    reported = done
        report(progress, 100, 100)
        return events

    def _release(self) -> None:
        self.network = None
