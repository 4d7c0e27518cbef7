"""ethics_rl_verdict.py E: every RL comparison on ETHICS judged at once.

For each win-rate directory under E/policy (A-vs-B, written by
bench/ethics_rl.sh or `warm winrate -o`), reads the win rate of A's policy
against B's at each matched step under the three independent judges — the
control RM (A-vs-B), the control that also saw theme
(A-vs-B-rm-stutter-loop-babble-theme) and the likelihood judge
(A-vs-B-fluency) — and takes at each step where all three judged the
smallest of their win rates: a win that no single judge's blind spot can
make (a judge blind in A's favour cannot lift the smallest). It prints, per
comparison, that smallest rate at its best step and at the last step, and
which judge gave it. The old control (A-vs-B-oldcontrol) shares the
members' base and is shown apart.

Usage: python3 bench/ethics_rl_verdict.py runs/ethics
"""
import json
import os
import sys

JUDGES = [("", "control"), ("-rm-stutter-loop-babble-theme", "theme"), ("-fluency", "likelihood")]


def rows(path):
    with open(os.path.join(path, "winrate.json")) as f:
        return {r["step"]: r["a_vs_b"] for r in json.load(f)["rows"]}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pol = os.path.join(sys.argv[1], "policy")
    names = sorted(d for d in os.listdir(pol) if "-vs-" in d and os.path.isfile(os.path.join(pol, d, "winrate.json")))
    bases = [d for d in names if not any(d.endswith(s) for s, _ in JUDGES[1:]) and not d.endswith("-oldcontrol")]
    print("| A vs B | judged steps | smallest of the three judges: best step | … at the last step | old control at the last step |")
    print("|---|---|---|---|---|")
    for base in bases:
        judged = [(name, rows(os.path.join(pol, base + s))) for s, name in JUDGES if os.path.isdir(os.path.join(pol, base + s))]
        if len(judged) < len(JUDGES):
            print(f"| {base} | (not every judge ran) | | | |")
            continue
        steps = sorted(set.intersection(*(set(j) for _, j in judged)))
        if not steps:
            continue

        def smallest(step):
            name, r = min(((n, j[step]) for n, j in judged), key=lambda x: x[1]["win_rate"])
            return r["win_rate"], r["se"], name

        best = max(steps, key=lambda s: smallest(s)[0])
        w, se, by = smallest(best)
        lw, lse, lby = smallest(steps[-1])
        old = ""
        if os.path.isdir(os.path.join(pol, base + "-oldcontrol")):
            o = rows(os.path.join(pol, base + "-oldcontrol")).get(steps[-1])
            if o:
                old = f"{o['win_rate']:.3f} ± {o['se']:.3f}"
        print(f"| {base} | {len(steps)} | {w:.3f} ± {se:.3f} at {best} ({by}) | {lw:.3f} ± {lse:.3f} at {steps[-1]} ({lby}) | {old} |")


if __name__ == "__main__":
    main()
