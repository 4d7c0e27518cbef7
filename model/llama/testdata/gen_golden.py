#!/usr/bin/env python3
"""gen_golden.py: tiny random Llama-family models and what Hugging Face
transformers computes with them, for warm's parity tests of model/llama.

It writes model/llama/testdata/tiny/: one Hugging Face directory a model
(config.json + model.safetensors, as save_pretrained writes them) and
golden.json with the inputs and the outputs transformers returned.

Llama, Mistral, Qwen2 and Gemma2 run through transformers' own modeling
code (pinned commit, eager attention, float32) laid out by
bench/hfref/setup.sh. That commit has no Qwen3: Qwen3 runs through
Qwen3* below, a plain-torch port of current transformers'
modeling_qwen3.py wrapped as a PreTrainedModel so that it saves and loads
through the same save_pretrained/from_pretrained code; it is checked here
against transformers' Llama and Mistral on shared weights.

Run it (from the repository root):
    bench/hfref/setup.sh [TRANSFORMERS_GIT [HF_HUB_GIT]]
    . bench/hfref/env.sh && "$HFREF_PYTHON" model/llama/testdata/gen_golden.py
Running it twice gives byte-identical files (seeds fixed, JSON stable).
"""

import hashlib
import json
import math
import os
import shutil
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "tiny")
TRANSFORMERS_COMMIT = "9feae5fb0164e89d4998e5776897c16f7330d3df"
T = 12  # every batch is right-padded to this length
PAD, BOS, EOS = 0, 1, 2


def _check_harness():
    stamp = os.path.join(ROOT, ".hfref", "STAMP")
    if not os.path.exists(stamp) or TRANSFORMERS_COMMIT not in open(stamp).read():
        sys.exit(f"gen_golden.py: {stamp} does not name transformers {TRANSFORMERS_COMMIT}; run bench/hfref/setup.sh")
    import transformers

    want = os.path.join(ROOT, ".hfref", "src", "transformers")
    if os.path.dirname(os.path.abspath(transformers.__file__)) != want:
        sys.exit(f"gen_golden.py: transformers comes from {transformers.__file__}, not {want}; source bench/hfref/env.sh")
    return transformers


transformers = _check_harness()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from transformers import (  # noqa: E402
    Gemma2Config, Gemma2ForCausalLM, Gemma2ForSequenceClassification,
    LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification,
    MistralConfig, MistralForCausalLM, MistralForSequenceClassification,
    PretrainedConfig, PreTrainedModel,
    Qwen2Config, Qwen2ForCausalLM, Qwen2ForSequenceClassification,
)
from transformers.utils import logging as hf_logging  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


# ---------------------------------------------------------------------------
# Qwen3: a plain-torch port of transformers' modeling_qwen3.py (main branch,
# checked against commit 000c33fdfde12e1ffafbfcdb3c926df5727a00b6): the
# Qwen2 trunk with attention_bias on q/k/v/o, a per-head RMSNorm (weight
# [head_dim]) on queries and keys before RoPE, attention scaled by
# head_dim**-0.5, and a sliding window on layers >= max_window_layers when
# use_sliding_window. The config mirrors Qwen3Config as transformers 4.51
# writes it (the form Qwen/Qwen3-0.6B ships: rope_theta, rope_scaling, no
# layer_types).
# ---------------------------------------------------------------------------

class Qwen3Config(PretrainedConfig):
    model_type = "qwen3"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, head_dim=128, hidden_act="silu",
                 max_position_embeddings=32768, initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True,
                 tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None, attention_bias=False,
                 use_sliding_window=False, sliding_window=4096, max_window_layers=28, attention_dropout=0.0,
                 **kwargs):
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.use_sliding_window = use_sliding_window
        self.sliding_window = sliding_window if use_sliding_window else None
        self.max_window_layers = max_window_layers
        self.num_key_value_heads = num_key_value_heads if num_key_value_heads is not None else num_attention_heads
        self.head_dim = head_dim
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        if rope_scaling is not None:
            raise ValueError("Qwen3 implements the default RoPE only")
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)

    def layer_types(self):
        return ["sliding_attention" if self.sliding_window is not None and i >= self.max_window_layers
                else "full_attention" for i in range(self.num_hidden_layers)]


