#!/usr/bin/env python3
"""llama_compare.py: the PyTorch side of bench/llama_compare.sh.

PyTorch running Hugging Face transformers' own Qwen2 code (the pinned commit
that bench/hfref/setup.sh lays out; source bench/hfref/env.sh first), on
random models of Qwen2-0.5B's shape, BF16 on disk. Subcommands:

  make DIR        write DIR/seqcls (Qwen2ForSequenceClassification, 1 label)
                  and DIR/causal (Qwen2ForCausalLM, tied embeddings, plus a
                  byte-level tokenizer.json for warm generate): transformers'
                  own init (N(0, 0.02), seed fixed) rounded to BF16, saved
                  with save_pretrained. Reused when DIR/*/STAMP matches.
  inputs FILE     8 sequences x 256 random ids in [0, 151000) (seed fixed),
                  one {"input_ids": [...]} JSON line each.
  prompts         the generation prompts, one a line (ASCII letters only:
                  one byte, one token each).
  prompt-ids      their token ids as the tokenizer.json that make writes
                  gives them, one line of space-separated ids a prompt.
  score           one reward forward pass of the inputs after one warm-up
                  pass, in a fresh process: prints one JSON object.
  generate        greedy model.generate with the KV cache after a short
                  warm-up: prints one JSON object.
  warm-score LOG OUT [LOG OUT ...]
                  warm score's stderr and rewards, run by run, as one JSON
                  object (the last run's timing; all runs' rewards equal).
  warm-generate LOG OUT
                  warm generate's stderr (and /usr/bin/time's maxrss_kib=)
                  and --json output as one JSON object.
  report          the tables and the ratios from the JSON files above; fails
                  when warm's rewards and torch f32's differ by more than
                  1e-3 (relative).

Memory: ru_maxrss is the whole process's peak, loading included; loading
goes through the harness's pure-Python safetensors stand-in, which reads the
whole file into memory (the real Rust package maps it), so the report also
gives the peak after loading ("run peak": VmHWM reset through
/proc/self/clear_refs once the model is in memory).
"""

import argparse
import gc
import json
import os
import random
import re
import resource
import sys
import time

TRANSFORMERS_COMMIT = "9feae5fb0164e89d4998e5776897c16f7330d3df"
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# Qwen2-0.5B's shape (its config.json), BF16 on disk.
SHAPE = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
             num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
             rope_theta=1000000.0, rms_norm_eps=1e-6, hidden_act="silu", initializer_range=0.02,
             use_sliding_window=False, sliding_window=32768, max_window_layers=24,
             tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151643)
SEED = 20261201
N_SEQ, SEQ_LEN, ID_MAX = 8, 256, 151000
N_PROMPTS, PROMPT_LEN = 8, 32
EOS = 151643  # Qwen2's <|endoftext|>: >= 256, so the byte-level tokenizer has no text for it
PAD = 151643  # the reward head needs a pad id for batches; ids < 151000 never hit it


def harness():
    stamp = os.path.join(ROOT, ".hfref", "STAMP")
    if not os.path.exists(stamp) or TRANSFORMERS_COMMIT not in open(stamp).read():
        sys.exit(f"llama_compare.py: {stamp} does not name transformers {TRANSFORMERS_COMMIT}; run bench/hfref/setup.sh")
    import transformers
    want = os.path.join(ROOT, ".hfref", "src", "transformers")
    if os.path.dirname(os.path.abspath(transformers.__file__)) != want:
        sys.exit(f"llama_compare.py: transformers comes from {transformers.__file__}, not {want}; source bench/hfref/env.sh")
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return transformers


def bytes_to_unicode():
    """GPT-2's byte -> character table, in GPT-2's vocabulary order (id i is
    the i-th entry: "!" is 0, "a" is 64)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


def tokenizer_json():
    vocab = {ch: i for i, (_, ch) in enumerate(bytes_to_unicode())}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None, "pre_tokenizer": bl, "post_processor": None, "decoder": bl,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": []},
    }


def byte_ids():
    """byte value -> token id in tokenizer_json()'s vocabulary."""
    return {b: i for i, (b, _) in enumerate(bytes_to_unicode())}


