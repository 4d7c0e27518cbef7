# env.sh: source it (from anywhere) after bench/hfref/setup.sh to run
# transformers from .hfref/ with warm's stand-ins, offline:
#   . bench/hfref/env.sh && /usr/bin/python3 model/llama/testdata/gen_golden.py
_hfref_here=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
_hfref_root=$(cd "$_hfref_here/../.." && pwd)
export HFREF_ROOT=$_hfref_root
export PYTHONPATH=$_hfref_root/.hfref/src:$_hfref_here/stubs${PYTHONPATH:+:$PYTHONPATH}
# No network, no telemetry, caches inside .hfref, no TensorFlow/JAX probing.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export HF_HOME=$_hfref_root/.hfref/home
export USE_TORCH=1 USE_TF=0 USE_FLAX=0
export TRANSFORMERS_NO_ADVISORY_WARNINGS=1
# The interpreter with Debian's torch (the pyenv python3 on PATH has none).
export HFREF_PYTHON=${HFREF_PYTHON:-/usr/bin/python3}
unset _hfref_here _hfref_root
export PYTHONDONTWRITEBYTECODE=1
