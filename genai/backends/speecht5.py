"""Transitional: the speecht5 family until its own module lands (see genai.families)."""

from .speech import SpeechGenerator as SpeechT5Generator

__all__ = ["SpeechT5Generator"]
