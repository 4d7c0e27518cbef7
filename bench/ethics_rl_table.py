#!/usr/bin/env python3
"""ethics_rl_table.py: the Markdown tables of docs/POLICY.md for one KL
weight of bench/ethics_rl.sh, from its outputs.

Usage: bench/ethics_rl_table.py E ALPHA [STEPS] [REWARD ...]
  (E: runs/ethics; STEPS: 3000; REWARDS: best warm6, the run names)

Prints, per evaluation step, control ± SE / proxy in SFT standard
deviations / KL nats / tokens (/ repetition share, and by stems, of the evaluation
samples, in runs that measured it) for each run, the first step at which each
run's control fell below the SFT policy's by more than two standard errors
while its proxy rose, and the win-rate table under the new and the old
control and any control judged with JUDGE=... (WARM(6) against the best
member, and each against SFT; ENS(6) against the best member and WARM(6)
against ENS(6) where <run>-vs-<run> directories exist), and the share of
repeated content words in each policy's samples (data.Repetition; no model).
"""
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    e, alpha = sys.argv[1], sys.argv[2]
    steps = sys.argv[3] if len(sys.argv) > 3 else "3000"
    rewards = sys.argv[4:] or ["best", "warm6"]
    p = os.path.join(e, "policy")
    runs = {r: load(os.path.join(p, f"rl{steps}-a{alpha}-{r}", "rl.json")) for r in rewards}
    print(f"| step | {' | '.join(rewards)} |")
    print("|---|" + "---|" * len(rewards))
    by_step = {r: {ev["step"]: ev for ev in run["evals"]} for r, run in runs.items()}
    all_steps = sorted(set().union(*[set(s) for s in by_step.values()]))
    for s in all_steps:
        cells = []
        for r in rewards:
            ev = by_step[r].get(s)
            rep = "" if ev is None or "repetition" not in ev else f" / {ev['repetition']:.3f}"
            if ev is not None and "stem_repetition" in ev:
                rep += f" ({ev['stem_repetition']:.3f} stems)"
            cells.append("" if ev is None else
                         f"{ev['control']:.2f} ± {ev['control_se']:.2f} / {ev['proxy_norm']:+.2f} / {ev['kl']:.0f} / {ev['tokens']:.1f}{rep}")
        print(f"| {s} | {' | '.join(cells)} |")
    print()
    for r, run in runs.items():
        evs = run["evals"]
        sft = evs[0]
        hacked = next((ev for ev in evs[1:] if ev["control"] < sft["control"] - 2 * max(ev["control_se"], sft["control_se"])
                       and ev["proxy_norm"] > 0), None)
        peak = max(evs, key=lambda ev: ev["control"])
        last = evs[-1]
        print(f"- {r}: {run.get('steps_per_sec', 0):.2f} steps/s; control at SFT {sft['control']:.2f}, peak {peak['control']:.2f} "
              f"at step {peak['step']}, last {last['control']:.2f} (proxy {last['proxy_norm']:+.2f} SD, KL {last['kl']:.0f}); "
              + (f"first below SFT by > 2 SE at step {hacked['step']} ({hacked['control']:.2f}, proxy {hacked['proxy_norm']:+.2f} SD)"
                 if hacked else "never below SFT by > 2 SE"))
    print()
    if len(rewards) < 2:
        return
    label = {"warm6": "WARM(6)", "ens6": "ENS(6)", "best": "best"}
    for a, b in [("warm6", "best"), ("ens6", "best"), ("warm6", "ens6")]:
        winrates(p, steps, alpha, a, b, label.get(a, a), label.get(b, b))


def winrates(p, steps, alpha, a, b, la, lb):
    """Prints the win rates of run a against run b (and each against SFT)
    under every control that judged them, and the repetition rows."""
    rows = []
    judges = [("new control", ""), ("old control", "-oldcontrol")]
    # More controls judged with bench/ethics_rl.sh JUDGE=...: <a>-vs-<b>-<name>.
    stem = f"rl{steps}-a{alpha}-{a}-vs-{b}-"
    for d in sorted(os.listdir(p)):
        if d.startswith(stem) and d != stem + "oldcontrol":
            judges.append((d[len(stem):], "-" + d[len(stem):]))
    for name, suffix in judges:
        path = os.path.join(p, f"rl{steps}-a{alpha}-{a}-vs-{b}{suffix}", "winrate.json")
        if os.path.exists(path):
            rows.append((name, load(path)))
    if not rows:
        return
    # Controls may have judged different steps (--steps): one column a step
    # any of them judged, blank where one did not.
    steps_w = sorted({r["step"] for _, w in rows for r in w["rows"]})
    print("| step | " + " | ".join(str(s) for s in steps_w) + " |")
    print("|---|" + "---|" * len(steps_w))
    fmt = lambda x: f"{x['win_rate']:.3f} ± {x['se']:.3f}" if x else ""
    for name, w in rows:
        at = {r["step"]: r for r in w["rows"]}
        cells = lambda key: " | ".join(fmt(at[s].get(key)) if s in at else "" for s in steps_w)
        print(f"| {la} vs {lb}, {name} | " + cells("a_vs_b") + " |")
        print(f"| {la} vs SFT, {name} | " + cells("a_vs_sft") + " |")
        print(f"| {lb} vs SFT, {name} | " + cells("b_vs_sft") + " |")
    # Repetition needs no model: the same samples under every control; read
    # from the table with the most steps.
    w = max((w for _, w in rows), key=lambda w: len(w["rows"]))
    if "repetition_a" in w["rows"][0]["a_vs_b"]:
        at = {r["step"]: r for r in w["rows"]}
        rep = lambda x, k: f"{x[k]:.3f}" if x else ""
        cells = lambda key, k: " | ".join(rep(at[s].get(key), k) if s in at else "" for s in steps_w)
        print(f"| repetition, {la} | " + cells("a_vs_b", "repetition_a") + " |")
        print(f"| repetition, {lb} | " + cells("a_vs_b", "repetition_b") + " |")
        print("| repetition, SFT | " + cells("a_vs_sft", "repetition_b") + " |")
    print()

if __name__ == "__main__":
    main()
