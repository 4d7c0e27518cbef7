#!/usr/bin/env bash
# merge_bench.sh: speed and memory of `warm merge` against the copy floor and
# a numpy reference, on M=6 members of 1 GiB F32 each (sharded at 256 MiB)
# and their BF16 variants (512 MiB each).
#
#   bench/merge_bench.sh [WORKDIR]
#
# RUNS (default 3) sets the repetitions; KEEP=1 keeps the generated members in
# WORKDIR, and a later run with the same WORKDIR reuses them.
#
# Needs ~11 GiB of disk under WORKDIR (default: a new directory in /tmp, removed
# at the end), /usr/bin/python3 with numpy (or PY=...), dd, and Go (or a built
# binary in WARM_BIN=...). Not run in CI. Every timing is taken with the inputs in the page cache ("warm"): each
# measurement is preceded by dd of every input to /dev/null, and outputs are
# deleted first so that every writer creates new files.
#
# Per variant and run it measures:
#   floor        dd bs=4M of every input to /dev/null, plus dd bs=4M of one
#                member's shards to new files (what any merge must at least
#                read and write). GNU cat to /dev/null is no floor: it splices
#                and copies nothing.
#   floor_sync   the same with conv=fsync on the written files.
#   warm         warm merge --no-sync (comparable with the floor), defaults
#                otherwise
#   warm_sync    warm merge as by default (fsync of output and directories),
#                comparable with floor_sync; peak RSS (VmHWM, printed by the
#                hidden --report-peak-rss flag).
#   warm_fp      warm merge --no-sync --fingerprint always: the output is
#                hashed (SHA-256) while streaming. By default (auto) outputs
#                over 256 MiB are not hashed, these 1 GiB and 512 MiB ones
#                included; this line shows what hashing them costs.
#   numpy        merge/testdata/numpy_merge.py (np.memmap at the header
#                offsets, float64 accumulation, same output bytes).
# It prints one line per run, a median line per variant, and a last line
#   vs_floor=X vs_numpy=Y peak_rss_mib=Z
# with X = warm/floor (worst variant's median), Y = numpy/warm (worst
# variant's median), Z = largest peak RSS of any merge.
set -euo pipefail

M=${M:-6}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/usr/bin/python3}
OWN_WORK=0
if [[ $# -ge 1 ]]; then
	WORK=$1
	mkdir -p "$WORK"
else
	WORK=$(mktemp -d /tmp/warm-merge-bench.XXXXXX)
	OWN_WORK=1
fi
cleanup() {
	[[ ${KEEP:-0} == 1 ]] && return
	if [[ $OWN_WORK == 1 ]]; then rm -rf "$WORK"; else rm -rf "$WORK"/{f32,bf16,out,warm,.generated,numpy.safetensors}; fi
}
trap cleanup EXIT

$PY -c 'import numpy' || { echo "needs $PY with numpy (Debian: apt-get install python3-numpy)" >&2; exit 1; }

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n ${WARM_BIN:-} ]]; then
	WARM=$WARM_BIN
	echo "# using $WARM"
else
	echo "# building warm"
	(cd "$ROOT" && go build -o "$WORK/warm" ./cmd/warm)
	WARM=$WORK/warm
fi

if [[ -f $WORK/.generated ]]; then
	echo "# reusing the members in $WORK"
else
echo "# generating $M F32 members of 1 GiB (shards of 256 MiB) and their BF16 variants"
rm -rf "$WORK"/{f32,bf16}
$PY - "$WORK" "$M" <<'PYEOF'
import json, os, struct, sys
import numpy as np
work, M = sys.argv[1], int(sys.argv[2])
D = 4096
names = [f"transformer.h.{i}.mlp.c_fc.weight" for i in range(16)]  # 16 x 64 MiB = 1 GiB in F32
small = {"score.weight": [1, D], "transformer.ln_f.bias": [D], "transformer.ln_f.weight": [D]}
def bf16(a):
    u = a.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
def write_member(path, tensors, shard_bytes):
    os.makedirs(path)
    items = sorted(tensors.items())
    shards, cur, size = [], [], 0
    for name, (dt, shape, data) in items:
        if cur and size + data.nbytes > shard_bytes:
            shards.append(cur); cur, size = [], 0
        cur.append(name); size += data.nbytes
    shards.append(cur)
    n = len(shards)
    wm, total = {}, 0
    for i, group in enumerate(shards):
        fname = f"model-{i+1:05d}-of-{n:05d}.safetensors"
        hdr, off = {"__metadata__": {"format": "pt"}}, 0
        for name in group:
            dt, shape, data = tensors[name]
            hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + data.nbytes]}
            off += data.nbytes; wm[name] = fname; total += data.nbytes
        h = json.dumps(hdr, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        with open(os.path.join(path, fname), "wb") as f:
            f.write(struct.pack("<Q", len(h))); f.write(h)
            for name in group:
                tensors[name][2].tofile(f)
    with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2, sort_keys=True)
    for fn, txt in (("config.json", '{"model_type": "gpt2", "n_embd": 4096, "n_layer": 16}'),
                    ("tokenizer.json", '{"version": "1.0", "model": {"type": "BPE"}}')):
        with open(os.path.join(path, fn), "w") as f:
            f.write(txt)
