// Regenerates parity_golden.json from the fixtures with @huggingface/tokenizers 0.2.0: in an npm project that has it (npm install @huggingface/tokenizers@0.2.0), run `node /path/to/tokenizer/testdata/gen_parity.mjs /path/to/tokenizer/testdata`.
//
// For every fixture and every case it records the ids of encode(text) with
// add_special_tokens false and true, and decode(ids) of the former (no
// clean-up of tokenization spaces, special tokens kept). The Go test
// TestParityGolden compares warm's tokenizer with these, exactly, except for
// the few cases where this JS port is known to differ from the Rust library
// (see jsEncodeDiffers and jsDecodeDiffers there).
//
// Fixtures: llama3_bpe.json and qwen2_bpe.json (byte-level, written by the Go
// test TestWriteParityFixtures; Qwen2's has an NFC normalizer) and
// llama2_spm.json, mistral_spm.json and gemma_spm.json (SentencePiece-style,
// written by gen_spm_fixtures.mjs).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const main = require.resolve("@huggingface/tokenizers");
const version = JSON.parse(readFileSync(join(main, "..", "..", "package.json"), "utf8")).version;

const dir = process.argv[2] ?? ".";
const FIXTURES = ["llama3_bpe.json", "qwen2_bpe.json", "llama2_spm.json", "mistral_spm.json", "gemma_spm.json"];

const CASES = [
  "", " ", "  ", "a", " a", "  a", "a ", "a  ", "a  b", "a   b", "Hello world", "Hello  world  ",
  "The quick brown fox jumps over the lazy dog.", "HELLO WORLD", "hello zebra", " zebra", "zebra",
  "supercalifragilisticexpialidocious", " supercalifragilisticexpialidocious", "antidisestablishment quixotic",
  "don't", "DON'T", "you'll I'm we've they're he'd she's it'd", "YOU'LL I'M WE'VE THEY'RE HE'D SHE'S",
  "'s", "'S", "'Re", "'lL", "''s", "x's", "!'s", "'sup", "'ree", "rock'n'roll", "O'Neil", "'ſ", "it’s",
  "1", "12", "123", "1234", "12345", "123456789", " 12345", "a12345b", "3.14159", "2024-01-15", "$100", "50%",
  "١٢٣٤٥", "½¾", "Ⅻ", "x²³", "4567abc", "abc123",
  "\n", "\n\n", "a\nb", "a\n\nb", "a \n b", " \n ", "line one\nline two\n", "a\r\nb", "a\r\n\r\nb", "\r\n", " \r\n  x",
  "\t", "\ta", "\t\ta", "a\t b", "col1\tcol2\tcol3", "  \t\n  \tfoo", "x  \n\n  y",
  "!!!", "...", "Hello... world!!!", " !!", "a!!", "?!?!", "(a)", "[1, 2, 3]", "{\"k\": \"v\"}", "<html>", "---\n", "!!!\n\n",
  " .Hello", ".Hello", "..Hello", "$hello", "#tag", "@user", "a.b.c", "e-mail", "—dash", "…ellipsis",
  "def f(x):\n    return x + 1\n", "for i := 0; i < n; i++ {\n\tfmt.Println(i)\n}\n",
  "Thanks! 🙂 See you 👋", "🙂🙂🙂", " 🙂", "👨‍👩‍👧", "❤️",
  "東京は日本の首都です。", "北京是中国的首都。", " 中文", "한국어", "日本語とEnglish",
  "Café naïve résumé", "über façade São Zürich", "e\u0301", "ÅÄÖ", "ß", "İstanbul",
  "Ωmega", "Привет, мир!", "مرحبا", "שלום", "नमस्ते", "ไทย",
  "\u00a0nbsp", "a\u00a0b", "a\u3000b", "a\u2028b", "\u0085x", "\ufeffbom", "zero\u200bwidth", "\u0000nul", "\u0007bell",
  "<|begin_of_text|>", "<|eot_id|>", "Hello<|eot_id|>", "<|begin_of_text|>Hi<|eot_id|>\n", "a <|eot_id|> b",
  "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>", "<|eot_id|><|eot_id|>", "<|eot_id", "<|endoftext|>",
  "<|im_start|>user\nhi<|im_end|>\n", "<|im_start|><|im_end|>", "x<|endoftext|>y",
  "<tool_call>{\"name\": \"f\"}</tool_call>", "a<tool_call>b", "</tool_call></tool_call>", "<|im_start|im_end|>", "<|im_start|>>",
];

