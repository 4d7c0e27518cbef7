"""Regenerates pretokenize_golden.json: GPT-2's pre-tokenizer regex, run by the
`regex` module exactly as GPT-2's encoder.py runs it, on hand-written tricky
strings and on random strings over a tricky alphabet (fixed seed).

    python3 gen_pretokenize.py > pretokenize_golden.json   # needs `pip install regex`
"""
import json
import random

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

CASES = [
    "", " ", "  ", "a", " a", "  a", "a ", "a  ", "a  b", "a   b", "Hello world",
    "Hello  world  ", " multiple   spaces\ttabs\tand", "trailing space ", "\n", "\n\n",
    "a\nb", "a\n\nb", "a \n b", " \n ", "\t\ta", "a\t b", "line one\nline two\n",
    "don't", "you'll I'm we've they're he'd she's it'd", "'s", "'S", "'LL", "''s", "''",
    " 's", "x's", "!'s", "'sup", "'ree", "'l", "rock'n'roll", "O'Neil",
    "123", " 123", "4567abc", "abc123", "1.5", "3,000", " ١٢٣", "½", "Ⅻ", "x²",
    "café", "naïve", "cafe\u0301", "日本語のテキスト", "Ελληνικά", "Русский язык",
    "emoji 😀😀 👍🏽", "punctuation!!! ... ??? ---", "\"quoted\" (parens) [brackets] {braces}",
    "<|endoftext|>", " <|endoftext|> ", "a\u00a0b", "a \u00a0b", "a\u00a0\u00a0b",
    "x\u3000y", "x\u2003\u2003y", "\u0085a", "a\u200bb", "a\ufeffb", "tab\t\t", "\r\n", "a\r\nb",
    "   leading spaces", "end   ", "mixed \t\n end", "$100", " $100", "#hashtag", "@user",
    "e-mail", "http://example.com/a?b=c&d=e", "C++ and C#", "...", " ...", "a ... b",
]

ALPHABET = [" ", " ", " ", "  ", "\n", "\t", "\r", "a", "b", "Z", "é", "ß", "日", "1", "9",
            "٣", "½", "Ⅻ", "'", "s", "t", "re", "ll", "S", "!", ".", "-", "😀", "\u00a0",
            "\u2003", "\u0085", "\u3000", "\u0301", "\u200b", "\u000b", "\u000c", "x", "\""]


def main():
    rng = random.Random(1234)
    cases = list(CASES)
    for _ in range(400):
        n = rng.randint(1, 12)
        cases.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    out = [{"text": s, "pieces": PAT.findall(s)} for s in cases]
    for o in out:
        assert "".join(o["pieces"]) == o["text"], o
    print("[\n" + ",\n".join(json.dumps(o, ensure_ascii=True) for o in out) + "\n]")


main()
