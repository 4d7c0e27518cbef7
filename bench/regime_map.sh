#!/usr/bin/env bash
# regime_map.sh: when does weight averaging help? The synthetic task in
# three regimes (issue 12, item 3), each with three sweep seeds:
#   shared  the default task's length shortcut (the longer response is the
#           better one in ~76% of training pairs; reversed out of
#           distribution): a feature every member shares, which averaging
#           cannot remove;
#   weak    a weaker shortcut (--longer-better 0.65);
#   none    no shortcut (--longer-better 0.5): label noise only.
# Every regime: 4,000 training pairs with 30% of labels flipped, M = 4
# members of 1,000 steps (eight epochs: enough to memorise), one base and
# SFT per regime (sweep seeds 2 and 3 reuse them), the evaluation (WA vs ENS
# vs members, memorisation, the members' error correlation), and best-of-N
# from the SFT policy (64 prompts, N up to 16) judged by the gold reward.
# `warm demo` is the `none` regime's sweep seed 1. Resumable: finished
# stages are reused. About 10 minutes a regime on 2 cores.
#
#   bench/regime_map.sh [WORKDIR]      # default bench/out/regimes
#
# Last lines: one row per regime (mean ± standard error over sweep seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-bench/out/regimes}
mkdir -p "$W"
go build -o "$W/warm" ./cmd/warm
warm=$W/warm
declare -A lb=([shared]=0 [weak]=0.65 [none]=0.5)
for r in shared weak none; do
	d=$W/$r
	for s in 1 2 3; do
		rep=$d/report
		[ "$s" = 1 ] || rep=$d/report-s$s
		if [ ! -f "$rep/results.json" ]; then
			echo "regime_map: $r, sweep seed $s" >&2
			"$warm" experiment --task synthetic --train-pairs 4000 --longer-better "${lb[$r]}" --corrupt 0.3 \
				--members 4 --member-steps 1000 --max-pairs 1000 --lmc-pairs 200 --greedy-soup=false \
				--sweep-seed "$s" -o "$d" >"$d.s$s.log" 2>&1
		fi
		sw=$d/sweep
		[ "$s" = 1 ] || sw=$d/sweep-s$s
		bon=$d/bon-s$s
		if [ ! -f "$bon/bon.json" ] || ! grep -q member_errors "$bon/bon.json"; then
			"$warm" bon --policy "$d/sft" --sweep "$sw/manifest.json" --results "$rep/results.json" \
				--prompts "$d/data/prompts.jsonl" --max-prompts 64 --max-n 16 --ref-samples 8 --max-tokens 40 \
				--rewards best,ens:4,warm:4 --member-errors 4 --control gold -o "$bon" --force >"$bon.log" 2>&1
		fi
	done
done
python3 - "$W" <<'PY'
import json, math, sys, os
W = sys.argv[1]
def load(p): return json.load(open(p))
def cmp(res, a, b, s):
    for c in res["comparisons"]:
        if c["a"] == a and c["b"] == b and c["set"] == s:
            return c["diff"]
    return float("nan")
def best(res):
    return next(m["name"] for m in res["members"] if m["rank"] == 0)
def acc(res, name, s):
    e = next(e for e in res["entries"] if e["name"] == name)
    return next(r["accuracy"] for r in e["results"] if r["set"] == s)
def ms(xs):
    n = len(xs); m = sum(xs) / n
    se = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n) if n > 1 else float("nan")
    return f"{m:+.3f} ± {se:.3f}"
def mean(xs): return f"{sum(xs)/len(xs):.3f}"
print("regime | OOD: WA−ENS | OOD: WA−best | flipped: WA−ENS | ID: WA−ENS | OOD acc best/WA/ENS | error corr OOD | error corr policy samples | members' agreement with gold on them | BoN gold N=16 best/ENS/WA (N=1)")
for r in ["shared", "weak", "none"]:
    rows = {k: [] for k in "we wb fe ie ab aw ae ec pc pa bb be bw b1".split()}
    for s in (1, 2, 3):
        rep = os.path.join(W, r, "report" if s == 1 else f"report-s{s}", "results.json")
        res = load(rep)["results"]
        wa, ens, b = "WA(4)", "ENS(4)", best(res)
        rows["we"].append(cmp(res, wa, ens, "ood_test")); rows["wb"].append(cmp(res, wa, b, "ood_test"))
        rows["fe"].append(cmp(res, wa, ens, "train_flipped")); rows["ie"].append(cmp(res, wa, ens, "test"))
        rows["ab"].append(acc(res, b, "ood_test")); rows["aw"].append(acc(res, wa, "ood_test")); rows["ae"].append(acc(res, ens, "ood_test"))
        rows["ec"].append(next((e["mean"] for e in res.get("member_error_correlation", []) if e["set"] == "ood_test"), float("nan")))
        bon = load(os.path.join(W, r, f"bon-s{s}", "bon.json"))
        cur = {c["reward"]: c["control"] for c in bon["curves"]}
        me = bon.get("member_errors") or {}
        rows["pc"].append(me.get("correlation", float("nan")))
        rows["pa"].append(sum(me.get("agreement", [float("nan")])) / max(len(me.get("agreement", [1])), 1))
        rows["bb"].append(cur["best"][-1]); rows["be"].append(cur["ens4"][-1]); rows["bw"].append(cur["warm4"][-1]); rows["b1"].append(cur["best"][0])
    print(f"{r} | {ms(rows['we'])} | {ms(rows['wb'])} | {ms(rows['fe'])} | {ms(rows['ie'])} | "
          f"{mean(rows['ab'])}/{mean(rows['aw'])}/{mean(rows['ae'])} | {mean(rows['ec'])} | {mean(rows['pc'])} | {mean(rows['pa'])} | "
          f"{mean(rows['bb'])}/{mean(rows['be'])}/{mean(rows['bw'])} ({mean(rows['b1'])})")
PY
