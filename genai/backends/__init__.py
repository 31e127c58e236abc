"""Backends: one module per family; genai.families says which runs which."""