pos = np.arange(1024, dtype=np.int64).reshape(1, 1024)
for m in range(M):
    rng = np.random.default_rng(1000 + m)
    t32 = {n: ("F32", [D, D], (rng.standard_normal((D, D), dtype=np.float32) * 0.02)) for n in names}
    for n, shape in small.items():
        t32[n] = ("F32", shape, rng.standard_normal(shape, dtype=np.float32))
    t32["transformer.position_ids"] = ("I64", [1, 1024], pos)
    tb = {n: (("BF16", s, bf16(a)) if dt == "F32" else (dt, s, a)) for n, (dt, s, a) in t32.items()}
    write_member(os.path.join(work, "f32", f"m{m}"), t32, 256 << 20)
    write_member(os.path.join(work, "bf16", f"m{m}"), tb, 256 << 20)
PYEOF
sync
touch "$WORK/.generated"
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
warm_cache() { for f in "$@"; do dd if="$f" of=/dev/null bs=4M status=none; done; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

worst_floor=0; worst_numpy=1e9; peak_all=0
for variant in f32 bf16; do
	members=("$WORK/$variant"/m*)
	inputs=("$WORK/$variant"/m*/*.safetensors)
	one=("$WORK/$variant/m0"/*.safetensors)
	in_bytes=$(stat -c %s "${inputs[@]}" | awk '{s += $1} END {printf "%.0f", s}')
	echo "# $variant: ${#members[@]} members, $(( in_bytes >> 20 )) MiB of input files, ${#one[@]} shards each"
	fl=(); fls=(); wn=(); ws=(); np=(); rss=()
	for run in $(seq "$RUNS"); do
		rm -rf "$WORK/out"; mkdir -p "$WORK/out"
		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		for f in "${inputs[@]}"; do dd if="$f" of=/dev/null bs=4M status=none; done
		for f in "${one[@]}"; do dd if="$f" of="$WORK/out/$(basename "$f")" bs=4M status=none; done
		floor=$(( $(now_ms) - t0 ))
		rm -rf "$WORK/out"; mkdir -p "$WORK/out"
		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		for f in "${inputs[@]}"; do dd if="$f" of=/dev/null bs=4M status=none; done
		for f in "${one[@]}"; do dd if="$f" of="$WORK/out/$(basename "$f")" bs=4M conv=fsync status=none; done
		floor_sync=$(( $(now_ms) - t0 ))
		rm -rf "$WORK/out"

		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		"$WARM" merge -q --no-sync --ignore-base-fingerprint -o "$WORK/out" "${members[@]}" >/dev/null
		warm_nosync=$(( $(now_ms) - t0 ))
		rm -rf "$WORK/out"
		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		"$WARM" merge -q --report-peak-rss --ignore-base-fingerprint -o "$WORK/out" "${members[@]}" >/dev/null 2>"$WORK/rss.txt"
		warm_s=$(( $(now_ms) - t0 ))
		peak=$(( $(sed -n 's/^peak_rss_kib=//p' "$WORK/rss.txt") / 1024 ))
		rm -rf "$WORK/out"
		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		"$WARM" merge -q --no-sync --fingerprint always --ignore-base-fingerprint -o "$WORK/out" "${members[@]}" >/dev/null
		warm_fp=$(( $(now_ms) - t0 ))
		rm -rf "$WORK/out"

		warm_cache "${inputs[@]}"
		t0=$(now_ms)
		$PY "$ROOT/merge/testdata/numpy_merge.py" --out "$WORK/numpy.safetensors" "${members[@]}"
		numpy=$(( $(now_ms) - t0 ))
		rm -f "$WORK/numpy.safetensors"

		echo "$variant run $run: floor ${floor} ms, warm ${warm_nosync} ms ($(ratio $warm_nosync $floor)x floor), with --fingerprint always ${warm_fp} ms ($(ratio $warm_fp $floor)x); floor_sync ${floor_sync} ms, warm_sync ${warm_s} ms ($(ratio $warm_s $floor_sync)x); numpy ${numpy} ms ($(ratio $numpy $warm_nosync)x warm); peak RSS ${peak} MiB; load $(cut -d' ' -f1 /proc/loadavg)"
		fl+=("$floor"); fls+=("$floor_sync"); wn+=("$warm_nosync"); ws+=("$warm_s"); np+=("$numpy"); rss+=("$peak")
	done
	mf=$(median "${fl[@]}"); mfs=$(median "${fls[@]}"); mw=$(median "${wn[@]}"); mws=$(median "${ws[@]}"); mn=$(median "${np[@]}")
	pk=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
	vf=$(ratio "$mw" "$mf"); vfs=$(ratio "$mws" "$mfs"); vn=$(ratio "$mn" "$mw")
	echo "$variant median: floor ${mf} ms, warm ${mw} ms, vs_floor=$vf; floor_sync ${mfs} ms, warm_sync ${mws} ms, vs_floor_sync=$vfs; numpy ${mn} ms, vs_numpy=$vn; peak_rss_mib=$pk"
	worst_floor=$(awk -v a="$worst_floor" -v b="$vf" 'BEGIN {print (b > a) ? b : a}')
	worst_numpy=$(awk -v a="$worst_numpy" -v b="$vn" 'BEGIN {print (b < a) ? b : a}')
	peak_all=$(( pk > peak_all ? pk : peak_all ))
done
echo "vs_floor=$worst_floor vs_numpy=$worst_numpy peak_rss_mib=$peak_all"