class Qwen3RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


def _rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def _repeat_kv(x, n_rep):
    b, h, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


class Qwen3Attention(nn.Module):
    def __init__(self, config, layer_idx, qk_norm=True):
        super().__init__()
        self.layer_type = config.layer_types()[layer_idx]
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim ** -0.5
        bias = config.attention_bias
        H, nh, nkv = config.hidden_size, config.num_attention_heads, config.num_key_value_heads
        self.q_proj = nn.Linear(H, nh * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(H, nkv * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(H, nkv * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(nh * self.head_dim, H, bias=bias)
        self.qk_norm = qk_norm
        if qk_norm:
            self.q_norm = Qwen3RMSNorm(self.head_dim, eps=config.rms_norm_eps)
            self.k_norm = Qwen3RMSNorm(self.head_dim, eps=config.rms_norm_eps)

    def forward(self, x, cos, sin, mask):
        shape = (*x.shape[:-1], -1, self.head_dim)
        q = self.q_proj(x).view(shape)
        k = self.k_proj(x).view(shape)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        c, s = cos.unsqueeze(1), sin.unsqueeze(1)
        q, k = (q * c) + (_rotate_half(q) * s), (k * c) + (_rotate_half(k) * s)
        k, v = _repeat_kv(k, self.num_key_value_groups), _repeat_kv(v, self.num_key_value_groups)
        w = torch.matmul(q, k.transpose(2, 3)) * self.scaling + mask
        w = nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).contiguous()
        return self.o_proj(out.reshape(*x.shape[:-1], -1).contiguous())


class Qwen3MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        H, I = config.hidden_size, config.intermediate_size
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)
        assert config.hidden_act == "silu"

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen3DecoderLayer(nn.Module):
    def __init__(self, config, layer_idx, qk_norm=True):
        super().__init__()
        self.self_attn = Qwen3Attention(config, layer_idx, qk_norm)
        self.mlp = Qwen3MLP(config)
        self.input_layernorm = Qwen3RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = Qwen3RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.attention_type = config.layer_types()[layer_idx]

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3PreTrainedModel(PreTrainedModel):
    config_class = Qwen3Config
    base_model_prefix = "model"
    _no_split_modules = ["Qwen3DecoderLayer"]

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)


class Qwen3Model(Qwen3PreTrainedModel):
    # qk_norm=False turns it into Llama (used only to check this port
    # against transformers' LlamaModel and MistralModel).
    qk_norm = True

    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList([Qwen3DecoderLayer(config, i, self.qk_norm) for i in range(config.num_hidden_layers)])
        self.norm = Qwen3RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_init()

    def forward(self, input_ids, attention_mask):
        c = self.config
        x = self.embed_tokens(input_ids)
        B, S = input_ids.shape
        position_ids = torch.arange(S)[None, :]
        dim = c.head_dim
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
        inv = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv.float() @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = (emb.cos() * 1.0).to(x.dtype), (emb.sin() * 1.0).to(x.dtype)
        # masking_utils: causal (kv <= q), padding, and for sliding layers
        # kv > q - sliding_window; eager gets 0 / finfo.min.
        q_idx, kv_idx = torch.arange(S)[:, None], torch.arange(S)[None, :]
        pad_ok = attention_mask.bool()[:, None, None, :]
        full = (kv_idx <= q_idx)[None, None] & pad_ok
        masks = {"full_attention": full}
        if c.sliding_window is not None:
            masks["sliding_attention"] = full & (kv_idx > q_idx - c.sliding_window)[None, None]
        min_dtype = torch.finfo(x.dtype).min
        masks = {k: torch.where(m, torch.tensor(0.0, dtype=x.dtype), min_dtype) for k, m in masks.items()}
        hidden = [x]
        for layer in self.layers:
            x = layer(x, cos, sin, masks[layer.attention_type])
            hidden.append(x)
        x = self.norm(x)
        hidden[-1] = x
        return x, tuple(hidden)


