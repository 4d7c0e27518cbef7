// Regenerates golden.json from real models' tokenizer.json files with
// @huggingface/tokenizers 0.2.0: in an npm project that has it (npm install
// @huggingface/tokenizers@0.2.0), after fetch.sh DIR, run
// `node /path/to/tokenizer/testdata/real/gen_golden.mjs DIR`.
//
// For every model of MODELS (DIR/NAME/tokenizer.json) and every case (the
// strings of ../parity_cases.mjs, realistic texts below, and one long text
// made of them) it records the ids of encode(text) with add_special_tokens
// false and true and decode(ids) of the former (special tokens kept, no
// clean-up of tokenization spaces), with the SHA-256 of the tokenizer.json
// it read. The Go test TestRealTokenizerParity compares warm's tokenizer
// with these when WARM_REAL_TOKENIZERS=DIR is set; the tokenizer files
// themselves are not committed.
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CASES } from "../parity_cases.mjs";

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const main = require.resolve("@huggingface/tokenizers");
const version = JSON.parse(readFileSync(join(main, "..", "..", "package.json"), "utf8")).version;

const dir = process.argv[2];
if (!dir) throw new Error("usage: node gen_golden.mjs DIR (the directory fetch.sh filled)");
export const MODELS = ["llama3", "qwen2_5", "qwen3", "gemma2", "llama2", "mistral_nemo"];

// Realistic texts: what reward models score (chat turns, answers with
// numbers, code, lists, several languages), written for this test.
const REAL = [
  "Human: How do I bake sourdough bread at home?\n\nAssistant: Start with an active starter: feed it 12 hours before you mix. Combine 500 g flour, 350 g water and 100 g starter, rest 30 minutes, then add 10 g salt.",
  "I can't help with that request, but I'm happy to explain why it's unsafe and suggest a legal alternative.",
  "The answer is 42. To check: 6 × 7 = 42, and 42 / 7 = 6. (Rounded to 2 decimal places, π ≈ 3.14.)",
  "Sure! Here's a Python function:\n\n```python\ndef fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```\n\nIt runs in O(n) time.",
  "Steps:\n1. Open Settings → Privacy.\n2. Toggle \"Location Services\" off.\n3. Restart the phone.\n\n- Note: some apps may stop working.\n- Tip: you can allow them one by one.",
  "Dear Dr. O'Brien, thank you for the e-mail of 03/14/2024 re: the grant (ref. #A-1138). We'll reply by Friday.",
  "Je pense que c'est une très bonne idée, mais il faut vérifier les coûts d'abord.",
  "Die Straße ist gesperrt; bitte nehmen Sie die Umleitung über die Brücke.",
  "El niño comió una manzana y después jugó al fútbol con sus amigos.",
  "请用三句话总结这篇文章的主要观点，并给出你的评价。",
  "この文章は日本語で書かれています。句読点、カタカナ（テスト）、漢字が含まれます。",
  "오늘 날씨가 정말 좋네요. 산책하러 갈까요?",
  "Это предложение на русском языке, с запятыми и точкой.",
  "हिंदी में एक छोटा वाक्य।",
  "مرحبا بك في هذا الاختبار، شكرا لك.",
  "JSON: {\"id\": 17, \"tags\": [\"a\", \"b\"], \"ok\": true, \"score\": -0.25e-3}",
  "SELECT name, COUNT(*) AS n FROM users WHERE created_at >= '2024-01-01' GROUP BY name ORDER BY n DESC;",
  "    indented line\n\ttabbed line\n\n\n\nafter blank lines   ",
  "URL: https://example.com/path?q=weight%20averaging&lang=en#section-2 and mail me at someone@example.org.",
  "Emojis 😀😃😄 and flags 🇫🇷🇯🇵, a family 👩‍👩‍👧‍👦, a skin tone 👍🏽.",
  "I'd say it's y'all's call, isn't it? They'd've known.",
  "WARNING!!! DO NOT MIX BLEACH AND AMMONIA!!!",
  "$ go test ./... && git commit -m \"fix: handle nil\" --no-verify",
  "Temperature dropped from 25°C to −3°C overnight (a 28-degree swing).",
  "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n2 + 2 = 4.<|im_end|>\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWrite a haiku about rain.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nSoft rain on the roof,\nthe garden drinks in silence,\nclouds forget their names.<|eot_id|>",
  "<bos><start_of_turn>user\nTranslate 'good morning' to German.<end_of_turn>\n<start_of_turn>model\nGuten Morgen!<end_of_turn>\n",
  "<s>[INST] Give me three names for a cat. [/INST] Miso, Pepper and Juniper.</s>",
];
const LONG = REAL.join("\n\n") + "\n\n" + CASES.slice(0, 200).join(" ");
const ALL = [...CASES, ...REAL, LONG];

const out = { generator: `@huggingface/tokenizers ${version}`, models: {} };
for (const name of MODELS) {
  const path = join(dir, name, "tokenizer.json");
  const bytes = readFileSync(path);
  const tok = new Tokenizer(JSON.parse(bytes.toString("utf8")), { clean_up_tokenization_spaces: false });
  const cases = ALL.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const ids_special = tok.encode(text, { add_special_tokens: true }).ids;
    const decoded = ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    return { text, ids, ids_special, decoded };
  });
  out.models[name] = { sha256: createHash("sha256").update(bytes).digest("hex"), cases };
}
let text = `{\n "generator": ${JSON.stringify(out.generator)},\n "models": {`;
Object.entries(out.models).forEach(([name, m], i) => {
  text += `${i ? "," : ""}\n  ${JSON.stringify(name)}: {"sha256": ${JSON.stringify(m.sha256)}, "cases": [\n`;
  text += m.cases.map((c) => "   " + JSON.stringify(c)).join(",\n");
  text += "\n  ]}";
});
const here = dirname(fileURLToPath(import.meta.url));
writeFileSync(join(here, "golden.json"), text + "\n }\n}\n");
