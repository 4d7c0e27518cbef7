"""fluency_length.py SAMPLES NAME=SCORES...: how each judge's score depends on
length (see fluency_length.sh). SAMPLES is `warm generate --json` output;
each SCORES file is `warm score` output for it, a line each."""
import itertools
import json
import statistics
import sys


def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def pearson(a, b):
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den


def main():
    samples = [json.loads(line) for line in open(sys.argv[1])]
    lengths = [s["tokens"] for s in samples]
    by_prompt = {}
    for i, s in enumerate(samples):
        by_prompt.setdefault(s["prompt_index"], []).append(i)
    pairs = [(i, j) if lengths[i] < lengths[j] else (j, i)
             for idx in by_prompt.values() for i, j in itertools.combinations(idx, 2)
             if lengths[i] != lengths[j]]
    print(f"{len(samples)} samples, {statistics.fmean(lengths):.1f} tokens on average "
          f"({min(lengths)}-{max(lengths)}), {len(pairs)} same-prompt pairs of different lengths")
    print("| judge | Spearman(score, length) | longer scores higher | ± SE |")
    print("| --- | --- | --- | --- |")
    scores = {}
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        s = [json.loads(line)["reward"] for line in open(path)]
        if len(s) != len(samples):
            sys.exit(f"{path}: {len(s)} scores for {len(samples)} samples")
        scores[name] = s
        # Ties in score count one half; the SE is over prompts (pairs of one
        # prompt share samples).
        per_prompt = {}
        for lo, hi in pairs:
            w = 1.0 if s[hi] > s[lo] else 0.5 if s[hi] == s[lo] else 0.0
            per_prompt.setdefault(samples[lo]["prompt_index"], []).append(w)
        means = [statistics.fmean(v) for v in per_prompt.values()]
        rate = sum(sum(v) for v in per_prompt.values()) / len(pairs)
        se = statistics.stdev(means) / len(means) ** 0.5
        print(f"| {name} | {pearson(ranks(lengths), ranks(s)):+.3f} | {rate:.3f} | {se:.3f} |")
    if "fluency" in scores:
        print()
        print("| tokens | samples | likelihood judge's mean (nats/token) |")
        print("| --- | --- | --- |")
        for lo, hi in [(1, 5), (6, 10), (11, 15), (16, 20), (21, 30), (31, 40)]:
            s = [scores["fluency"][i] for i in range(len(samples)) if lo <= lengths[i] <= hi]
            if s:
                print(f"| {lo}-{hi} | {len(s)} | {statistics.fmean(s):.3f} |")


if __name__ == "__main__":
    main()
