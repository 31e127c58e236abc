"""Tiny random-weight text models of real architectures, saved as a user's folder would be.

The hub's tiny test repos cannot be downloaded everywhere, so these are built locally:
a word-level tokenizer over a small vocabulary, a model config a few hundred kilobytes
big, ``save_pretrained`` into a folder that ``genai.load(folder)`` then reads.
"""

from __future__ import annotations

from pathlib import Path

from .common import save_to

WORDS = (
    "the a an of to and in is it you that he she was for on are with as his they be at one have this from "
    "or had by hot word but what some we can out other were all there when up use your how said each which "
    "do their time if will way about many then them write would like so these her long make thing see him "
    "two has look more day could go come did number sound no most people my over know water than call "
    "first who may down side been now find any new work part take get place made live where after back "
    "little only round man year came show every good me give our under name very through just form "
    "sentence great think say help low line differ turn cause much mean before move right boy old too same "
    "tell does set three want air well also play small end put home read hand port large spell add even "
    "land here must big high such follow act why ask men change went light kind off need house picture try "
    "us again animal point mother world near build self earth father paris france capital fox snow red "
    "user assistant system"
).split()

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_word_tokenizer(
    folder: Path,
    *,
    special: dict[str, str],
    chat_template: str | None = None,
    add_eos: bool = False,
):
    """A byte-level BPE tokenizer (GPT-2 style) trained on WORDS, saved to ``folder``.

    Byte-level, like the real models' tokenizers, so any text encodes and stop strings match.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(dict.fromkeys(special.values()))
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator([" ".join(WORDS)] * 4, trainer=trainer)
    if add_eos:
        eos = special["eos_token"]
        core.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", special_tokens=[(eos, core.token_to_id(eos))]
        )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, **special)
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)
    return tokenizer


def _token_ids(tokenizer, *kinds: str) -> dict[str, int]:
    """The config entries ``<kind>_token_id`` for the tokenizer's special tokens of these kinds."""
    return {f"{kind}_token_id": getattr(tokenizer, f"{kind}_token_id") for kind in kinds}


LLAMA_SPECIAL_TOKENS = {
    "unk_token": "<unk>",
    "bos_token": "<|im_start|>",
    "eos_token": "<|im_end|>",
    "pad_token": "<pad>",
}


TINY_LLAMA_SIZES = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def tiny_llama(
    folder: str | Path,
    *,
    chat: bool = True,
    max_positions: int = 256,
    sizes: dict[str, int] | None = None,
) -> Path:
    """A Llama-style causal LM (as SmolLM2 and Qwen use) with a chat template.

    ``sizes``: LlamaConfig's layer sizes, by default those of ``TINY_LLAMA_SIZES``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    chat_template = CHAT_TEMPLATE if chat else None
    tokenizer = build_word_tokenizer(
        folder, special=LLAMA_SPECIAL_TOKENS, chat_template=chat_template
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **(sizes or TINY_LLAMA_SIZES),
        max_position_embeddings=max_positions,
        tie_word_embeddings=False,
        **_token_ids(tokenizer, "bos", "eos", "pad"),
    )
    torch.manual_seed(0)
    return save_to(LlamaForCausalLM(config), folder)


def tiny_gpt2(folder: str | Path, *, max_positions: int = 128) -> Path:
    """A GPT-2-style causal LM (as distilgpt2) without a chat template or pad token."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = Path(folder)
    end = "<|endoftext|>"
    special = {"unk_token": end, "bos_token": end, "eos_token": end}
    tokenizer = build_word_tokenizer(folder, special=special)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=max_positions,
        tie_word_embeddings=False,
        **_token_ids(tokenizer, "bos", "eos"),
    )
    torch.manual_seed(0)
    return save_to(GPT2LMHeadModel(config), folder)


def tiny_t5(folder: str | Path) -> Path:
    """A T5 encoder-decoder (as flan-t5-small)."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = Path(folder)
    special = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
    tokenizer = build_word_tokenizer(folder, special=special, add_eos=True)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        decoder_start_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **_token_ids(tokenizer, "pad", "eos"),
    )
    config.tie_word_embeddings = False  # tied, a random T5 only echoes its decoder start token
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():  # T5's default init is tiny; wider embeddings give varied tokens
        model.shared.weight.normal_(0.0, 1.0)
        model.lm_head.weight.normal_(0.0, 1.0)
    return save_to(model, folder)


def _permute_rotary(weights, n_head: int):
    """HF's rotary layout to GGUF's (llama.cpp's convert_hf_to_gguf does the same)."""
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def tiny_llama_gguf(folder: str | Path, *, chat: bool = True, max_positions: int = 256) -> Path:
    """The tiny Llama above written as a GGUF file (F32 weights, byte-level BPE vocabulary)
    that llama.cpp and transformers both load. Its output layer is scaled up so that greedy
    decoding has clear winners and both engines pick the same tokens."""
    import json

    import numpy as np
    import torch
    from gguf import GGUFWriter, TokenType
    from transformers import LlamaForCausalLM

    folder = Path(folder)
    source = tiny_llama(folder / "hf", chat=chat, max_positions=max_positions)
    model = LlamaForCausalLM.from_pretrained(source, dtype=torch.float32)
    config = model.config
    tokenizer = json.loads((source / "tokenizer.json").read_text())
    special = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    vocab = {**tokenizer["model"]["vocab"], **special}
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]

    path = folder / "tiny-llama.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(max_positions)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(
        config.rope_parameters["rope_theta"]
        if getattr(config, "rope_parameters", None)
        else 10000.0
    )
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(
        [TokenType.CONTROL if t in special else TokenType.NORMAL for t in tokens]
    )
    writer.add_token_merges(merges)
    writer.add_bos_token_id(special["<|im_start|>"])
    writer.add_eos_token_id(special["<|im_end|>"])
    writer.add_unk_token_id(special["<unk>"])
    writer.add_pad_token_id(special["<pad>"])
    writer.add_add_bos_token(False)
    if chat:
        writer.add_chat_template(CHAT_TEMPLATE)

    names = {
        "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    }  # fmt: skip
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    writer.add_tensor("token_embd.weight", state["model.embed_tokens.weight"])
    for layer in range(config.num_hidden_layers):
        for hf_name, gguf_name in names.items():
            weights = state[f"model.layers.{layer}.{hf_name}.weight"]
            if gguf_name == "attn_q":
                weights = _permute_rotary(weights, config.num_attention_heads)
            elif gguf_name == "attn_k":
                weights = _permute_rotary(weights, config.num_key_value_heads)
            writer.add_tensor(f"blk.{layer}.{gguf_name}.weight", np.ascontiguousarray(weights))
    writer.add_tensor("output_norm.weight", state["model.norm.weight"])
    writer.add_tensor("output.weight", state["lm_head.weight"] * 40.0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