class Qwen3ForCausalLM(Qwen3PreTrainedModel):
    _tied_weights_keys = ["lm_head.weight"]
    model_cls = Qwen3Model

    def __init__(self, config):
        super().__init__(config)
        self.model = self.model_cls(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, e):
        self.lm_head = e

    def forward(self, input_ids, attention_mask, **_):
        x, hidden = self.model(input_ids, attention_mask)
        return Out(logits=self.lm_head(x), hidden_states=hidden)


class Qwen3ForSequenceClassification(Qwen3PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = Qwen3Model(config)
        self.score = nn.Linear(config.hidden_size, self.num_labels, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def forward(self, input_ids, attention_mask, **_):
        x, hidden = self.model(input_ids, attention_mask)
        logits = self.score(x)
        # GenericForSequenceClassification: the rightmost token that is not pad.
        non_pad_mask = (input_ids != self.config.pad_token_id).to(logits.device, torch.int32)
        token_indices = torch.arange(input_ids.shape[-1], device=logits.device, dtype=torch.int32)
        last_non_pad_token = (token_indices * non_pad_mask).argmax(-1)
        pooled = logits[torch.arange(input_ids.shape[0]), last_non_pad_token]
        return Out(logits=pooled, hidden_states=hidden)


class Out:
    def __init__(self, logits, hidden_states):
        self.logits, self.hidden_states = logits, hidden_states


class _LlamaShapedModel(Qwen3Model):
    qk_norm = False


class _LlamaShapedForCausalLM(Qwen3ForCausalLM):
    model_cls = _LlamaShapedModel


def check_qwen3_port():
    """The port without q/k norms is Llama (all layers full) and Mistral (all
    layers sliding): compare it with transformers' own on shared weights."""
    common = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, pad_token_id=PAD,
                  bos_token_id=BOS, eos_token_id=EOS, rope_theta=10000.0)
    ids, mask = batch_tensors(make_inputs("check", [12, 7, 3], 128))
    for hf_cls, hf_cfg, ref_cfg in [
        (LlamaForCausalLM, LlamaConfig(**common), Qwen3Config(head_dim=16, **common)),
        (MistralForCausalLM, MistralConfig(sliding_window=4, **common),
         Qwen3Config(head_dim=16, use_sliding_window=True, sliding_window=4, max_window_layers=0, **common)),
    ]:
        torch.manual_seed(0)
        hf = hf_cls._from_config(hf_cfg, attn_implementation="eager").eval()
        randomize(hf, "check", gemma=False)
        ref = _LlamaShapedForCausalLM(ref_cfg).eval()
        missing, unexpected = ref.load_state_dict(hf.state_dict(), strict=False)
        assert not missing and not unexpected, (missing, unexpected)
        with torch.no_grad():
            a = hf(input_ids=ids, attention_mask=mask, use_cache=False).logits
            b = ref(input_ids=ids, attention_mask=mask).logits
        err = (a - b).abs().max().item()
        assert err < 2e-5, f"Qwen3 port differs from {hf_cls.__name__} by {err}"
        print(f"gen_golden.py: Qwen3 port without q/k norms vs {hf_cls.__name__}: max |logit diff| {err:.3g}")


# ---------------------------------------------------------------------------
# Weights and inputs.
# ---------------------------------------------------------------------------

def seed_of(*parts):
    return zlib.crc32("/".join(parts).encode())


def randomize(model, name, gemma):
    """Overwrite every parameter, by name, from a generator seeded by name:
    Linear weights N(0, 1/fan_in) (score and an untied lm_head a little
    larger), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2) (Gemma stores
    w for 1 + w: N(0, 0.1^2)), embeddings N(0, 0.5^2) (Gemma, which scales
    them by sqrt(hidden) = 8: N(0, 0.25^2)), score N(0, 1), so that
    activations are O(1), attention is far from uniform and rewards are far
    from zero."""
    g = torch.Generator().manual_seed(seed_of("weights", name))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for pname in sorted(params):
            p = params[pname]
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if pname.endswith("embed_tokens.weight"):
                v = r * (0.25 if gemma else 0.5)
            elif "norm" in pname:
                v = r * 0.1 if gemma else 1.0 + r * 0.1
            elif pname.endswith(".bias"):
                v = r * 0.1
            elif pname == "score.weight":
                v = r
            elif pname == "lm_head.weight":
                v = r * (2.0 / math.sqrt(p.shape[1]))
            else:
                v = r / math.sqrt(p.shape[1])
            p.copy_(v)


def make_inputs(name, lengths, vocab, pad_inside=None):
    """Rows of ids: BOS then content ids in [3, vocab), right-padded with PAD
    to T. pad_inside (row, position) puts PAD inside that row's content, as
    an EOS that is also the pad token would sit mid-sequence."""
    g = torch.Generator().manual_seed(seed_of("inputs", name))
    rows = []
    for b, n in enumerate(lengths):
        content = torch.randint(3, vocab, (n - 1,), generator=g).tolist()
        row = [BOS] + content
        if pad_inside is not None and pad_inside[0] == b:
            row[pad_inside[1]] = PAD
        rows.append(row + [PAD] * (T - n))
    return {"input_ids": rows, "lengths": list(lengths)}


def batch_tensors(inp):
    ids = torch.tensor(inp["input_ids"], dtype=torch.long)
    mask = (torch.arange(T)[None, :] < torch.tensor(inp["lengths"])[:, None]).long()
    return ids, mask


# ---------------------------------------------------------------------------
# The models.
# ---------------------------------------------------------------------------

SHAPE = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS)


