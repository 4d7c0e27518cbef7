"""tokenizers.processors for the import-only stand-in (see tokenizers/__init__.py)."""

from . import placeholder


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    value = placeholder(__name__, name)
    globals()[name] = value
    return value
