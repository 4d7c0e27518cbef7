"""An import-only stand-in for the tokenizers package (the real one is Rust).

transformers 4.48.0.dev0 imports tokenizers at module level in
integrations/ggml.py and convert_slow_tokenizer.py, which
configuration_utils.py drags in (through modeling_gguf_pytorch_utils) even
when no tokenizer is used. warm's parity harness only runs models on token
ids, so this package makes those imports succeed and nothing more: every
name is a placeholder that raises when used. It ships no dist-info, so
transformers' is_tokenizers_available() stays False, as it should.
"""

__version__ = "0.0.0+warm.importonly"


class _Absent:
    _qualname = "tokenizers"

    def __init__(self, *args, **kwargs):
        raise ImportError(
            f"{self._qualname}: warm's bench/hfref tokenizers stand-in only satisfies imports; "
            "the tokenizers package is not available in this harness")


def placeholder(module, name):
    return type(name, (_Absent,), {"_qualname": f"{module}.{name}", "__module__": module})


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    value = placeholder(__name__, name)
    globals()[name] = value
    return value