def cfg(cls, **kw):
    return (cls, kw)


SEQCLS_LENGTHS = [12, 7, 3, 10]  # 12: no pad at all (the old rule wraps to T-1)
CAUSAL_LENGTHS = [9, 12, 4]

SPECS = [
    dict(name="llama-seqcls", family="llama", head="seqcls", bf16=True,
         config=cfg(LlamaConfig, rms_norm_eps=1e-6, rope_theta=10000.0, attention_bias=True, mlp_bias=True,
                     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
         lengths=SEQCLS_LENGTHS + [9], pad_inside=(4, 3),
         notes=["rope_scaling llama3 (factor 8, low 1, high 4, original 32): with head_dim 16 and theta 1e4 the "
                "wavelengths 2*pi*1e4^(i/8) fall in all three bands (6.28 < 8 kept, 19.9 in [8, 32] smoothed, "
                "the rest divided by 8)",
                "attention_bias and mlp_bias: biases on q/k/v/o and gate/up/down",
                "row 4 has pad_token_id at position 3 inside its content (attention_mask 1 there): transformers "
                "at this commit reads the reward at the first pad - 1 = 2; the rightmost non-pad rule reads 8",
                "row 0 has no pad: the first-pad-minus-1 rule wraps to T-1 = 11 (argmax of all-false is 0, "
                "(0 - 1) % T)"]),
    dict(name="llama-causal", family="llama", head="causal", bf16=True,
         config=cfg(LlamaConfig, rms_norm_eps=1e-5, rope_theta=1e6, tie_word_embeddings=True,
                     rope_scaling={"type": "linear", "factor": 2.0}),
         lengths=CAUSAL_LENGTHS,
         notes=["rope_scaling linear factor 2 given in the old form {type: linear}: transformers copies type to "
                "rope_type, both are in config.json", "tie_word_embeddings: no lm_head.weight on disk",
                "rms_norm_eps 1e-5"]),
    dict(name="mistral-seqcls", family="mistral", head="seqcls", bf16=True,
         config=cfg(MistralConfig, rms_norm_eps=1e-6, rope_theta=1e6, sliding_window=4),
         lengths=SEQCLS_LENGTHS,
         notes=["sliding_window 4 on every layer: query i attends keys j with i-4 < j <= i"]),
    dict(name="mistral-causal", family="mistral", head="causal", sharded=True,
         config=cfg(MistralConfig, rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=4),
         lengths=CAUSAL_LENGTHS,
         notes=["saved sharded: two shards and model.safetensors.index.json (save_pretrained, max_shard_size 200KB)",
                "sliding_window 4 on every layer", "untied lm_head"]),
    dict(name="qwen2-seqcls", family="qwen2", head="seqcls", bf16=True,
         config=cfg(Qwen2Config, rms_norm_eps=1e-6, rope_theta=1e6, use_sliding_window=True, sliding_window=4,
                     max_window_layers=0),
         lengths=SEQCLS_LENGTHS,
         notes=["use_sliding_window with max_window_layers 0: every layer slides (window 4). Eager attention at "
                "this commit applies config.sliding_window to all layers whatever max_window_layers says; "
                "max_window_layers 0 is where that and the per-layer rule (layers >= max_window_layers slide) agree",
                "q/k/v biases (always on in Qwen2), none on o_proj"]),
    dict(name="qwen2-causal", family="qwen2", head="causal",
         config=cfg(Qwen2Config, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                     use_sliding_window=False, sliding_window=4, max_window_layers=1),
         lengths=CAUSAL_LENGTHS,
         notes=["use_sliding_window false: full attention (config.json has sliding_window null)",
                "tie_word_embeddings"]),
    dict(name="gemma2-seqcls", family="gemma2", head="seqcls", bf16=True,
         config=cfg(Gemma2Config, head_dim=32, rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=4,
                     query_pre_attn_scalar=24, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                     hidden_activation="gelu_pytorch_tanh"),
         lengths=SEQCLS_LENGTHS,
         notes=["head_dim 32 != hidden/heads 16", "layer 0 slides (window 4, not layer_idx % 2), layer 1 is full",
                "attention scale 24**-0.5 (query_pre_attn_scalar), scores soft-capped at 2 before the mask",
                "final_logit_softcapping does not apply to the sequence classifier's score"]),
    dict(name="gemma2-causal", family="gemma2", head="causal",
         config=cfg(Gemma2Config, head_dim=16, rms_norm_eps=1e-5, rope_theta=1e6, sliding_window=4,
                     query_pre_attn_scalar=24, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                     hidden_activation="gelu_pytorch_tanh"),
         lengths=CAUSAL_LENGTHS,
         notes=["final logits soft-capped at 3: 3 * tanh(logits / 3)", "tied embeddings (Gemma2's default)",
                "head_dim 16 given explicitly (= hidden/heads here); attention scale 24**-0.5, scores capped at 2",
                "layer 0 slides (window 4), layer 1 is full"]),
    dict(name="qwen3-seqcls", family="qwen3", head="seqcls", bf16=True,
         config=cfg(Qwen3Config, head_dim=16, rms_norm_eps=1e-6, rope_theta=1e6, use_sliding_window=True,
                     sliding_window=4, max_window_layers=1),
         lengths=SEQCLS_LENGTHS + [9], pad_inside=(4, 3),
         notes=["reference: plain-torch port of current transformers' modeling_qwen3.py (this commit has no "
                "Qwen3), rightmost-non-pad reward rule (GenericForSequenceClassification)",
                "per-layer window: layer 0 full, layer 1 slides (window 4): layers >= max_window_layers 1",
                "q_norm/k_norm (RMSNorm over head_dim) on queries and keys before RoPE"]),
    dict(name="qwen3-causal", family="qwen3", head="causal",
         config=cfg(Qwen3Config, head_dim=32, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                     attention_bias=True, use_sliding_window=False, max_window_layers=2),
         lengths=CAUSAL_LENGTHS,
         notes=["reference: plain-torch port of current transformers' modeling_qwen3.py",
                "head_dim 32 != hidden/heads 16; attention_bias true (q/k/v/o biases); no sliding window",
                "tie_word_embeddings"]),
]



HEADS = {
    "llama": (LlamaForSequenceClassification, LlamaForCausalLM),
    "mistral": (MistralForSequenceClassification, MistralForCausalLM),
    "qwen2": (Qwen2ForSequenceClassification, Qwen2ForCausalLM),
    "gemma2": (Gemma2ForSequenceClassification, Gemma2ForCausalLM),
    "qwen3": (Qwen3ForSequenceClassification, Qwen3ForCausalLM),
}


def model_class(spec):
    seqcls, causal = HEADS[spec["family"]]
    return seqcls if spec["head"] == "seqcls" else causal


def build(spec):
    cfg_cls, kw = spec["config"]
    config = cfg_cls(**SHAPE, **kw, **({"num_labels": 1} if spec["head"] == "seqcls" else {}))
    torch.manual_seed(seed_of("init", spec["name"]))
    model = model_class(spec)._from_config(config, attn_implementation="eager")
    assert model.config._attn_implementation == "eager"
    randomize(model, spec["name"], gemma=spec["family"] == "gemma2")
    return model.eval()


def load(spec, path):
    model, info = model_class(spec).from_pretrained(path, attn_implementation="eager", torch_dtype=torch.float32,
                                                     output_loading_info=True)
    for k, v in info.items():
        assert not v, f"{path}: from_pretrained {k}: {v}"
    assert model.config._attn_implementation == "eager" and model.dtype == torch.float32
    return model.eval()


def forward(model, inp):
    ids, mask = batch_tensors(inp)
    kw = {} if isinstance(model, Qwen3PreTrainedModel) else {"use_cache": False, "return_dict": True}
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, **kw)
        if hasattr(model, "score"):
            return out.logits, model.score(out.hidden_states[-1])
    return out.logits, None


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


