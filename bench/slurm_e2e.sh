#!/usr/bin/env bash
# slurm_e2e.sh: a sweep trained as a Slurm job array on a real single-node
# cluster gives the same bits as the same sweep trained locally, including a
# member cancelled mid-run and resubmitted. A benchmark-style check, not a
# unit test (it needs root to start Slurm).
#
# It uses the running cluster when `scontrol ping` answers; otherwise, as
# root, it installs Debian's slurm-wlm and munge with apt when missing,
# writes a one-node slurm.conf (this host, its CPUs) under WORKDIR, and
# starts munged, slurmctld and slurmd (no systemd). Then:
#   1. `warm experiment --task synthetic --scale 0.03 --members 3` locally:
#      the reference members;
#   2. a copy of that experiment without its members and head, submitted
#      with `warm sweep submit --slurm --cpus 1 --save-every 10`;
#   3. as soon as a member task runs, it is cancelled (scancel); once the
#      array is over, the stranded merge job is cancelled and the sweep is
#      submitted again: only the unfinished member runs, resuming from its
#      training state;
#   4. every member's and the merge's warm.fingerprint (a hash of the
#      tensors) must equal the local ones (the local merge taken in the
#      order the Slurm job merged);
#   5. --command: the same sweep submitted with `--command TEMPLATE`, each
#      member trained by bench/standin_trainer.sh (TRL-style arguments; it
#      leaves a plain Hugging Face checkpoint without warm metadata), checked
#      against the manifest's recorded base hash and merged (--no-report):
#      members and WARM(3) must again equal the local ones.
# Daemons the script started are stopped when it exits.
# Last line: slurm_e2e=ok identical=true, or what failed, or
# slurm_e2e=skipped (reason).
#
#   bench/slurm_e2e.sh [WORKDIR]      # default bench/out/slurm_e2e; 2-4 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mkdir -p "${1:-bench/out/slurm_e2e}" && cd "${1:-bench/out/slurm_e2e}" && pwd)
go build -o "$W/warm" ./cmd/warm
warm=$W/warm
skip() { echo "slurm_e2e=skipped ($*)"; exit 0; }
fail() { echo "slurm_e2e=failed ($*)"; exit 1; }

start_slurm() {
	[ "$(id -u)" = 0 ] || skip "no running Slurm and not root to start one"
	if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
		command -v apt-get >/dev/null || skip "no apt-get to install slurm-wlm"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null) || skip "apt could not install slurm-wlm and munge"
	fi
	mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge "$W/slurmd/spool" "$W/slurmd/state"
	[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
	chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
	chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
	pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force
	local host cpus mem
	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
	cat >"$W/slurm.conf" <<CONF
ClusterName=warm
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$W/slurmd/state
SlurmdSpoolDir=$W/slurmd/spool
SlurmctldPidFile=$W/slurmd/slurmctld.pid
SlurmdPidFile=$W/slurmd/slurmd.pid
SlurmctldLogFile=$W/slurmd/slurmctld.log
SlurmdLogFile=$W/slurmd/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=warm Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF=$W/slurm.conf
	/usr/sbin/slurmctld -f "$SLURM_CONF"
	sleep 1
	/usr/sbin/slurmd -f "$SLURM_CONF"
	trap 'scancel -u root 2>/dev/null || true; pkill -x slurmd || true; pkill -x slurmctld || true' EXIT
	for _ in $(seq 30); do scontrol ping >/dev/null 2>&1 && sinfo -h -o %T | grep -q idle && return; sleep 1; done
	skip "slurmctld/slurmd did not come up (see $W/slurmd/*.log)"
}
if ! command -v sbatch >/dev/null || ! scontrol ping >/dev/null 2>&1; then
	if [ -s "$W/slurm.conf" ] && SLURM_CONF=$W/slurm.conf scontrol ping >/dev/null 2>&1; then
		export SLURM_CONF=$W/slurm.conf
	else
		start_slurm
	fi
fi
echo "slurm_e2e: cluster up: $(sinfo -h -o '%P %D nodes %c cpus %T')"

if [ ! -d "$W/local/sweep/members/member-02" ]; then
	rm -rf "$W/local"
	"$warm" experiment --task synthetic --scale 0.03 --members 3 --max-pairs 200 --lmc-pairs 100 -o "$W/local" >"$W/local.log" 2>&1
