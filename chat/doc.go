// Package chat renders conversations with a model's chat template exactly
// as Hugging Face transformers' tokenizer.apply_chat_template(...,
// tokenize=False) does, so that warm can score conversational preference
// data (TRL's "messages" format) with the text the reward model was
// trained on.
//
// # Use
//
//	cfg, err := chat.LoadDir(modelDir) // tokenizer_config.json (+ chat_template.jinja/.json)
//	tmpl, err := cfg.Template("", false)
//	msgs, err := chat.ParseMessages(row["chosen"])
//	text, err := tmpl.Render(msgs, chat.RenderOptions{})
//	ids := tok.Encode(text) // add_special_tokens=False: see below
//
// # The environment
//
// Render reproduces transformers' _compile_jinja_template and
// apply_chat_template (read at transformers v4.47.1, commit 9feae5fb):
// trim_blocks and lstrip_blocks; break and continue (loopcontrols);
// {% generation %} blocks render their body; the template sees messages
// (a list of dicts, keys in the order read), tools and documents (None
// unless given), add_generation_prompt, the tokenizer's special tokens as
// strings (bos_token, eos_token, ... only those set, as special_tokens_map
// does) and RenderOptions.Vars (**kwargs, which override the tokens);
// raise_exception(msg) fails the render with a *RaiseError carrying msg;
// strftime_now(fmt) formats RenderOptions.Now (a clock tests can fix:
// Llama-3.2 prints "Today Date") as Python's strftime does; tojson is
// transformers' json.dumps(x, ensure_ascii=False, indent=..., separators=...,
// sort_keys=...) with Python's separators, escapes and float repr, keys in
// order; {{ }}, trim and string use Python's str(), repr and whitespace.
// The sandbox itself is not reproduced: it refuses unsafe attribute
// access, mutation of lists and dicts (append, update) and huge ranges,
// which chat templates do not use.
//
// # BOS
//
// Templates of models whose tokenizer adds a BOS token (Llama-3, Gemma,
// Mistral) print bos_token themselves. apply_chat_template(tokenize=True)
// tokenizes the rendered text with add_special_tokens=False, so the BOS
// appears once, from the template; the tokenizer's post-processor (which
// would add a second) is not applied. Callers must do the same: encode
// Render's output without special tokens (tokenizer.Encode, not
// EncodeWithSpecial). (Skywork's reward-model examples instead strip the
// template's leading BOS and tokenize with special tokens: the same ids.)
//
// # How it was checked
//
// testdata/templates holds ten real templates (Qwen2, Qwen2.5, Qwen3,
// Llama-3, -3.1, -3.2, Gemma/Gemma-2, Mistral v0.1, v0.3, Mistral-Nemo; the reward
// models warm targets — Skywork-Reward-V2-Llama-3.1/-Qwen3,
// trl-lib/Qwen2-0.5B-Reward — are fine-tunes that reuse these), and
// testdata/golden.json what Python's jinja2 renders for each on 19
// conversations with and without add_generation_prompt, in transformers'
// environment (testdata/gen_golden.py, which needs jinja2, not
// transformers). TestGolden compares byte for byte: all 334 renders that
// succeed in Python match exactly, the 32 raise_exception cases fail
// with the template's message, and the 14 where Python raises TypeError
// (Qwen2, Qwen2.5, Mistral and Mistral-Nemo concatenate a turn's content
// with + when it is a list of parts or null) fail with Python's message,
// e.g. `TypeError: can only concatenate str (not "list") to str`.
// testdata/operators.json (testdata/gen_operators.py) checks + and ~
// further: 77 small templates, every operator, filter and test beside
// them and every value type, rendered or refused as Python does.
//
// # What differs
//
// The Jinja library is lenient where jinja2 is not, in ways that none of
// the ten templates meets on string contents but that can make a
// conversation transformers refuses render here (probed against jinja2
// 3.1.2 and 3.1.6): an attribute of an undefined value is undefined
// rather than an UndefinedError; a variable set in a for body is still
// set at the start of the next iteration (jinja2 starts each iteration
// afresh); str.lstrip() and str.rstrip() with no argument strip only
// space, tab, CR and LF; float literals with an exponent (1e-5) do not
// parse; ** of two ints is a float; % is arithmetic only (no '%s' %
// x); tests take their argument in parentheses only (is divisibleby(3),
// not is divisibleby 3), and divisibleby is missing; inside {% raw %}
// blocks, blanks before a {{ or {% are dropped, as if lstrip_blocks
// applied there. + and ~ in macro
// defaults and in call, filter and with statements keep the library's
// operators (no template here has one). Integers in the data beyond int64
// are refused (Python's are unbounded), and so is a + whose int result
// overflows them.
//
// Five gaps of the library are closed before compiling (see Compile):
// newlines are normalised and one trailing newline dropped, as jinja2's
// lexer does; string literals' Python escapes (\r, \xhh, \uXXXX, ...) are
// decoded (the library knows only \n, \t, \\, \' and \"); {{ expr }}
// prints Python's str(expr) (the library prints None as "" and 2.0 as
// "2"); tojson, trim and string are replaced; and + and ~ are rewritten
// into calls with Python's semantics, grouped as jinja2 groups them (~
// binds tighter than + there, looser in the library): the library's +
// joins a string with a list's repr or with None as "", and its ~ prints
// None as "" and floats with Go's %g (see operators.go). Adjacent string
// literals ('a' "b"), one string in jinja2, are joined too; raw blocks
// are copied as they are.
//
// # The Jinja library
//
// Rendering uses github.com/ardanlabs/jinja v1.8.0 (pure Go, no
// dependencies, written for LLM chat templates; later versions need a
// newer Go than warm's 1.26). It was compared with
// github.com/nikolalohinski/gonja/v2 v2.9.1 on the same goldens, set up the
// same way (trim_blocks, lstrip_blocks, the two globals, tojson replaced by
// an encoding/json one; a throwaway harness, not committed): gonja matched
// 286 of the first nine templates' 342 cases, ardanlabs 330. gonja's losses: dict equality
// (Mistral v0.3's message == user_messages[-1]) is false, so the
// [AVAILABLE_TOOLS] block vanishes; its trim refuses non-strings where
// Python stringifies (Llama-3 and Gemma with null or list content); data
// passed as Go maps loses the JSON key order, so every tojson of a tool
// schema or tool call differs; it concatenates str + list just as
// leniently; and it brings logrus, pkg/errors and json-iterator. ardanlabs
// keeps dict order (its dicts are ordered), and its gaps are closed here:
// its tojson, trim and string filters (Go float formatting, keys sorted
// under indent, Go whitespace) cannot be replaced, so Compile renames
// those filters to ones Render defines; raise_exception and strftime_now
// are replaced per render.
package chat