class F32(float):
    """A float32 value, written as the shortest decimal that reads back to it."""


def f32(t):
    assert t.dtype == torch.float32 and bool(torch.isfinite(t).all())
    if t.dim() == 0:
        return F32(t.item())
    return [f32(x) for x in t] if t.dim() > 1 else [F32(v) for v in t.tolist()]


def record(spec, name, model, dtype):
    inp = make_inputs(spec["name"], spec["lengths"], SHAPE["vocab_size"], spec.get("pad_inside"))
    ids = torch.tensor(inp["input_ids"])
    lengths = inp["lengths"]
    logits, scores = forward(model, inp)
    arch = model.__class__.__name__
    e = {"name": name, "dir": name, "family": spec["family"], "architecture": arch,
         "head": "ForSequenceClassification" if spec["head"] == "seqcls" else "ForCausalLM",
         "dtype": dtype, "compute_dtype": "float32",
         "reference": (f"transformers {TRANSFORMERS_COMMIT} eager" if spec["family"] != "qwen3"
                       else "gen_golden.py Qwen3* classes: plain-torch port of transformers main modeling_qwen3.py"),
         "input_ids": inp["input_ids"], "lengths": lengths, "notes": list(spec["notes"])}
    if dtype == "bfloat16":
        e["notes"].append("BF16 weights on disk, loaded by from_pretrained(torch_dtype=float32): F32 compute")
    B = ids.shape[0]
    if spec["head"] == "seqcls":
        scores = scores[..., 0]
        rightmost = [max(t for t in range(T) if ids[b, t] != PAD) for b in range(B)]
        if spec["family"] == "qwen3":
            rule, idx = "rightmost_non_pad", rightmost
        else:
            rule = "first_pad_minus_1"
            idx = ((torch.eq(ids, PAD).int().argmax(-1) - 1) % T).tolist()
        for b in range(B):
            # The reward transformers returned is the score head at idx.
            assert torch.equal(logits[b, 0], scores[b, idx[b]]), (name, b)
            assert idx[b] < lengths[b] and rightmost[b] == lengths[b] - 1
        e.update({"reward_rule_hf": rule, "rewards_hf": f32(logits[:, 0]), "reward_index_hf": idx,
                  "reward_index_rightmost": rightmost,
                  "rewards_rightmost": [F32(scores[b, rightmost[b]].item()) for b in range(B)],
                  "score_at": [f32(scores[b, :lengths[b]]) for b in range(B)]})
    else:
        e["logits"] = [f32(logits[b, :lengths[b]]) for b in range(B)]
    return e, logits


