"""ethics_prompts.py SRC DST: the RL and best-of-N prompts of ETHICS.

ETHICS utilitarianism pairs have no prompt, so the prompts are the natural
branching points of the test pairs: the longest common word prefix of the
two scenarios of a pair ("My elder brother and I played cribbage and I"),
kept when it is at least 4 words and shorter than both scenarios, each
once, in file order. Used by bench/ethics_policy.sh and ethics_control.sh.
"""
import json
import os
import sys

src, dst = sys.argv[1], sys.argv[2]
seen, out = set(), []
with open(src) as f:
    for line in f:
        r = json.loads(line)
        a, b = r["chosen"].split(), r["rejected"].split()
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        if k >= 4 and k < len(a) and k < len(b):
            p = " ".join(a[:k])
            if p not in seen:
                seen.add(p)
                out.append(p)
with open(dst + ".tmp", "w") as f:
    for p in out:
        f.write(json.dumps({"prompt": p}) + "\n")
os.replace(dst + ".tmp", dst)
print(f"prompts: {len(out)} common prefixes of >= 4 words from {src}")
