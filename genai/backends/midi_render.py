"""Piano notes to MIDI, audio and pictures: PerformanceRNN events decoded, rendered, drawn.

Events (Magenta's PerformanceRNN vocabulary, as in djosix/Performance-RNN-PyTorch): 88
note-on (MIDI pitches 21-108), 88 note-off, 32 velocity steps and 32 time shifts of
``1.15**k / 65`` seconds (15 ms to 1.2 s). ``decode`` turns event numbers into notes,
``to_midi_bytes`` writes them as a Standard MIDI File (pretty_midi), and ``render`` makes
audio: FluidSynth with the FluidR3 General MIDI SoundFont when both are installed (a sampled
grand piano; ``fluidsynth_render``, the same samples in every process), else ``piano_synth``, a small additive synthesiser in numpy that is always
there (struck-string partials with a decay). The renderer used is said in the result.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger("genai.audio")

PITCH_LOW, PITCH_HIGH = 21, 108  # the 88 keys of a piano
KEYS = PITCH_HIGH - PITCH_LOW + 1
VELOCITY_STEPS = 32
TIME_SHIFTS = 1.15 ** np.arange(32) / 65  # seconds
NOTE_ON, NOTE_OFF = 0, KEYS
VELOCITY = 2 * KEYS
TIME_SHIFT = VELOCITY + VELOCITY_STEPS
EVENTS = TIME_SHIFT + len(TIME_SHIFTS)  # 240
# Velocity step k means MIDI velocity 21 + k * 88/31 (as the model was trained).
_VELOCITIES = np.arange(21, 109, 88 / (VELOCITY_STEPS - 1))
MIN_NOTE_S = 0.25  # a note-off sooner than this after its note-on is held this long
DEFAULT_NOTE_S = 1.0  # a note never switched off lasts this long
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PIANO_PROGRAM = 0  # General MIDI acoustic grand piano


@dataclass(frozen=True)
class Note:
    pitch: int
    start: float  # seconds
    end: float
    velocity: int


def event_time(event: int) -> float:
    """Seconds an event moves time on (0 for all but time shifts)."""
    return float(TIME_SHIFTS[event - TIME_SHIFT]) if event >= TIME_SHIFT else 0.0


def decode(events: list[int], duration: float) -> list[Note]:
    """Notes from event numbers, cut at ``duration`` seconds (notes starting later are dropped)."""
    time, velocity = 0.0, 64
    sounding: dict[int, tuple[float, int]] = {}
    notes: list[Note] = []

    def finish(pitch: int, end: float) -> None:
        start, vel = sounding.pop(pitch)
        notes.append(Note(pitch, start, min(max(end, start + MIN_NOTE_S), duration), vel))

    for event in events:
        if event < NOTE_OFF:
            pitch = PITCH_LOW + event
            if pitch in sounding:
                finish(pitch, time)
            if time < duration:
                sounding[pitch] = (time, velocity)
        elif event < VELOCITY:
            pitch = PITCH_LOW + event - NOTE_OFF
            if pitch in sounding:
                finish(pitch, time)
        elif event < TIME_SHIFT:
            velocity = int(_VELOCITIES[min(event - VELOCITY, len(_VELOCITIES) - 1)])
        else:
            time += event_time(event)
    for pitch, (start, _) in list(sounding.items()):
        finish(pitch, start + DEFAULT_NOTE_S)
    return sorted(notes, key=lambda note: (note.start, note.pitch))


def quiet_binding():
    """pyfluidsynth, imported with its print (``'fluidsynth' was found at …`` on standard
    output whenever ``CI`` is set) sent to the log instead: a command writing its result to
    standard output must write nothing else there. pretty_midi imports the same module, so
    it is imported here first. Raises ImportError or OSError when it is missing."""
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        import fluidsynth
    if said.getvalue().strip():
        logger.debug("pyfluidsynth: %s", said.getvalue().strip())
    return fluidsynth


def _pretty_midi():
    with contextlib.suppress(ImportError, OSError):
        quiet_binding()
    import pretty_midi

    return pretty_midi


def to_midi(notes: list[Note]):
    """A pretty_midi.PrettyMIDI holding the notes on one acoustic-piano track."""
    pretty_midi = _pretty_midi()

    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    piano = pretty_midi.Instrument(program=PIANO_PROGRAM, name="piano")
    piano.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in notes]
    midi.instruments.append(piano)
    return midi


def to_midi_bytes(notes: list[Note]) -> bytes:
    buffer = io.BytesIO()
    to_midi(notes).write(buffer)
    return buffer.getvalue()


def notes_of(midi_bytes: bytes) -> list[Note]:
    """The notes of a Standard MIDI File (all non-drum tracks)."""
    pretty_midi = _pretty_midi()

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    found = [
        Note(n.pitch, n.start, n.end, n.velocity)
        for instrument in midi.instruments
        if not instrument.is_drum
        for n in instrument.notes
    ]
    return sorted(found, key=lambda note: (note.start, note.pitch))


# --- audio -------------------------------------------------------------------------------------


def fluidsynth_available(soundfont: Path = SOUNDFONT) -> bool:
    """FluidSynth (the library and its Python binding) and the SoundFont are installed."""
    if not soundfont.is_file():
        return False
    try:
        return hasattr(quiet_binding(), "Synth")
    except (ImportError, OSError):  # the binding is there but libfluidsynth is not
        return False


def render(
    notes: list[Note], duration: float, sample_rate: int, renderer: str = "auto"
) -> tuple[np.ndarray, str]:
    """(float32 mono audio of exactly ``duration`` s, the renderer's name)."""
    if renderer in ("auto", "fluidsynth") and fluidsynth_available():
        audio = fluidsynth_render(notes, sample_rate)
        name = f"fluidsynth ({SOUNDFONT.name})"
    else:
        if renderer == "fluidsynth":
            logger.warning("FluidSynth or %s is missing: the built-in piano synth plays", SOUNDFONT)
        audio, name = piano_synth(notes, duration, sample_rate), "genai piano synth"
    return exact_length(np.asarray(audio, dtype=np.float32), duration, sample_rate), name


def fluidsynth_render(notes: list[Note], sample_rate: int) -> np.ndarray:
    """The notes played by FluidSynth's General MIDI piano, peak-normalised (float32, mono).

    The same notes give the same samples in any process: a fresh synthesizer per call (no
    reverb tail or voice left from an earlier piece), one rendering thread, and float
    output. pretty_midi's ``fluidsynth()`` reads 16-bit samples, which FluidSynth dithers
    with a noise table it fills from the C library's ``rand()`` once per process, so its
    audio depended on what else in the process had called ``rand()`` first (up to 99/32767
    apart after peak normalisation; issue 20).
    """
    import ctypes

    fluidsynth = quiet_binding()
    write_float = fluidsynth.cfunc(
        "fluid_synth_write_float",
        ctypes.c_int,
        ("synth", ctypes.c_void_p, 1),
        ("len", ctypes.c_int, 1),
        ("lout", ctypes.c_void_p, 1),
        ("loff", ctypes.c_int, 1),
        ("lincr", ctypes.c_int, 1),
        ("rout", ctypes.c_void_p, 1),
        ("roff", ctypes.c_int, 1),
        ("rincr", ctypes.c_int, 1),
    )
    # Note-offs before note-ons at the same moment (a repeated key sounds again), as pretty_midi.
    events = sorted(
        [(n.start, 1, n.pitch, n.velocity) for n in notes] + [(n.end, 0, n.pitch, 0) for n in notes]
    )
    end = (events[-1][0] if events else 0.0) + 1.0  # a second for the last release to ring
    out = np.zeros(2 * int(np.ceil(end * sample_rate)), dtype=np.float32)  # stereo, interleaved
    synth = fluidsynth.Synth(samplerate=float(sample_rate), **{"synth.cpu-cores": 1})
    try:
        program = synth.sfload(str(SOUNDFONT))
        synth.program_select(0, program, 0, PIANO_PROGRAM)
        done = 0

        def play_until(sample: int) -> None:
            nonlocal done
            if sample > done:
                view = out[2 * done : 2 * sample]
                address = view.ctypes.data
                write_float(synth.synth, sample - done, address, 0, 2, address, 1, 2)
                done = sample

        for time, kind, pitch, velocity in events:
            play_until(int(time * sample_rate))
            if kind:
                synth.noteon(0, pitch, velocity)
            else:
                synth.noteoff(0, pitch)
        play_until(out.size // 2)
    finally:
        synth.delete()
    left = out[0::2]
    peak = float(np.max(np.abs(left))) if left.size else 0.0
    return left / peak if peak > 0 else left


def exact_length(audio: np.ndarray, duration: float, sample_rate: int) -> np.ndarray:
    """Cut or pad with silence to ``duration`` seconds; a cut ends with a 20 ms fade."""
    samples = int(round(duration * sample_rate))
    if audio.size >= samples:
        audio = audio[:samples].copy()
        ramp = min(samples, int(0.02 * sample_rate))
        if ramp:
            audio[samples - ramp :] *= np.linspace(1.0, 0.0, ramp, dtype=np.float32)
        return audio
    return np.pad(audio, (0, samples - audio.size))


def piano_synth(notes: list[Note], duration: float, sample_rate: int) -> np.ndarray:
    """A piano-like sound in numpy: each note a few slightly inharmonic partials that decay.

    Higher partials and higher notes decay faster, as on a struck string; a note's release
    (its end) fades it over 80 ms. Loudness follows velocity. Deterministic: no noise.
    """
    total = int(round(duration * sample_rate)) + sample_rate  # room for the last release
    out = np.zeros(total, dtype=np.float64)
    release = int(0.08 * sample_rate)
    for note in notes:
        start = int(note.start * sample_rate)
        held = max(1, int((note.end - note.start) * sample_rate))
        length = min(held + release, total - start)
        if length <= 0:
            continue
        t = np.arange(length) / sample_rate
        frequency = 440.0 * 2.0 ** ((note.pitch - 69) / 12)
        decay = 1.5 + frequency / 400.0
        tone = np.zeros(length)
        for k in range(1, 7):
            partial = frequency * k * np.sqrt(1 + 0.0004 * k * k)
            if partial >= sample_rate / 2:
                break
            tone += np.sin(2 * np.pi * partial * t) * np.exp(-decay * k * 0.6 * t) / k**1.5
        envelope = np.minimum(1.0, t / 0.003)  # a 3 ms attack, no click
        if length > held:
            envelope[held:] *= np.linspace(1.0, 0.0, length - held)
        out[start : start + length] += tone * envelope * (note.velocity / 127.0) ** 1.5
    peak = np.max(np.abs(out)) if out.size else 0.0
    return (out * (0.6 / peak if peak > 0 else 1.0)).astype(np.float32)


# --- picture -----------------------------------------------------------------------------------


def piano_roll(
    notes: list[Note], duration: float | None = None, *, width: int = 800, height: int = 264
) -> Image.Image:
    """Notes over time: one row per piano key (low at the bottom), brighter for louder notes."""
    from PIL import Image

    duration = duration or max((n.end for n in notes), default=1.0)
    roll = np.zeros((KEYS, width, 3), dtype=np.float32)
    roll[:] = (24, 24, 32)
    black = [PITCH_HIGH - p for p in range(PITCH_LOW, PITCH_HIGH + 1) if p % 12 in (1, 3, 6, 8, 10)]
    roll[black] = (16, 16, 22)  # black-key rows a little darker, as on a keyboard
    for note in notes:
        row = PITCH_HIGH - note.pitch
        left = int(note.start / duration * width)
        right = max(left + 1, int(note.end / duration * width))
        level = 0.35 + 0.65 * note.velocity / 127.0
        roll[row, left:right] = (255 * level, 170 * level, 60 * level)
    image = Image.fromarray(roll.astype(np.uint8), "RGB")
    return image.resize((width, height), Image.Resampling.NEAREST)
