#!/usr/bin/python3
"""Reference GPT-2 in plain PyTorch, matching Hugging Face's GPT2LMHeadModel /
GPT2ForSequenceClassification semantics, for warm's parity test and benchmark.

Usage: torch_gpt2.py DIR
  reads  DIR/model.safetensors  (Hugging Face names, F32)
         DIR/inputs.safetensors (lm.tokens, lm.targets, lm.mask, bt.tokens,
                                 bt.lengths, grad.<name>: warm's BT gradients;
                                 __metadata__ holds "config" JSON)
  writes DIR/out.safetensors    (lm.logits, lm.loss, lm.grad.<name>,
                                 bt.rewards, bt.loss, bt.grad.<name>,
                                 bt.updated.<name>: clip_grad_norm_ + AdamW applied
                                 to the grad.<name> inputs)

Safetensors is parsed by hand (8-byte little-endian header length, JSON
header, raw little-endian data): the transformers/safetensors Python
packages are not needed.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=DTYPES[info["dtype"]])
        out[name] = torch.from_numpy(arr.copy().reshape(info["shape"]))
    return out, meta


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().numpy()
        raw = t.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2(torch.nn.Module):
    """GPT-2 with parameters named as in Hugging Face (Conv1D weights [in, out])."""

    def __init__(self, cfg, params):
        super().__init__()
        self.cfg = cfg
        self.names = sorted(params)
        self.p = torch.nn.ParameterDict({n.replace(".", "__"): torch.nn.Parameter(params[n].clone()) for n in self.names})

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def named(self):
        return [(n, self.w(n)) for n in self.names]

    def hidden(self, ids, train):
        cfg = self.cfg
        B, T = ids.shape
        d, nh = cfg["n_embd"], cfg["n_head"]
        hd = d // nh
        eps = cfg["layer_norm_epsilon"]
        pos = torch.arange(T)
        x = self.w("transformer.wte.weight")[ids] + self.w("transformer.wpe.weight")[pos]
        x = F.dropout(x, cfg["embd_pdrop"], train)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for i in range(cfg["n_layer"]):
            p = "transformer.h.%d." % i
            h = F.layer_norm(x, (d,), self.w(p + "ln_1.weight"), self.w(p + "ln_1.bias"), eps)
            qkv = h @ self.w(p + "attn.c_attn.weight") + self.w(p + "attn.c_attn.bias")
            q, k, v = qkv.split(d, dim=2)
            q, k, v = [t.view(B, T, nh, hd).transpose(1, 2) for t in (q, k, v)]
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = torch.where(causal, att, torch.tensor(torch.finfo(att.dtype).min, dtype=att.dtype))
            att = F.dropout(torch.softmax(att, dim=-1), cfg["attn_pdrop"], train)
            y = (att @ v).transpose(1, 2).reshape(B, T, d)
            y = y @ self.w(p + "attn.c_proj.weight") + self.w(p + "attn.c_proj.bias")
            x = x + F.dropout(y, cfg["resid_pdrop"], train)
            h = F.layer_norm(x, (d,), self.w(p + "ln_2.weight"), self.w(p + "ln_2.bias"), eps)
            h = gelu_new(h @ self.w(p + "mlp.c_fc.weight") + self.w(p + "mlp.c_fc.bias"))
            h = h @ self.w(p + "mlp.c_proj.weight") + self.w(p + "mlp.c_proj.bias")
            x = x + F.dropout(h, cfg["resid_pdrop"], train)
        return F.layer_norm(x, (d,), self.w("transformer.ln_f.weight"), self.w("transformer.ln_f.bias"), eps)

    def logits(self, ids, train=False):
        return self.hidden(ids, train) @ self.w("transformer.wte.weight").t()

    def lm_loss(self, ids, targets, mask, train=False):
        """sum(mask * CE) / count(mask != 0), over every position."""
        logits = self.logits(ids, train)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long().clamp(min=0), reduction="none")
        m = mask.reshape(-1)
        return (ce * m).sum() / (m != 0).sum(), logits

    def rewards(self, ids, lengths, train=False):
        """GPT2ForSequenceClassification: score at the last non-pad token."""
        h = self.hidden(ids, train)
        scores = h @ self.w("score.weight").t()  # [B, T, 1]
        return scores[torch.arange(ids.shape[0]), lengths.long() - 1, 0]


def bt_loss(r):
    P = r.shape[0] // 2
    return -F.logsigmoid(r[:P] - r[P:]).mean()


def adamw(model, cfg):
    decay = [p for n, p in model.named() if p.dim() >= 2]
    no_decay = [p for n, p in model.named() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])


def main():
    d = sys.argv[1]
    torch.set_num_threads(1)
    params, _ = load_safetensors(d + "/model.safetensors")
    inputs, meta = load_safetensors(d + "/inputs.safetensors")
    cfg = json.loads(meta["config"])
    model = GPT2(cfg, params)
    out = {}

    loss, logits = model.lm_loss(inputs["lm.tokens"].long(), inputs["lm.targets"], inputs["lm.mask"])
    loss.backward()
    out["lm.logits"] = logits
    out["lm.loss"] = loss.reshape(1)
    for n, p in model.named():
        out["lm.grad." + n] = torch.zeros_like(p) if p.grad is None else p.grad.clone()
        p.grad = None

    r = model.rewards(inputs["bt.tokens"].long(), inputs["bt.lengths"])
    loss = bt_loss(r)
    loss.backward()
    out["bt.rewards"] = r
    out["bt.loss"] = loss.reshape(1)
    for n, p in model.named():
        out["bt.grad." + n] = p.grad.clone()
        # The optimiser is checked on warm's own gradients (given as inputs),
        # so that float32 noise in gradients that are exactly zero (the key
        # bias; ln_f.bias under the Bradley-Terry loss), which Adam
        # normalises to full-size steps, does not blur the comparison.
        p.grad = inputs["grad." + n].clone()
    torch.nn.utils.clip_grad_norm_([p for _, p in model.named()], cfg["max_norm"])
    opt = adamw(model, cfg)
    opt.step()
    for n, p in model.named():
        out["bt.updated." + n] = p
    save_safetensors(d + "/out.safetensors", out)


if __name__ == "__main__":
    main()
