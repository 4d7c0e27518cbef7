#!/usr/bin/env python3
"""Regenerate chat/testdata/golden.json: the renders that Hugging Face
transformers' tokenizer.apply_chat_template(..., tokenize=False) produces for
every template in templates.json on every conversation in cases.json.

It does not need transformers (nor torch): it re-creates, with jinja2 alone,
the environment that transformers builds in
src/transformers/utils/chat_template_utils.py (_compile_jinja_template, read at
transformers commit 9feae5fb0164e89d4998e5776897c16f7330d3df, v4.47.1) and the
variables that tokenization_utils_base.py apply_chat_template passes:

  * ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
    extensions=[AssistantTracker, jinja2.ext.loopcontrols]); AssistantTracker
    is the {% generation %} block, which renders its body unchanged when no
    assistant mask is asked for (as here);
  * filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=indent,
    separators=separators, sort_keys=sort_keys) (no HTML escaping, unlike
    jinja2's own tojson);
  * globals["raise_exception"] raises jinja2.exceptions.TemplateError(message);
  * globals["strftime_now"](fmt) = datetime.now().strftime(fmt), here with a
    fixed clock (cases.json "now") so that the goldens are deterministic;
  * render(messages=..., tools=None or the list, documents=None,
    add_generation_prompt=..., **special_tokens_map, **kwargs), where
    special_tokens_map holds only the tokens that are set, as strings, and
    kwargs (e.g. enable_thinking) overwrite them.

Run:  /usr/bin/python3 chat/testdata/gen_golden.py
The committed golden was made with jinja2 3.1.6 (Python 3.11.7) when the
Mistral-Nemo template joined; the first nine templates' 342 cases had been
made with Debian's python3-jinja2 3.1.2 (Python 3.11.2) and 3.1.6 renders
them identically (only the version fields in golden.json changed).
transformers requires jinja2 >= 3.1.0.
"""

import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))


class RaisedByTemplate(jinja2.exceptions.TemplateError):
    """What raise_exception raises. transformers raises TemplateError itself;
    the subclass only lets this script tell a template's own error apart from
    an UndefinedError or a TypeError (a template cannot catch either)."""


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} ... {% endgeneration %} block, with the
    tracker never active: the block renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(
            self.call_method("_generation_support"), [], [], body
        ).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[AssistantTracker, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def record(rec, render):
    """Fills rec with render()'s output, or the template's raise_exception
    message, or the error that Python raised (TypeError, UndefinedError,
    ...) as "Type: message"; returns rec."""
    try:
        rec["output"] = render()
    except RaisedByTemplate as e:
        rec["raise_exception"] = e.message
    except Exception as e:
        rec["error"] = f"{type(e).__name__}: {e}"
    return rec


def write_results(name, generator, results, **extra):
    """Writes results to testdata/NAME as JSON, after the generator's name,
    the jinja2 and Python versions and any extra fields, and says how many
    renders failed."""
    out = {
        "generator": generator,
        "jinja2": jinja2.__version__,
        "python": sys.version.split()[0],
        **extra,
        "results": results,
    }
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_err = sum(1 for r in results if "output" not in r)
    print(f"{len(results)} renders ({n_err} errors) -> {name}")


def main():
    with open(os.path.join(HERE, "templates.json"), encoding="utf-8") as f:
        templates = json.load(f)["templates"]
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    now = datetime.datetime.fromisoformat(cases["now"])
    env = make_env(now)

    results = []
    for tmpl in templates:
        path = os.path.join(HERE, "templates", tmpl["name"] + ".jinja")
        with open(path, encoding="utf-8", newline="") as f:
            source = f.read()
        compiled = env.from_string(source)
        special = {k: v for k, v in tmpl["special_tokens"].items() if v}
        for case in cases["cases"]:
            for agp in (False, True):
                kwargs = {**special, **case.get("kwargs", {})}
                rec = {"template": tmpl["name"], "case": case["name"], "add_generation_prompt": agp}
                results.append(record(rec, lambda: compiled.render(
                    messages=case["messages"],
                    tools=case.get("tools"),
                    documents=None,
                    add_generation_prompt=agp,
                    **kwargs,
                )))

    write_results("golden.json", "chat/testdata/gen_golden.py", results)


if __name__ == "__main__":
    main()
