"""Transitional: the bark family until its own module lands (see genai.families)."""

from .speech import SpeechGenerator as BarkGenerator

__all__ = ["BarkGenerator"]