def prompts():
    rng = random.Random(SEED + 2)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ["".join(rng.choice(letters) for _ in range(PROMPT_LEN)) for _ in range(N_PROMPTS)]


def prompt_ids():
    ids = byte_ids()
    return [[ids[b] for b in p.encode("ascii")] for p in prompts()]


def spec(head):
    return {"head": head, "shape": SHAPE, "seed": SEED, "pad_token_id": PAD if head == "seqcls" else None,
            "transformers": TRANSFORMERS_COMMIT, "dtype": "bfloat16"}


def cmd_make(a):
    harness()
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2ForSequenceClassification
    for head, cls in (("seqcls", Qwen2ForSequenceClassification), ("causal", Qwen2ForCausalLM)):
        path = os.path.join(a.dir, head)
        stamp = os.path.join(path, "STAMP")
        want = json.dumps(spec(head), sort_keys=True)
        if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(os.path.join(path, "model.safetensors")):
            print(f"llama_compare.py: reusing {path}", file=sys.stderr)
            continue
        t0 = time.time()
        kw = dict(SHAPE)
        if head == "seqcls":
            kw.update(num_labels=1, pad_token_id=PAD)
        config = Qwen2Config(**kw)
        torch.manual_seed(SEED + (0 if head == "seqcls" else 1))
        model = cls._from_config(config, attn_implementation="eager")  # transformers' init, F32
        model = model.to(torch.bfloat16).eval()
        if os.path.exists(stamp):
            os.remove(stamp)
        model.save_pretrained(path, safe_serialization=True)
        del model
        gc.collect()
        if head == "causal":
            with open(os.path.join(path, "tokenizer.json"), "w") as f:
                json.dump(tokenizer_json(), f, ensure_ascii=False, indent=2)
        with open(stamp, "w") as f:
            f.write(want)
        print(f"llama_compare.py: wrote {path} in {time.time() - t0:.1f}s "
              f"({os.path.getsize(os.path.join(path, 'model.safetensors'))} bytes)", file=sys.stderr)


def cmd_inputs(a):
    rng = random.Random(SEED + 3)
    with open(a.file, "w") as f:
        for _ in range(N_SEQ):
            f.write(json.dumps({"input_ids": [rng.randrange(ID_MAX) for _ in range(SEQ_LEN)]}) + "\n")


def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def reset_hwm():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def load(a, cls_name):
    harness()
    import torch
    import transformers
    torch.set_num_threads(a.threads)
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[a.dtype]
    t0 = time.time()
    model, info = getattr(transformers, cls_name).from_pretrained(
        a.model, attn_implementation="eager", torch_dtype=dtype, output_loading_info=True)
    for k, v in info.items():
        assert not v, f"{a.model}: from_pretrained {k}: {v}"
    assert model.config._attn_implementation == "eager" and model.dtype == dtype
    model.eval()
    load_s = time.time() - t0
    gc.collect()
    rss_loaded = vm("VmRSS")
    return torch, model, load_s, rss_loaded, reset_hwm()


