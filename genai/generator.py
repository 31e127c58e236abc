"""What every generator shares: where it came from, where it runs, its parameters, and unload."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

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
        """Every backend's ``__call__`` hands back results that know where they came from."""
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is None or getattr(call, "_adds_origin", False):
            return

        @functools.wraps(call)
        def call_with_origin(self, *args: Any, **kwargs: Any) -> Any:
            self.check_loaded()
            return self.with_origin(call(self, *args, **kwargs))

        call_with_origin._adds_origin = True  # type: ignore[attr-defined]
        cls.__call__ = call_with_origin

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

    def unload(self) -> None:
        """Free the model's memory; the generator cannot be called afterwards (the loader
        drops unloaded generators from its cache)."""
        self._release()
        self.loaded = False
        free_memory(self.placement.device)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {self.placement.describe()}>"