def hf_windows(model):
    """The attention window of each layer (0: full) as the reference computes
    it: Gemma2's layers carry it; Mistral's and Qwen2's eager mask at this
    commit applies config.sliding_window (None unless use_sliding_window, for
    Qwen2) to every layer; Qwen3's layer types follow max_window_layers."""
    c = model.config
    L = c.num_hidden_layers
    if c.model_type == "gemma2":
        return [layer.self_attn.sliding_window or 0 for layer in model.model.layers]
    if c.model_type in ("mistral", "qwen2"):
        return [c.sliding_window or 0] * L
    if c.model_type == "qwen3":
        return [c.sliding_window if t == "sliding_attention" else 0 for t in c.layer_types()]
    return [0] * L


def rule_windows(c):
    """warm's rule (model/llama/config.go parseWindows): Mistral slides every
    layer, Qwen2/Qwen3 layers >= max_window_layers when use_sliding_window,
    Gemma2 even layers."""
    L = c.num_hidden_layers
    if c.model_type == "mistral":
        return [c.sliding_window or 0] * L
    if c.model_type in ("qwen2", "qwen3"):
        w = c.sliding_window if c.use_sliding_window else 0
        return [w if (w and l >= c.max_window_layers) else 0 for l in range(L)]
    if c.model_type == "gemma2":
        return [c.sliding_window if l % 2 == 0 else 0 for l in range(L)]
    return [0] * L