def memory(r, rss_loaded, reset):
    r.update(rss_loaded_kib=rss_loaded, run_peak_rss_kib=vm("VmHWM") if reset else None,
             peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return r


def cmd_score(a):
    torch, model, load_s, rss_loaded, reset = load(a, "Qwen2ForSequenceClassification")
    ids = torch.tensor([json.loads(line)["input_ids"] for line in open(a.inputs)], dtype=torch.long)
    times, rewards = [], []
    with torch.inference_mode():
        for _ in range(2):  # warm-up, then the measured pass
            t0 = time.time()
            out = model(input_ids=ids, use_cache=False, return_dict=True)
            times.append(time.time() - t0)
            rewards.append(out.logits[:, 0].float().tolist())
    assert rewards[0] == rewards[1], "the two passes disagree"
    r = {"engine": "torch", "dtype": a.dtype, "threads": a.threads, "torch": torch.__version__,
         "tokens": ids.numel(), "load_s": load_s, "warmup_s": times[0], "forward_s": times[1],
         "tokens_per_s": ids.numel() / times[1], "rewards": rewards[1]}
    print(json.dumps(memory(r, rss_loaded, reset)))


def cmd_generate(a):
    torch, model, load_s, rss_loaded, reset = load(a, "Qwen2ForCausalLM")
    ids = torch.tensor(prompt_ids(), dtype=torch.long)
    mask = torch.ones_like(ids)
    # synced_gpus=False: left None, generate() imports torch.distributed.fsdp
    # to ask whether FSDP manages the model, and Debian's torch 1.13 fails
    # that import on Python 3.11 (a dataclass with a mutable default).
    kw = dict(attention_mask=mask, do_sample=False, use_cache=True, pad_token_id=EOS, eos_token_id=EOS,
              synced_gpus=False)
    with torch.inference_mode():
        t0 = time.time()
        model.generate(ids, max_new_tokens=2, min_new_tokens=2, **kw)  # warm-up: prefill and one decode step
        warm_s = time.time() - t0
        t0 = time.time()
        out = model.generate(ids, max_new_tokens=a.max_new_tokens, min_new_tokens=a.max_new_tokens, **kw)
        secs = time.time() - t0
    new = out[:, ids.shape[1]:]
    r = {"engine": "torch", "dtype": a.dtype, "threads": a.threads, "samples": new.shape[0],
         "prompt_tokens": ids.shape[1], "tokens": new.numel(), "load_s": load_s, "warmup_s": warm_s,
         "generate_s": secs, "tokens_per_s": new.numel() / secs, "new_ids": new.tolist()}
    print(json.dumps(memory(r, rss_loaded, reset)))


def _kv(text, key):
    m = re.search(r"\b" + key + r"=([0-9.]+)", text)
    if not m:
        sys.exit(f"llama_compare.py: no {key}= in warm's log:\n{text}")
    return float(m.group(1))


def cmd_warm_score(a):
    """warm score's stderr log and rewards, of each run, as one JSON object
    (the last run's timing and memory; every run's rewards must agree)."""
    runs = []
    for log, out in zip(a.files[::2], a.files[1::2]):
        text = open(log).read()
        rewards = [json.loads(line)["reward"] for line in open(out) if line.strip()]
        runs.append(dict(text=text, rewards=rewards))
    for r in runs[1:]:
        if r["rewards"] != runs[0]["rewards"]:
            sys.exit("llama_compare.py: warm's runs gave different rewards")
    last = runs[-1]["text"]
    r = {"engine": "warm", "runs": len(runs), "tokens": int(_kv(last, "tokens")), "load_s": _kv(last, "load_s"),
         "warmup_s": _kv(runs[0]["text"], "forward_s") if len(runs) > 1 else None,
         "forward_s": _kv(last, "forward_s"), "tokens_per_s": _kv(last, "tokens_per_s"),
         "peak_rss_kib": int(_kv(last, "peak_rss_kib")), "rewards": runs[-1]["rewards"]}
    print(json.dumps(r))


def go_duration(s):
    """Seconds in a Go time.Duration string (1m2.5s, 850ms, 40.124s)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(h|ms|us|µs|ns|m|s)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        sys.exit(f"llama_compare.py: cannot read duration {s!r}")
    return sum(float(n) * units[u] for n, u in parts)


def cmd_warm_generate(a):
    """warm generate's stderr line and --json output as one JSON object."""
    text = open(a.log).read()
    m = re.search(r"(\d+) samples, (\d+) tokens in (\S+) \(", text)
    if not m:
        sys.exit(f"llama_compare.py: no timing line in warm generate's log:\n{text}")
    samples, tokens, secs = int(m.group(1)), int(m.group(2)), go_duration(m.group(3))
    rows = [json.loads(line) for line in open(a.out) if line.strip()]
    rss = re.search(r"maxrss_kib=(\d+)", text)
    r = {"engine": "warm", "samples": samples, "prompt_tokens": PROMPT_LEN, "tokens": tokens, "load_s": None,
         "generate_s": secs, "tokens_per_s": tokens / secs, "peak_rss_kib": int(rss.group(1)) if rss else None,
         "per_sample_tokens": [x["tokens"] for x in rows], "stopped": [x["stopped"] for x in rows]}
    print(json.dumps(r))


def rel_diff(x, ref):
    """max_i |x_i - ref_i| / max(|ref_i|, 1e-2): relative, with an absolute
    floor of 1e-5 for rewards near zero."""
    return max(abs(u - v) / max(abs(v), 1e-2) for u, v in zip(x, ref))


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.0f}"


