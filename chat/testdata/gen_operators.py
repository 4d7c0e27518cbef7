#!/usr/bin/env python3
"""Regenerate chat/testdata/operators.json: what Python's jinja2, in the
environment transformers renders chat templates in (gen_golden.py's
make_env), makes of small templates that exercise + and ~: their grouping
against every other operator, filter and test, and their types (str, list,
int, float, bool, None, dict, undefined). chat's TestOperatorsGolden renders
the same templates through warm's operator rewrite and compares: the
output byte for byte, or Python's error (TypeError with its message,
UndefinedError by its type).

Run:  /usr/bin/python3 chat/testdata/gen_operators.py   (needs jinja2 only)
"""

import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_golden import make_env, record, write_results  # noqa: E402

VARS = {
    "s": "z",
    "n": 1,
    "m": 2,
    "f": 0.1,
    "flag": False,
    "none_v": None,
    "lst": ["p", "q"],
    "d": {"k": "v"},
}

TEMPLATES = [
    # grouping: ~ binds tighter than + in jinja2
    "{{ n + m ~ s }}",
    "{{ s ~ n + m }}",
    "{{ 'x' ~ n + m }}",
    "{{ 'a' ~ s + 'b' ~ s }}",
    "{{ a_undefined ~ s + s }}",
    # arithmetic neighbours
    "{{ n + m * 2 }}",
    "{{ n - m + 3 }}",
    "{{ -n + m }}",
    "{{ -2 + n }}",
    "{{ +n + 1 }}",
    "{{ 2 * n + 1 }}",
    "{{ n // 2 + n % 2 }}",
    "{{ s * 2 + s }}",
    "{{ (s ~ '-') + s }}",
    # filters and tests bind tighter than +
    "{{ 'a' + s | upper }}",
    "{{ ('a' + s) | upper }}",
    "{{ 'Tools: ' + lst | join(', ') + '!' }}",
    "{{ s + n|string }}",
    "{{ s + s|trim }}",
    "{{ lst|length + 1 }}",
    "{{ s + s is string }}",
    "{{ s + (n is number) | string }}",
    "{{ none_v is none and s + 'x' }}",
    # lower-precedence neighbours
    "{{ 'a' + s if flag else 'b' + s }}",
    "{{ s if n + m > 2 else 'no' }}",
    "{{ not n + m }}",
    "{{ n + m in [3, 4] }}",
    "{{ s + 'q' not in lst }}",
    "{{ n + m == 3 and s + 'q' == 'zq' }}",
    "{{ lst[0] + lst[1] if lst else '' }}",
    # operands of every shape
    "{{ 'a' 'b' + s }}",
    "{{ 'a' \"b\" }}",
    "{{ '}}+~' + s }}",
    "{{ \"it's\" + s }}",
    "{{ '\\n' + s }}",
    "{{ s[0] + s[0:1] + lst[-1] }}",
    "{{ d.k + d['k'] }}",
    "{{ s.upper() + s }}",
    "{{ range(n + 2) | list }}",
    "{{ [n + 1, s + s] }}",
    "{{ {'k': s + s}['k'] }}",
    "{{ (s, s + s)[1] }}",
    "{{ lst[n - 1 + 0] + s }}",
    # types
    "{{ lst + lst }}",
    "{{ n + 2.5 }}",
    "{{ flag + 1 }}",
    "{{ true + true }}",
    "{{ f + f }}",
    "{{ s + none_v }}",
    "{{ s + lst }}",
    "{{ s + 1 }}",
    "{{ s + 1.5 }}",
    "{{ lst + s }}",
    "{{ d + d }}",
    "{{ none_v + 1 }}",
    "{{ n + s }}",
    "{{ a_undefined + 'x' }}",
    "{{ 'x' + a_undefined }}",
    "{{ a_undefined ~ 'x' }}",
    "{{ none_v ~ 'x' }}",
    "{{ 2.0 ~ '' }}",
    "{{ f ~ '|' ~ n }}",
    "{{ lst ~ '' }}",
    "{{ d ~ flag }}",
    # statements
    "{% set t = s + s %}{{ t }}",
    "{% set t = s + lst %}{{ t }}",
    "{% set ns = namespace(c=0) %}{% for x in lst %}{% set ns.c = ns.c + 1 %}{% endfor %}{{ ns.c }}",
    "{% for x in lst + ['r'] if x != 'q' %}{{ x ~ (loop.index0 + 1) }}{% endfor %}",
    "{% for x in lst %}{{ x ~ loop.index0 + 1 }}{% endfor %}",
    "{% if s + s == 'zz' %}yes{% endif %}",
    "{% if flag %}a{% elif n + m == 3 %}b{% endif %}",
    " A {{- s + s -}} B ",
    "{%- set u = 'a' + s -%} [{{ u }}]",
    "{% macro w(x) %}{{ x + '!' }}{% endmacro %}{{ w(s) }}",
    "{% macro w(x) %}{{ x + '!' }}{% endmacro %}{{ w(n) }}",
    # a raw block is text
    "{% raw %}{{ a + b }}{% if x ~ y %}{{ 'it' }}{% endraw %}|{{ s + s }}",
    "{%- raw -%} {{ 'x' ~ y }} {%- endraw %}",
]


def main():
    env = make_env(datetime.datetime(2024, 1, 1))
    results = [record({"template": src}, lambda: env.from_string(src).render(**VARS)) for src in TEMPLATES]
    write_results("operators.json", "chat/testdata/gen_operators.py", results, vars=VARS)

if __name__ == "__main__":
    main()