def without_window(spec):
    cls, kw = spec["config"]
    kw = {**kw}
    if spec["family"] in ("qwen2", "qwen3"):
        kw["use_sliding_window"] = False
    elif spec["family"] == "gemma2":
        kw["sliding_window"] = T + 1
    else:
        kw["sliding_window"] = None
    return {**spec, "config": (cls, kw)}


def probe_qwen2_window():
    """What eager Qwen2 at this commit does with use_sliding_window and
    max_window_layers: it slides every layer whatever max_window_layers says
    (the mask is built once from config.sliding_window), so it agrees with
    the per-layer rule only when max_window_layers is 0 (or the window is off)."""
    base = dict(name="probe-qwen2", family="qwen2", head="causal")
    out = {}
    for key, kw in {"off": dict(use_sliding_window=False),
                    "mwl0": dict(use_sliding_window=True, sliding_window=4, max_window_layers=0),
                    "mwl1": dict(use_sliding_window=True, sliding_window=4, max_window_layers=1),
                    "mwl2": dict(use_sliding_window=True, sliding_window=4, max_window_layers=2)}.items():
        model = build({**base, "config": (Qwen2Config, kw)})
        out[key] = forward(model, make_inputs("probe", [12, 9], SHAPE["vocab_size"]))[0]
    assert not torch.equal(out["off"], out["mwl0"]), "window 4 should matter at length 12"
    assert torch.equal(out["mwl0"], out["mwl1"]) and torch.equal(out["mwl0"], out["mwl2"]), \
        "eager Qwen2 at this commit was expected to ignore max_window_layers"