NAMES = (("warm", "warm (BF16 in memory)"), ("warm_bf16dot", "warm --bf16-dot"), ("torch_bf16", "torch bf16"),
         ("torch_f32", "torch f32 (upcast)"))


def cmd_report(a):
    score = {k: json.load(open(os.path.join(a.results, f"score_{k}.json"))) for k, _ in NAMES
             if k != "warm_bf16dot" or os.path.exists(os.path.join(a.results, f"score_{k}.json"))}
    gen = {}
    for k, _ in NAMES:
        p = os.path.join(a.results, f"generate_{k}.json")
        if os.path.exists(p):
            gen[k] = json.load(open(p))
    weights = os.path.getsize(os.path.join(a.dir, "seqcls", "model.safetensors"))
    cweights = os.path.getsize(os.path.join(a.dir, "causal", "model.safetensors"))
    w, f32 = score["warm"], score["torch_f32"]
    d_warm = rel_diff(w["rewards"], f32["rewards"])
    d_bf16 = rel_diff(score["torch_bf16"]["rewards"], f32["rewards"])
    secs = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    print("model: Qwen2-0.5B's shape (hidden 896, 24 layers, 14 heads / 2 KV heads, FFN 4864, vocab 151936), "
          "random, BF16 on disk")
    print(f"  model.safetensors: seqcls {weights} bytes ({weights / 2**20:.0f} MiB), causal {cweights} bytes")
    print(f"reward forward: {w['tokens']} tokens ({N_SEQ} x {SEQ_LEN}) in one batch, {a.threads} threads; "
          "the measured pass is the second (torch: same process; warm: second run)")
    print(f"  {'engine':<24}{'tokens/s':>10}{'pass s':>9}{'1st s':>9}{'load s':>8}{'peak MiB':>10}"
          f"{'run MiB':>9}{'peak/wts':>10}")
    for k, name in NAMES:
        if k not in score:
            continue
        r = score[k]
        print(f"  {name:<24}{r['tokens_per_s']:>10.1f}{r['forward_s']:>9.2f}{secs(r.get('warmup_s')):>9}"
              f"{r['load_s']:>8.2f}{mib(r['peak_rss_kib']):>10}{mib(r.get('run_peak_rss_kib')):>9}"
              f"{r['peak_rss_kib'] * 1024 / weights:>10.2f}")
    print("  peak: whole process (VmHWM / ru_maxrss), loading included; run: torch's peak after loading")
    print(f"rewards: max relative difference warm vs torch f32 {d_warm:.3g}, torch bf16 vs torch f32 {d_bf16:.3g}")
    if "warm_bf16dot" in score:
        d_dot = rel_diff(score["warm_bf16dot"]["rewards"], f32["rewards"])
        print(f"  warm --bf16-dot vs torch f32 {d_dot:.3g} (opt-in: activations rounded to bfloat16)")
    fast = max(("torch_bf16", "torch_f32"), key=lambda k: score[k]["tokens_per_s"])
    fwd_ratio = w["tokens_per_s"] / score[fast]["tokens_per_s"]
    dot_ratio = None
    if "warm_bf16dot" in score:
        dot_ratio = score["warm_bf16dot"]["tokens_per_s"] / score[fast]["tokens_per_s"]
    rss_ratio = w["peak_rss_kib"] * 1024 / weights
    gen_ratio, gfast, gen_dot_ratio = None, None, None
    if "warm" in gen and len(gen) > 1:
        g = gen["warm"]
        print(f"generation: {N_PROMPTS} prompts x {PROMPT_LEN} tokens, batch {N_PROMPTS}, greedy, "
              f"{a.max_tokens} new tokens each, KV cache, {a.threads} threads; time includes the prefill")
        print(f"  {'engine':<24}{'tokens/s':>10}{'seconds':>9}{'tokens':>8}{'load s':>8}{'peak MiB':>10}")
        for k, name in NAMES:
            if k in gen:
                r = gen[k]
                print(f"  {name:<24}{r['tokens_per_s']:>10.2f}{r['generate_s']:>9.2f}{r['tokens']:>8}"
                      f"{secs(r.get('load_s')):>8}{mib(r.get('peak_rss_kib')):>10}")
        for k in gen:
            if gen[k]["tokens"] != N_PROMPTS * a.max_tokens:
                print(f"WARNING: {k} generated {gen[k]['tokens']} tokens, not {N_PROMPTS * a.max_tokens}")
        gfast = max((k for k in gen if not k.startswith("warm")), key=lambda k: gen[k]["tokens_per_s"])
        gen_ratio = g["tokens_per_s"] / gen[gfast]["tokens_per_s"]
        if "warm_bf16dot" in gen:
            gen_dot_ratio = gen["warm_bf16dot"]["tokens_per_s"] / gen[gfast]["tokens_per_s"]
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print(f"targets: warm >= 1.5x torch on the reward forward: {verdict(fwd_ratio >= 1.5)} (faster torch: "
          f"{fast.replace('_', ' ')}); warm's peak RSS <= 1.25x model.safetensors: {verdict(rss_ratio <= 1.25)}")
    if d_warm > 1e-3:
        print(f"FAIL: warm's rewards differ from torch f32's by {d_warm:.3g} (relative) > 1e-3")
        print(f"  warm  {w['rewards']}\n  torch {f32['rewards']}")
        sys.exit(1)
    if dot_ratio is not None:
        print(f"forward_ratio_bf16dot={dot_ratio:.3f}")
    if gen_dot_ratio is not None:
        print(f"generate_ratio_bf16dot={gen_dot_ratio:.3f}")
    if gen_ratio is not None:
        print(f"generate_ratio={gen_ratio:.3f}")
    print(f"forward_ratio={fwd_ratio:.3f} rss_over_weights={rss_ratio:.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("make")
    s.add_argument("dir")
    s = sub.add_parser("inputs")
    s.add_argument("file")
    sub.add_parser("prompts")
    sub.add_parser("prompt-ids")
    for name in ("score", "generate"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True)
        s.add_argument("--dtype", choices=("bf16", "f32"), required=True)
        s.add_argument("--threads", type=int, default=2)
        if name == "score":
            s.add_argument("--inputs", required=True)
        else:
            s.add_argument("--max-new-tokens", type=int, default=32)
    s = sub.add_parser("warm-score", help="summarize warm score runs: LOG1 OUT1 [LOG2 OUT2 ...]")
    s.add_argument("files", nargs="+")
    s = sub.add_parser("warm-generate", help="summarize a warm generate run")
    s.add_argument("log")
    s.add_argument("out")
    s = sub.add_parser("report")
    s.add_argument("--dir", required=True)
    s.add_argument("--results", required=True)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--max-tokens", type=int, default=32)
    a = p.parse_args()
    if a.cmd == "prompts":
        print("\n".join(prompts()))
    elif a.cmd == "prompt-ids":
        print("\n".join(" ".join(map(str, ids)) for ids in prompt_ids()))
    else:
        globals()["cmd_" + a.cmd.replace("-", "_")](a)


if __name__ == "__main__":
    main()
