#!/usr/bin/env bash
# setup.sh: lay out Hugging Face transformers (pinned commit) and
# huggingface_hub (pinned tag) as plain source under .hfref/ at the repo
# root, beside warm's stand-ins for the Rust packages, so that
# model/llama/testdata/gen_golden.py can run transformers' own modeling
# code offline with Debian's torch. Nothing here is installed system-wide
# and nothing fetched is committed (.hfref/ is ignored).
#
# Usage: bench/hfref/setup.sh [TRANSFORMERS_GIT [HF_HUB_GIT]]
#   The arguments (or env TRANSFORMERS_GIT, HF_HUB_GIT) are git directories
#   (bare or not) holding the pinned commits. Without them the repositories
#   are cloned (bare, blobless) from GitHub into .hfref/git/.
# Idempotent: a second run with the same pins does nothing.
set -euo pipefail

TRANSFORMERS_COMMIT=9feae5fb0164e89d4998e5776897c16f7330d3df # 4.48.0.dev0, 2024-12-16
HF_HUB_TAG=v0.27.0
HF_HUB_VERSION=0.27.0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=$root/.hfref
tgit=${1:-${TRANSFORMERS_GIT:-}}
hgit=${2:-${HF_HUB_GIT:-}}

mkdir -p "$dest"

# gitdir DIR: the git directory of DIR (a bare repository or a work tree).
gitdir() {
	git -C "$1" rev-parse --absolute-git-dir 2>/dev/null || { echo "setup.sh: $1 is not a git repository" >&2; exit 1; }
}

# clone URL NAME REV: a bare blobless clone holding REV, in .hfref/git/NAME.
clone() {
	local url=$1 name=$2 rev=$3 dir=$dest/git/$2.git
	if [[ ! -d $dir ]]; then
		echo "setup.sh: cloning $url (bare, blobless) into $dir" >&2
		git clone --bare --filter=blob:none --no-tags "$url" "$dir" >&2
	fi
	if ! git --git-dir="$dir" cat-file -e "$rev^{commit}" 2>/dev/null; then
		git --git-dir="$dir" fetch --filter=blob:none origin "$rev" >&2 ||
			git --git-dir="$dir" fetch --filter=blob:none origin "refs/tags/$rev:refs/tags/$rev" >&2
	fi
	echo "$dir"
}

if [[ -n $tgit ]]; then tgit=$(gitdir "$tgit"); else tgit=$(clone https://github.com/huggingface/transformers transformers $TRANSFORMERS_COMMIT); fi
if [[ -n $hgit ]]; then hgit=$(gitdir "$hgit"); else hgit=$(clone https://github.com/huggingface/huggingface_hub huggingface_hub $HF_HUB_TAG); fi

git --git-dir="$tgit" cat-file -e "$TRANSFORMERS_COMMIT^{commit}" 2>/dev/null ||
	{ echo "setup.sh: $tgit lacks transformers commit $TRANSFORMERS_COMMIT" >&2; exit 1; }
hub_commit=$(git --git-dir="$hgit" rev-parse --verify -q "$HF_HUB_TAG^{commit}") ||
	{ echo "setup.sh: $hgit lacks huggingface_hub tag $HF_HUB_TAG" >&2; exit 1; }

stamp="transformers $TRANSFORMERS_COMMIT huggingface_hub $hub_commit"
if [[ -f $dest/STAMP && $(cat "$dest/STAMP") == "$stamp" && -d $dest/src/transformers && -d $dest/src/huggingface_hub ]]; then
	echo "setup.sh: .hfref is up to date ($stamp)" >&2
	exit 0
fi

rm -rf "$dest/src" "$dest/src.part" "$dest/STAMP"
mkdir -p "$dest/src.part"
git --git-dir="$tgit" archive "$TRANSFORMERS_COMMIT" src/transformers | tar -x -C "$dest/src.part" --strip-components=1
git --git-dir="$hgit" archive "$hub_commit" src/huggingface_hub | tar -x -C "$dest/src.part" --strip-components=1

# transformers checks huggingface-hub's version through importlib.metadata
# (dependency_versions_check.py): give the extracted source the metadata
# that pip would have written for it.
di=$dest/src.part/huggingface_hub-$HF_HUB_VERSION.dist-info
mkdir -p "$di"
printf 'Metadata-Version: 2.1\nName: huggingface_hub\nVersion: %s\nSummary: huggingface_hub %s source (commit %s), laid out by warm bench/hfref/setup.sh\n' \
	"$HF_HUB_VERSION" "$HF_HUB_TAG" "$hub_commit" >"$di/METADATA"
printf 'bench/hfref/setup.sh\n' >"$di/INSTALLER"

mv "$dest/src.part" "$dest/src"
echo "$stamp" >"$dest/STAMP"
echo "setup.sh: laid out $stamp in $dest/src" >&2
