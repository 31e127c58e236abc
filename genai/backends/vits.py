"""Transitional: the vits family until its own module lands (see genai.families)."""

from .speech import SpeechGenerator as VitsGenerator

__all__ = ["VitsGenerator"]
