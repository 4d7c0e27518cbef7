#!/usr/bin/python3
"""PyTorch baseline of warm's engine benchmarks (bench/torch_compare.sh).

The same GPT-2 as warm's parity test (model/testdata/torch_gpt2.py, plain
torch with Hugging Face semantics), the same configurations and batches as
model/bench_test.go:
  forward:    rewards of 32 sequences of 64 tokens, eval mode, no_grad
  train step: Bradley-Terry step on 32 pairs (64 sequences of 64 tokens),
              dropout 0.1: forward, loss, backward, clip_grad_norm_(1.0),
              AdamW
Prints one JSON object per configuration: {"config", "threads",
"forward_ms", "train_step_ms"} (medians over --iters timed iterations after
warm-up).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "testdata"))
from torch_gpt2 import GPT2, bt_loss  # noqa: E402

CONFIGS = {
    "d128L2": dict(n_embd=128, n_layer=2, n_head=4),
    "d256L4": dict(n_embd=256, n_layer=4, n_head=4),
}
V, T = 4096, 64


def make_params(c, gen):
    d = c["n_embd"]
    shapes = {"transformer.wte.weight": (V, d), "transformer.wpe.weight": (T, d),
              "transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,), "score.weight": (1, d)}
    for i in range(c["n_layer"]):
        p = "transformer.h.%d." % i
        shapes.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,),
                       p + "attn.c_attn.weight": (d, 3 * d), p + "attn.c_attn.bias": (3 * d,),
                       p + "attn.c_proj.weight": (d, d), p + "attn.c_proj.bias": (d,),
                       p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                       p + "mlp.c_fc.weight": (d, 4 * d), p + "mlp.c_fc.bias": (4 * d,),
                       p + "mlp.c_proj.weight": (4 * d, d), p + "mlp.c_proj.bias": (d,)})
    out = {}
    for n, s in shapes.items():
        if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n.endswith("ln_f.weight"):
            out[n] = torch.ones(s)
        elif n.endswith(".bias"):
            out[n] = torch.zeros(s)
        else:
            out[n] = torch.randn(s, generator=gen) * 0.02
    return out


def median_ms(fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(1)
    for name in args.configs.split(","):
        c = dict(CONFIGS[name], layer_norm_epsilon=1e-5, embd_pdrop=0.1, attn_pdrop=0.1, resid_pdrop=0.1)
        model = GPT2(c, make_params(c, gen))
        params = [p for _, p in model.named()]
        opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
                                 {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                                lr=1e-4)
        ids32 = torch.randint(1, V, (32, T), generator=gen)
        ids64 = torch.randint(1, V, (64, T), generator=gen)
        len32 = torch.full((32,), T)
        len64 = torch.full((64,), T)

        def forward():
            with torch.no_grad():
                model.rewards(ids32, len32, train=False)

        def train_step():
            r = model.rewards(ids64, len64, train=True)
            loss = bt_loss(r)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        print(json.dumps({"config": name, "threads": args.threads, "forward_ms": median_ms(forward, args.iters),
                          "train_step_ms": median_ms(train_step, args.iters)}), flush=True)


if __name__ == "__main__":
    main()
