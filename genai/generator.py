"""What every generator shares: where it came from, where it runs, its parameters, and unload."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from . import lifecycle
from .device import Placement, free_memory
from .hub import Source
from .params import ParamSpec, refuse_unknown


class Generator:
    """A loaded model, ready to be called. Subclasses load in ``_load`` (or ``__init__``) and
    generate in ``__call__``.

    ``call_spec`` is the family's parameter spec: ``__call__`` checks its keywords with it
    (``self.settings(given)``), the CLI and the app build their controls from it, results
    record what it marks. ``load_option_names`` are the keywords ``genai.load`` accepts for
    the family besides device/dtype/device_map; anything else is refused with a suggestion.
    """

    modality: ClassVar[str] = ""
    call_spec: ClassVar[ParamSpec] = ParamSpec("")
    load_option_names: ClassVar[tuple[str, ...]] = ()
    engine: str = "transformers"
    # False for models that make their output without a prompt (a face GAN, DDPM): front ends
    # hide the prompt box and say so, results record that the prompt was not used.
    takes_prompt: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every backend's ``__call__`` hands back results that know where they came from, and
        every method that uses the model runs as a call in flight (genai.lifecycle): counted
        in ``in_use``, waited for by ``unload()``, stopped at exit through its ``cancel``."""
        super().__init_subclass__(**kwargs)
        for name in ("__call__", *_MODEL_METHODS):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_in_flight", False):
                setattr(cls, name, _in_flight(method))
        stream = cls.__dict__.get("stream")
        if stream is not None and not getattr(stream, "_in_flight", False):
            cls.stream = _owned_stream(stream)

    def check_loaded(self) -> None:
        """A typed error for a generator used after ``unload()``."""
        if not self.loaded:
            from .errors import ModelNotAvailableError

            raise ModelNotAvailableError(
                f"model {self.name!r} was unloaded; load it again with genai.load({self.name!r})"
            )

    def with_origin(self, result: Any) -> Any:
        """Fill ``origin`` (generator.provenance()) on a result, or each of a list, if unset."""
        from .results.base import Result

        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, Result) and not item.origin:
                item.origin = self.provenance()
        return result

    def __init__(
        self, source: Source, family: str, task: str, placement: Placement, **options: Any
    ):
        if self.call_spec.params or self.load_option_names:
            refuse_unknown(options, self.allowed_load_options(), f"genai.load({source.name!r})")
        self.source = source
        self.family = family
        self.task = task
        self.placement = placement
        self.options = options
        self.loaded = True
        lifecycle.remember(self)

    @classmethod
    def allowed_load_options(cls) -> tuple[str, ...]:
        """Load options plus call parameters given at load time as defaults for every call."""
        return (*cls.load_option_names, *(p.name for p in cls.call_spec if p.record))

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(self.source.entry.defaults) if self.source.entry else {}

    def settings(self, given: dict[str, Any]) -> dict[str, Any]:
        """Call parameters: the spec's defaults, the catalog entry's, load options, then ``given``."""
        defaults = {
            **self.defaults,
            **{k: v for k, v in self.options.items() if k in self.call_spec},
        }
        return self.call_spec.check(given, owner=f"{self.name} ({self.family})", defaults=defaults)

    @property
    def shared_source(self) -> str:
        """Where the model came from, safe to put in shared files: alias, hub id or file name."""
        if self.source.entry is not None:
            return self.source.entry.alias
        if self.source.kind == "hub":
            return self.source.location
        from pathlib import Path

        return Path(self.source.location).name

    def result_fields(self) -> dict[str, Any]:
        """What every result records about the generator that made it: model, source, engine."""
        return {"model": self.name, "source": self.shared_source, "engine": self.engine}

    def provenance(self) -> dict[str, Any]:
        """Where an output came from, safe to share: put in every result's ``origin``.

        The weights' fingerprint (sha256 of a single file, hub revision of a repo) is computed
        once per generator by genai.provenance.fingerprint.
        """
        if getattr(self, "_fingerprint", None) is None:
            from .provenance import fingerprint

            self._fingerprint = fingerprint(self.source)
        return {
            "model": self.name,
            "source": self.shared_source,
            "family": self.family,
            "engine": self.engine,
            "device": self.placement.device,
            "dtype": self.placement.dtype_name,
            "weights": self._fingerprint,
        }

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source.location,
            "family": self.family,
            "task": self.task,
            "engine": self.engine,
            "device": self.placement.device,
            "dtype": self.placement.dtype_name,
            "device_map": self.placement.device_map,
            "loaded": self.loaded,
        }

    def _release(self) -> None:
        """Drop references to model objects; subclasses set their attributes to None."""

    @property
    def in_use(self) -> int:
        """How many calls (and text streams) run on this generator now; an LRU unloads only
        generators with none."""
        return lifecycle.calls_on(self)

    def unload(self, timeout: float = lifecycle.EXIT_TIMEOUT, *, if_idle: bool = False) -> bool:
        """Free the model's memory; the generator cannot be called afterwards (the loader
        drops unloaded generators from its cache).

        Calls running now are told to stop and waited for up to ``timeout`` seconds: each ends
        with ModelNotAvailableError (or its result, if it finished first), and the memory is
        freed once the last has ended, never under it. With ``if_idle=True`` a generator in
        use stays loaded. Returns whether it was unloaded now.
        """
        return lifecycle.retire([self], timeout, if_idle=if_idle) == 1

    def _free(self) -> None:
        """Release the model (no call runs on it any more) and give its memory back."""
        self._release()
        free_memory(self.placement.device)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {self.placement.describe()}>"


# Methods besides __call__ that use the model.
_MODEL_METHODS = ("interpolate", "embed", "count_tokens")


def _in_flight(method):
    """``method`` run as a call in flight. ``__call__`` also gets genai's cancel event (joined
    to the caller's) where the family's spec takes ``cancel``, and fills its results' origin."""
    is_call = method.__name__ == "__call__"

    @functools.wraps(method)
    def call(self, *args: Any, **kwargs: Any) -> Any:
        with lifecycle.running(self, kwargs if is_call else None):
            result = method(self, *args, **kwargs)
        return self.with_origin(result) if is_call else result

    call._in_flight = True  # type: ignore[attr-defined]
    return call


def _owned_stream(method):
    """``stream`` hands back a TextStream that knows its generator: its decoding thread counts
    as a call on it (genai.backends.text_stream registers it when it starts)."""

    @functools.wraps(method)
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        self.check_loaded()
        result = method(self, *args, **kwargs)
        if hasattr(result, "owner"):
            result.owner = self
        return result

    stream._in_flight = True  # type: ignore[attr-defined]
    return stream
