// The test strings of the tokenizer parity goldens (gen_parity.mjs on the
// fixtures, real/gen_golden.mjs on real models' tokenizer.json files): edge
// cases of the byte-level and SentencePiece-style pipelines, and random
// strings from fixed-seed generators.
export const CASES = [
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
