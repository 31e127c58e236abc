"""One parameter spec per modality (see genai.params): text.py, image.py, audio.py."""