// Random strings over a tricky alphabet, from a fixed-seed generator.
const ALPHABET = [..."aAbZ zé日🙂1234567890'sStTlLmMdDrReEvV.,!?-_\n\r\t\u00a0\u3000'\"()<>|ſ"];
let seed = 12345;
function rnd(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}
for (let i = 0; i < 300; i++) {
  let s = "";
  const len = 1 + rnd(24);
  for (let k = 0; k < len; k++) s += ALPHABET[rnd(ALPHABET.length)];
  CASES.push(s);
}

// SentencePiece-style cases (gen_spm_fixtures.mjs): spaces and "▁", byte
// fallback, the added tokens of those fixtures (each fixture reads the
// others' as plain text), and NFC (qwen2_bpe.json has an NFC normalizer).
CASES.push(
  "Hello", " Hello", "  Hello", "   Hello", "Hello ", "Hello  ", "Hello world ", " Hello world", "    return ids",
  "a b  c   d    e", "\u2581", "\u2581Hello", "a\u2581b", "\u2581\u2581x", " \u2581 ", "<0x41>", "<0xF0><0x9F>", "x<0x0A>y",
  "The reward model reads the response.", "weight averaged reward models", "Averaging the weights", "SentencePiece",
  "internationalization", "antidisestablishmentarianism", "Photosynthesis converts sunlight", "naïve", "crème brûlée",
  "東京", "京都は古い都で", "日本語の文章です。", "中文的句子", "한국어", "Привет, мир!", "Zürich", "🙂", "🙂🙂", "a🙂b", " 🙂 ",
  "👨‍👩‍👧", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u{10FFFF}", "\uFFFD", "\u00ff\u0100", "line\nline", "\n", "\n\n", "\n\n\n", "\n\n\n\n", "\t", "\t\tx", "a\tb\tc",
  "<s>", "</s>", "<unk>", "<s>Hello", "<s> Hello", "Hello</s>", "<s>Hello</s>", "a<s>b", "a <s> b", "<s><s>", "</s><s>", "<s>\n",
  "<tool>", " <tool>", "a<tool>", "a <tool> b", "<tool><tool>", " <tool> <tool>", "<s><tool>", "<s> <tool>", "<too", "<tool",
  "[INST]", "[INST] Hi [/INST]", "[INST]Hi[/INST]", " [INST]", "[INST][/INST]", "<s>[INST] What is 2+2? [/INST]",
  "<bos>", "<eos>", "<pad>", "<bos>Hi", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
  "<start_of_turn>", "<end_of_turn>", "<start_of_turn><end_of_turn>", "x<start_of_turn>y", "<unused3>", "<table><tr></table>", "<table>x",
  "\u2581\u2581", "\u2581\u2581\u2581\u2581", "a\u2581\u2581b", "\n\nx", "x\n\n\ny", "  \n\n  ",
  "e\u0301", "Cafe\u0301", "n\u0303o", "A\u030a", "\u212b", "\u2126", "\uf900", "e\u0301\u0301", "A\u0323\u0307", "A\u0307\u0323",
  "\u1100\u1161\u11a8", "\ufb01", "\u00c5\u030a", "o\u0308\u0301", "\u0301", " \u0301", "<|im_start|>\u0301", "e<|im_end|>\u0301", "Z\u00fc\u0308rich",
);

// Random strings over an alphabet for the SentencePiece fixtures.
const SPM_ALPHABET = [..."ab ZeT  \u2581\n\t.,!é京🙂\u0301", "<s>", "</s>", "<tool>", "[INST]", "<bos>", "<start_of_turn>", "\n\n", "the", " the", "▁▁"];
for (let i = 0; i < 200; i++) {
  let s = "";
  const len = 1 + rnd(16);
  for (let k = 0; k < len; k++) s += SPM_ALPHABET[rnd(SPM_ALPHABET.length)];
  CASES.push(s);
}

const out = { generator: `@huggingface/tokenizers ${version}`, fixtures: {} };
for (const name of FIXTURES) {
  const json = JSON.parse(readFileSync(join(dir, name), "utf8"));
  const tok = new Tokenizer(json, { clean_up_tokenization_spaces: false });
  out.fixtures[name] = CASES.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const ids_special = tok.encode(text, { add_special_tokens: true }).ids;
    const decoded = ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    return { text, ids, ids_special, decoded };
  });
}
// One case a line, so that a change shows as a small diff.
let text = `{\n "generator": ${JSON.stringify(out.generator)},\n "fixtures": {`;
Object.entries(out.fixtures).forEach(([name, cases], i) => {
  text += `${i ? "," : ""}\n  ${JSON.stringify(name)}: [\n`;
  text += cases.map((c) => "   " + JSON.stringify(c)).join(",\n");
  text += "\n  ]";
});
writeFileSync(join(dir, "parity_golden.json"), text + "\n }\n}\n");