def check_llama3_rope(model):
    """The llama3 inv_freq of llama-seqcls covers all three bands."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    inv, _ = ROPE_INIT_FUNCTIONS["llama3"](model.config, "cpu")
    base, _ = ROPE_INIT_FUNCTIONS["default"](model.config, "cpu")
    assert inv[0] == base[0], "wavelength 2*pi < high_freq_wavelen: kept"
    assert base[1] / 8 < inv[1] < base[1], "medium band: smoothed"
    assert torch.equal(inv[2:], base[2:] / 8), "low band: divided by factor"


def generate():
    check_qwen3_port()
    probe_qwen2_window()
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    entries = []
    for spec in SPECS:
        name = spec["name"]
        model = build(spec)
        path = os.path.join(OUT, name)
        model.save_pretrained(path, safe_serialization=True,
                              **({"max_shard_size": "200KB"} if spec.get("sharded") else {}))
        if spec.get("sharded"):
            shards = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
            assert len(shards) == 2 and os.path.exists(os.path.join(path, "model.safetensors.index.json")), shards
        loaded = load(spec, path)
        same_weights(model, loaded)
        windows = hf_windows(loaded)
        assert windows == rule_windows(loaded.config), (name, windows, rule_windows(loaded.config))
        if any(windows):
            plain = build(without_window(spec))
            plain.load_state_dict(model.state_dict())
            inp = make_inputs(name, spec["lengths"], SHAPE["vocab_size"], spec.get("pad_inside"))
            assert not torch.equal(forward(plain, inp)[0], forward(model, inp)[0]), f"{name}: the window does not matter"
        if name == "llama-seqcls":
            check_llama3_rope(loaded)
        e, out = record(spec, name, loaded, "float32")
        e["attention_windows"] = windows
        assert torch.equal(out, forward(model, make_inputs(name, spec["lengths"], SHAPE["vocab_size"],
                                                            spec.get("pad_inside")))[0])
        entries.append(e)
        if spec.get("bf16"):
            bname = name + "-bf16"
            bpath = os.path.join(OUT, bname)
            half = build(spec)
            half.load_state_dict(model.state_dict())
            half.to(torch.bfloat16).save_pretrained(bpath, safe_serialization=True)
            loaded = load(spec, bpath)
            rounded = build(spec)
            rounded.load_state_dict({k: v.to(torch.bfloat16).to(torch.float32) for k, v in model.state_dict().items()})
            same_weights(rounded, loaded)
            e, out = record(spec, bname, loaded, "bfloat16")
            e["attention_windows"] = hf_windows(loaded)
            assert torch.equal(out, forward(rounded, make_inputs(name, spec["lengths"], SHAPE["vocab_size"],
                                                                  spec.get("pad_inside")))[0])
            entries.append(e)
    golden = {
        "generator": "model/llama/testdata/gen_golden.py (bench/hfref harness)",
        "transformers_commit": TRANSFORMERS_COMMIT,
        "transformers_version": transformers.__version__,
        "huggingface_hub": __import__("huggingface_hub").__version__,
        "safetensors": "bench/hfref/stubs pure-Python stand-in " + __import__("safetensors").__version__,
        "torch": torch.__version__,
        "attn_implementation": "eager",
        "T": T, "pad_token_id": PAD, "bos_token_id": BOS, "eos_token_id": EOS,
        "models": entries,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        f.write(dumps(golden) + "\n")
    # Every directory reloads to the outputs recorded (the files are the models).
    with open(os.path.join(OUT, "golden.json")) as f:
        back = json.load(f)
    for spec in SPECS:
        for e in back["models"]:
            if e["name"] not in (spec["name"], spec["name"] + "-bf16"):
                continue
            logits, scores = forward(load(spec, os.path.join(OUT, e["dir"])), e)
            if spec["head"] == "seqcls":
                assert logits[:, 0].tolist() == [np.float32(v) for v in e["rewards_hf"]], e["name"]
                for b, row in enumerate(e["score_at"]):
                    assert scores[b, :len(row), 0].tolist() == [np.float32(v) for v in row], e["name"]
            else:
                for b, rows in enumerate(e["logits"]):
                    assert logits[b, :len(rows)].tolist() == [[np.float32(v) for v in r] for r in rows], e["name"]
    total = 0
    for d, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    digest = hashlib.sha256()
    for d, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            digest.update(open(os.path.join(d, f), "rb").read())
    print(f"gen_golden.py: {len(entries)} models in {os.path.relpath(OUT, ROOT)}, {total} bytes, sha256 {digest.hexdigest()[:16]}")


def _scalar(v):
    if isinstance(v, F32):
        s = str(np.float32(v))
        assert np.float32(float(s)) == np.float32(v), s
        return s
    return json.dumps(v)


def dumps(o, ind=0):
    pad, inner = " " * ind, " " * (ind + 1)
    if isinstance(o, dict):
        if not o:
            return "{}"
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {dumps(o[k], ind + 1)}" for k in sorted(o)) + "\n" + pad + "}"
    if isinstance(o, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in o):
            return "[" + ", ".join(_scalar(x) for x in o) + "]"
        return "[\n" + ",\n".join(inner + dumps(x, ind + 1) for x in o) + "\n" + pad + "]"
    return _scalar(o)


if __name__ == "__main__":
    generate()
