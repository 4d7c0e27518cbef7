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
import { CASES } from "./parity_cases.mjs";

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const main = require.resolve("@huggingface/tokenizers");
const version = JSON.parse(readFileSync(join(main, "..", "..", "package.json"), "utf8")).version;

const dir = process.argv[2] ?? ".";
const FIXTURES = ["llama3_bpe.json", "qwen2_bpe.json", "llama2_spm.json", "mistral_spm.json", "gemma_spm.json"];

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
