# Learning-curve probe for the synthetic task (a development tool, not a
# test): a tiny GPT-style reward model (d=64, 2 layers, 4 heads, word-level
# tokens, random init, no pre-training) trained with the Bradley-Terry loss on
# train.jsonl, batch 32, AdamW lr 1e-3; accuracy on the first 1000 pairs of
# test.jsonl and ood_test.jsonl (per OOD pair kind) every 250 steps.
#
#   go run ./cmd/warm data synth -o /tmp/synth
#   /usr/bin/python3 data/synth/testdata/rm_curve.py /tmp/synth
#
# Needs python3-torch. CPU by default (2 threads), CUDA when available.
import json, sys, time, random
import torch, torch.nn as nn, torch.nn.functional as F
dev = "cuda" if torch.cuda.is_available() else "cpu"
d = sys.argv[1]
def load(n): return [json.loads(l) for l in open(f"{d}/{n}.jsonl")]
tr, te, od = load("train"), load("test")[:1000], load("ood_test")[:1000]; random.seed(0)
torch.set_num_threads(2)
def toks(s): return s.replace(".", " .").replace(";", " ; ").replace(":", " : ").split()
vocab = {"<pad>": 0, "<eos>": 1}
for r in tr:
    for w in toks(r["prompt"] + r["chosen"] + r["rejected"]): vocab.setdefault(w, len(vocab))
V = len(vocab); T = 96
def enc(p, r):
    ids = [vocab.get(w, 0) for w in toks(p)] + [vocab.get(w, 0) for w in toks(r)] + [1]
    return ids[-T:]
def batchify(rows):
    seqs = [enc(r["prompt"], r["chosen"]) for r in rows] + [enc(r["prompt"], r["rejected"]) for r in rows]
    L = max(map(len, seqs)); x = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs): x[i, :len(s)] = torch.tensor(s)
    return x.to(dev), torch.tensor([len(s) - 1 for s in seqs]).to(dev)
class Block(nn.Module):
    def __init__(s, dm, h):
        super().__init__(); s.l1 = nn.LayerNorm(dm); s.att = nn.MultiheadAttention(dm, h, batch_first=True); s.l2 = nn.LayerNorm(dm)
        s.mlp = nn.Sequential(nn.Linear(dm, 4 * dm), nn.GELU(), nn.Linear(4 * dm, dm))
    def forward(s, x, mask):
        h = s.l1(x); x = x + s.att(h, h, h, attn_mask=mask, need_weights=False)[0]; return x + s.mlp(s.l2(x))
class RM(nn.Module):
    def __init__(s, dm, nl, h=4):
        super().__init__(); s.wte = nn.Embedding(V, dm); s.wpe = nn.Embedding(T, dm)
        s.blocks = nn.ModuleList([Block(dm, h) for _ in range(nl)]); s.lf = nn.LayerNorm(dm); s.head = nn.Linear(dm, 1)
    def forward(s, x, last):
        L = x.shape[1]; mask = torch.triu(torch.ones(L, L, dtype=torch.bool, device=x.device), 1)
        h = s.wte(x) + s.wpe(torch.arange(L, device=x.device))
        for b in s.blocks: h = b(h, mask)
        h = s.lf(h); return s.head(h[torch.arange(len(x), device=x.device), last]).squeeze(-1)
def prefs(m, rows):
    m.eval(); out = []
    with torch.no_grad():
        for i in range(0, len(rows), 512):
            rs = rows[i:i + 512]; x, last = batchify(rs); r = m(x, last); B = len(rs)
            out += (r[:B] > r[B:]).tolist()
    m.train(); return out
def report(m, step, t):
    pt, po = prefs(m, te), prefs(m, od)
    kinds = {}
    for p, r in zip(po, od): kinds.setdefault(r["kind"], []).append(p)
    ks = " ".join(f"{k} {sum(v)/len(v):.3f}" for k, v in sorted(kinds.items()))
    print(f"  step {step:5d} ({t:.0f}s) test {sum(pt)/len(pt):.3f} ood {sum(po)/len(po):.3f} [{ks}]", flush=True)
for dm, nl, lr, steps in [(64, 2, 1e-3, 1000)]:
    torch.manual_seed(0); random.seed(0)
    m = RM(dm, nl).to(dev); opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0)
    print(f"d={dm} layers={nl} lr={lr} params={sum(p.numel() for p in m.parameters())}", flush=True)
    t0 = time.time(); step = 0; data = list(tr)
    while step < steps:
        random.shuffle(data)
        for i in range(0, len(data) - 31, 32):
            x, last = batchify(data[i:i + 32]); r = m(x, last)
            loss = -F.logsigmoid(r[:32] - r[32:]).mean(); opt.zero_grad(); loss.backward(); opt.step(); step += 1
            if step in (250, 500, 750, 1000): report(m, step, time.time() - t0)
            if step >= steps: break