fi
rm -rf "$W/slurm"
cp -r "$W/local" "$W/slurm"
rm -rf "$W/slurm/sweep/members" "$W/slurm/sweep/head" "$W/slurm/report"
man=$W/slurm/sweep/manifest.json
submit() { "$warm" sweep submit "$man" --slurm --cpus 1 --save-every 10 --merge-top 3 --warm "$warm"; }
wait_for() { # name pattern: wait until no job of it is pending or running
	for _ in $(seq 600); do
		[ -z "$(squeue -h -n "$1" -t PD,R,CG -o %i)" ] && return
		sleep 0.5
	done
	fail "jobs $1 did not finish"
}

submit
task=""
for _ in $(seq 600); do
	task=$(squeue -h -n warm-member -t R -o %i | head -1)
	[ -n "$task" ] && break
	sleep 0.2
done
[ -n "$task" ] || fail "no member task ever ran"
sleep 1.5
scancel "$task"
echo "slurm_e2e: cancelled member task $task mid-run"
wait_for warm-member
scancel -n warm-merge 2>/dev/null || true # its dependency can no longer be met
wait_for warm-merge
"$warm" sweep status "$man"
submit
wait_for warm-head
wait_for warm-member
wait_for warm-merge
"$warm" sweep status "$man" | tail -1

fp() { python3 - "$1" <<'PY'
import json, struct, sys, os
p = sys.argv[1]
p = os.path.join(p, "model.safetensors") if os.path.isdir(p) else p
with open(p, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.loads(f.read(n)).get("__metadata__", {}).get("warm.fingerprint", "none"))
PY
}
identical=true
for k in 00 01 02; do
	a=$(fp "$W/local/sweep/members/member-$k")
	b=$(fp "$W/slurm/sweep/members/member-$k")
	echo "member-$k: local $a, slurm $b"
	[ "$a" = "$b" ] || identical=false
done
[ -f "$W/slurm/sweep/warm/model.safetensors" ] || fail "the merge job wrote no checkpoint (see $W/slurm/sweep/slurm/)"
mapfile -t top < <("$warm" sweep top "$man" -m 3 --results "$W/slurm/sweep/report/results.json")
localtop=()
for d in "${top[@]}"; do localtop+=("${d/$W\/slurm/$W/local}"); done
rm -rf "$W/local-warm3"
"$warm" merge -q -o "$W/local-warm3" "${localtop[@]}" >/dev/null
a=$(fp "$W/local-warm3")
b=$(fp "$W/slurm/sweep/warm")
echo "WARM(3): local $a, slurm $b"
[ "$a" = "$b" ] || identical=false

# --command: the members trained by a stand-in external trainer.
rm -rf "$W/cmd"
cp -r "$W/local" "$W/cmd"
rm -rf "$W/cmd/sweep/members" "$W/cmd/sweep/report" "$W/cmd/sweep/warm"
cman=$W/cmd/sweep/manifest.json
tmpl="$PWD/bench/standin_trainer.sh --warm $warm --model_name_or_path {init} --head {head} --learning_rate {lr} --min_learning_rate {min_lr} --warmup_steps {warmup} --lr_scheduler_type {decay} --weight_decay {weight_decay} --max_grad_norm {clip_norm} --max_steps {steps} --per_device_train_batch_size {batch_size} --seed {seed} --data_seed {data_seed} --dropout {dropout} --max_length {max_len} --corrupt {corrupt_rate} --corrupt_seed {corrupt_seed} --dataset {train} --output_dir {out}"
"$warm" sweep submit "$cman" --slurm --cpus 1 --no-report --merge-out "$W/cmd/sweep/warm" --command "$tmpl" --warm "$warm"
wait_for warm-head
wait_for warm-member
wait_for warm-merge
"$warm" sweep status "$cman" | tail -1
recfp() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fingerprint"])' "$1/warm-member.json"; }
for k in 00 01 02; do
	a=$(fp "$W/local/sweep/members/member-$k")
	b=$(recfp "$W/cmd/sweep/members/member-$k" 2>/dev/null || echo missing)
	c=$(fp "$W/cmd/sweep/members/member-$k")
	echo "command member-$k: local $a, external trainer $b (warm metadata: $c)"
	[ "$a" = "$b" ] || identical=false
done
[ -f "$W/cmd/sweep/warm/model.safetensors" ] || fail "the --command merge job wrote no checkpoint (see $W/cmd/sweep/slurm/)"
rm -rf "$W/local-all3"
"$warm" merge -q -o "$W/local-all3" "$W/local/sweep/members/member-00" "$W/local/sweep/members/member-01" "$W/local/sweep/members/member-02" >/dev/null
a=$(fp "$W/local-all3")
b=$(fp "$W/cmd/sweep/warm")
echo "command WARM(3): local $a, slurm $b"
[ "$a" = "$b" ] || identical=false
if $identical; then echo "slurm_e2e=ok identical=true"; else echo "slurm_e2e=ok identical=false"; exit 1; fi
