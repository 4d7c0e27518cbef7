// Builds the SentencePiece-style parity fixtures llama2_spm.json,
// mistral_spm.json and gemma_spm.json: `node gen_spm_fixtures.mjs DIR` writes
// them into DIR (tokenizer/testdata). It needs nothing but node; run
// gen_parity.mjs afterwards to refresh parity_golden.json.
//
// The vocabularies come from a small SentencePiece-like BPE trainer run on the
// corpus below (spaces as "▁", "▁" starting each word, digits never merged,
// pieces of at most 16 characters and of one script class, characters seen
// fewer than MIN_CHAR times left out so that they take the byte fallback),
// laid out as the real files are:
//
//   - llama2_spm.json: Llama-2's layout (an older transformers conversion):
//     ids 0-2 "<unk>", "<s>", "</s>", 3-258 "<0x00>".."<0xFF>", then the
//     merged pieces in merge order and the single characters; normalizer
//     Sequence[Prepend("▁"), Replace(" " → "▁")], pre_tokenizer null, BPE
//     with byte_fallback and fuse_unk, decoder Sequence[Replace("▁" → " "),
//     ByteFallback, Fuse, Strip(" ", 1, 0)], TemplateProcessing adding "<s>".
//     One more added token, "<tool>", is normalized (so it matches as
//     "▁<tool>" in the normalized text).
//   - mistral_spm.json: the same vocabulary in the newer layout: normalizer
//     null, pre_tokenizer Metaspace(prepend_scheme "first", split false),
//     decoder Metaspace, "[INST]" and "[/INST]" added after the vocabulary.
//   - gemma_spm.json: Gemma's layout: ids 0-4 "<pad>", "<eos>", "<bos>",
//     "<unk>", "<mask>", unused tokens, "<start_of_turn>", "<end_of_turn>",
//     user-defined pieces (newline runs, "▁▁" runs, "<table>") that are
//     non-special added tokens, the byte tokens, then pieces trained on text
//     with newlines and tabs kept; normalizer Replace(" " → "▁"), pre_tokenizer
//     Split(" ", MergedWithPrevious), decoder Sequence[Replace, ByteFallback,
//     Fuse], TemplateProcessing adding "<bos>".
//
// Merges are generated from the vocabulary as transformers'
// convert_slow_tokenizer.generate_merges does for these models: every split
// of a piece into two pieces of the vocabulary, ranked by the piece's id.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".";

const CORPUS = `The quick brown fox jumps over the lazy dog, and the dog does not mind at all.
A reward model reads a prompt and a response, then returns one number that says how good the response is.
We train several reward models from the same starting point and average their weights.
Weight averaged reward models are more robust than any single member of the ensemble.
When the policy is optimized against one reward model, it learns to exploit that model's mistakes.
This is called reward hacking, and it shows up as a reward that keeps rising while the true quality falls.
Averaging the weights reduces the variance of the reward and delays the point where hacking starts.
The tokenizer splits text into pieces; the pieces are then merged by rank until no merge applies.
SentencePiece treats the input as a raw stream of characters and marks each space with a special symbol.
Byte fallback turns every character that is not in the vocabulary into the bytes of its encoding.
In the morning the market was quiet, but by the afternoon the traders were shouting prices again.
She walked along the river, counting the boats and listening to the birds in the tall trees.
He said that the weather would be warm and sunny, although the clouds in the west looked heavy.
They're sure you'll like the new version; we've tested it and it's faster than the old one.
I'm not certain that the answer is right, but I'd rather check it twice than be wrong once.
Please write a short summary of the article, and then list three questions a reader might ask.
The assistant should be helpful, honest and harmless, and it should refuse dangerous requests.
Our experiments use a learning rate of 0.0001, a batch size of 64 and 2000 training steps.
The results table shows the mean and the standard deviation over 5 seeds for every method.
Figure 3 plots the gold reward against the KL divergence from the reference policy.
In 2024 the team released version 1.2.3 of the library, which fixed 17 bugs and added 4 features.
The price rose from $12.50 to $19.99, an increase of almost 60% in a single week.
Call the function with the path of the file and a context, and check the error it returns.
If the file does not exist, the loader returns an error that names the file and the field.
Every test must pass before the branch is merged into main, and the code must be formatted.
The model has 24 layers, 16 attention heads, a hidden size of 1024 and a vocabulary of 32000 tokens.
Attention lets every position look at every earlier position, weighted by a learned similarity.
The optimizer keeps a running average of the gradients and of their squares for each parameter.
Mixing the weights of two fine-tuned models often gives a model that is better than both.
Interpolating between the start and the end of training traces a path through weight space.
def encode(text):
    ids = []
    for piece in split(text):
        ids.append(vocab[piece])
    return ids

class RewardModel:
    def __init__(self, backbone, head):
        self.backbone = backbone
        self.head = head

    def forward(self, tokens):
        hidden = self.backbone(tokens)
        return self.head(hidden[-1])

if __name__ == "__main__":
    print(encode("hello world"))
{"name": "warm", "version": "0.1.0", "layers": [1, 2, 3], "enabled": true}
<html><body><p>Hello, world!</p></body></html>
Café au lait, crème brûlée, naïve résumé, déjà vu, façade, à la carte, pâté, élève, très bien.
Über den Wolken muss die Freiheit wohl grenzenlos sein; schöne Grüße aus München und Zürich.
El niño comió una manzana en la mañana, y después jugó al fútbol con sus amigos en el parque.
São Paulo é a maior cidade do Brasil, e a população cresce a cada ano que passa.
Привет, мир! Как дела? Сегодня хорошая погода, и мы идём гулять в парк.
東京は日本の首都です。京都は古い都で、多くの寺があります。日本語の文章です。
北京是中国的首都。上海是一个大城市。我们今天去公园散步。中文的句子。
한국어 문장입니다. 서울은 한국의 수도입니다.
Thanks for the help! See you tomorrow at the meeting, and don't forget the slides.
Numbers like 3.14159, 2.71828 and 1.41421 appear in many formulas and proofs.
The meeting starts at 10:30 on Monday, 2024-01-15, in room 4B on the second floor.
Write the answer in one sentence. Then explain the reasoning step by step, in plain words.
Question: what is the capital of France? Answer: the capital of France is Paris.
Question: how many legs does a spider have? Answer: a spider has eight legs.
The cat sat on the mat, and the rat ran under the hat that the man had left on the mat.
Reading, writing and arithmetic are the three basic skills that every school teaches.
Some words are long, like internationalization, antidisestablishmentarianism and supercalifragilistic.
Others are short: a, an, the, of, to, in, on, at, by, for, with, from, up, out, off, over, under.
The evaluation compares the policy's samples with the reference answers, one prompt at a time.
Negative rewards mean the response was worse than the baseline; positive rewards mean it was better.
Tokens, tokens, tokens: everything the model sees is a sequence of integers from the vocabulary.
Hello world! Hello, World. HELLO WORLD? hello... world!!! Hello again, my old friend.
The end of the document is marked with a special token, and so is the beginning.
Photosynthesis converts sunlight, water and carbon dioxide into glucose and oxygen inside green leaves.
The volcano erupted without warning, sending ash kilometres into the sky and closing every airport nearby.
Archaeologists uncovered pottery, bronze jewellery and carved bones beneath the abandoned monastery.
Migrating geese navigate thousands of miles using the stars, the magnetic field and familiar landmarks.
The orchestra rehearsed the symphony twice, polishing the violins' entrance and the trumpets' fanfare.
Quantum computers exploit superposition and entanglement, yet they remain fragile and extremely expensive.
A balanced breakfast might include oatmeal, yogurt, blueberries, scrambled eggs and freshly squeezed juice.
The detective examined the fingerprints, interviewed the gardener and finally identified the culprit.
Glaciers carve valleys slowly, grinding boulders into gravel and depositing moraines along their edges.
Economists disagree about whether inflation is driven mostly by wages, energy prices or monetary policy.
Children learn vocabulary astonishingly quickly, absorbing dozens of unfamiliar expressions every week.
The bakery sells croissants, baguettes, cinnamon rolls, sourdough loaves and delicious chocolate eclairs.
Engineers reinforced the suspension bridge with steel cables after inspectors discovered worrying cracks.
Meteorologists predicted thunderstorms, hailstones and gusty winds throughout the northern provinces.
The museum's exhibition featured impressionist paintings, medieval tapestries and contemporary sculptures.
Astronomers photographed a distant galaxy whose light travelled billions of years before reaching us.
Volunteers planted saplings along the riverbank to prevent erosion and provide shelter for wildlife.
The marathon runners hydrated carefully, pacing themselves through humid streets and steep hills.
Biologists sequenced the genome of a rare orchid, revealing surprising similarities with common grasses.
The programmer refactored the legacy module, replacing tangled conditionals with small readable functions.
Compilers translate source code into machine instructions, optimizing loops and eliminating dead branches.
Databases store records in tables, index frequently queried columns and enforce transactional consistency.
Encryption protects messages by scrambling them with keys that only the intended recipients possess.
Networks route packets through switches and routers, retransmitting whatever gets lost along the way.
Operating systems schedule processes, manage memory, handle interrupts and mediate access to devices.
The committee postponed its decision, requesting additional evidence and independent expert testimony.
Farmers rotated wheat, barley, lentils and clover to replenish nitrogen and discourage stubborn pests.
The lighthouse keeper polished the enormous lens every evening before the fishing fleet returned.
Pharmacists verify prescriptions, warn patients about interactions and recommend appropriate dosages.
The novelist drafted seventeen chapters, discarded nine of them and rewrote the ending from scratch.
Ancient mariners charted coastlines using sextants, chronometers and remarkably accurate handwritten logs.
The choir's harmonies echoed through the cathedral, filling the vaulted ceiling with shimmering sound.
Hikers followed the winding trail past waterfalls, meadows full of wildflowers and jagged granite cliffs.
The startup's founders pitched investors relentlessly, iterating on their prototype between meetings.
Translators balance faithfulness and fluency, choosing idioms that preserve the author's original tone.
Surgeons rehearse complicated procedures on simulators before operating on actual patients.
The referee whistled, the crowd groaned, and the goalkeeper argued furiously about the penalty.
Electric vehicles regenerate energy while braking, storing it in lithium batteries for later acceleration.
Historians debate the causes of the revolution: famine, taxation, ideology or simple bureaucratic collapse.
The gardener pruned the roses, fertilized the tomatoes and scattered marigold seeds between the rows.
Philosophers have long asked whether knowledge requires certainty or merely justified true belief.
The spacecraft deployed its solar panels, calibrated its instruments and transmitted its first images.
Chemists synthesized a catalyst that accelerates the reaction without being consumed by it.
The jazz quartet improvised for hours, trading solos on saxophone, piano, double bass and drums.
Journalists verified the documents, contacted several witnesses and published a thorough investigation.
Insurance premiums depend on age, location, driving history and the estimated value of the vehicle.
The apprentice carpenter measured twice, sawed once and sanded the oak panels until they gleamed.
Linguists classify languages into families by comparing grammar, sound changes and shared vocabulary.
Firefighters extinguished the blaze, ventilated the smoky hallway and rescued a frightened kitten.
The laboratory's centrifuge spun samples at tremendous speeds, separating plasma from blood cells.
Neighbours organized a festival with lanterns, folk dancing, barbecued vegetables and homemade lemonade.
Mathematicians proved the conjecture after decades, combining topology, algebra and clever combinatorics.
The shipment was delayed by customs inspections, a strike at the harbour and an unexpected typhoon.
Teachers encourage curiosity by asking open questions and letting students explore their own answers.
The sculptor chiselled marble for months, revealing a graceful figure hidden inside the rough block.
Veterinarians vaccinated puppies, examined an injured falcon and bandaged a limping horse's fetlock.
`;

// Gemma's corpus keeps tabs and blank lines inside documents (its vocabulary
// has "\n" and "\t" pieces), so it is split into paragraphs, not lines.
const GEMMA_EXTRA = `func main() {
\tfor i := 0; i < 10; i++ {
\t\tfmt.Println(i)
\t}
}

Line one
Line two


Line four after a blank line
\tindented with a tab
name\tage\tcity
alice\t30\tparis
bob\t25\tberlin
`;

const MIN_CHAR = 3; // characters seen fewer times are left out of the vocabulary

const MAX_PIECE = 16; // characters, as SentencePiece's max_sentencepiece_length

function isDigit(c) {
  return /\p{N}/u.test(c);
}

// script is a rough split_by_unicode_script: the class of a piece's
// characters other than "▁" ("" for a run of "▁"); pieces of different
// classes do not merge (but "▁" runs merge with anything).
function script(p) {
  let cls = "";
  for (const c of p) {
    if (c === "▁") continue;
    const k = /[\p{L}\p{M}]/u.test(c) ? "L" : /[\p{P}\p{S}]/u.test(c) ? "P" : "W";
    if (cls !== "" && cls !== k) return "mixed";
    cls = k;
  }
  return cls;
}

function mergeable(a, b) {
  if (isDigit(a) || isDigit(b) || Array.from(a).length + Array.from(b).length > MAX_PIECE) return false;
  const x = script(a), y = script(b);
  return x === "" || y === "" || x === y;
}

// words splits a text (spaces already "▁") into SentencePiece-like words:
// a run of "▁" stays together except its last one, which starts the next
// word ("▁▁▁x" is "▁▁", "▁x"); with newlines kept, a newline run is a word.
function words(s, keepNewlines) {
  const out = [];
  const re = keepNewlines ? /\n+|▁*[^▁\n]+|▁+/gu : /▁*[^▁]+|▁+/gu;
  for (const m of s.matchAll(re)) {
    let w = m[0];
    let k = 0;
    while (w[k] === "▁") k++;
    if (k > 1 && k < w.length) {
      out.push(w.slice(0, k - 1));
      w = w.slice(k - 1);
    }
    out.push(w);
  }
  return out;
}

// train returns the merged pieces in merge order and the characters by
// frequency (most frequent first).
function train(docs, numMerges, keepNewlines, prefix) {
  const counts = new Map();
  const charCount = new Map();
  for (const d of docs) {
    const s = prefix + d.replaceAll(" ", "▁");
    for (const c of s) charCount.set(c, (charCount.get(c) ?? 0) + 1);
    for (const w of words(s, keepNewlines)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const chars = [...charCount.entries()]
    .filter(([c, n]) => n >= MIN_CHAR && !(c === "\n" && !keepNewlines))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([c]) => c);
  const known = new Set(chars);
  const ws = [...counts.entries()].map(([w, n]) => ({ syms: Array.from(w), n }));
  const pieces = [];
  const seen = new Set(chars);
  for (let it = 0; it < numMerges; it++) {
    const pairs = new Map();
    for (const w of ws) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const a = w.syms[i], b = w.syms[i + 1];
        if (!known.has(a) || !known.has(b) || !mergeable(a, b)) continue;
        const k = a + "\u0000" + b;
        pairs.set(k, (pairs.get(k) ?? 0) + w.n);
      }
    }
    let best = null, bestN = 0;
    for (const [k, n] of pairs) {
      if (n > bestN || (n === bestN && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (best === null) break;
    const [a, b] = best.split("\u0000");
    const ab = a + b;
    for (const w of ws) {
      const out = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(ab);
          i++;
        } else {
          out.push(w.syms[i]);
        }
      }
      w.syms = out;
    }
    known.add(ab);
    if (!seen.has(ab)) {
      seen.add(ab);
      pieces.push(ab);
    }
  }
  return { pieces, chars };
}

// generateMerges: for each piece (by id) every split into two vocabulary
// pieces, ranked by the piece's id, then by the parts' lengths and ids.
// Control and byte tokens (skip) take part in none.
function generateMerges(vocab, skip) {
  const merges = [];
  for (const [piece, id] of vocab) {
    if (skip(id)) continue;
    const cs = Array.from(piece);
    const local = [];
    for (let i = 1; i < cs.length; i++) {
      const l = cs.slice(0, i).join(""), r = cs.slice(i).join("");
      const li = vocab.get(l), ri = vocab.get(r);
      if (li !== undefined && ri !== undefined && !skip(li) && !skip(ri)) local.push([l, r, id, li, ri]);
    }
    local.sort((x, y) => x[3] - y[3] || x[4] - y[4]);
    merges.push(...local);
  }
  merges.sort((x, y) => x[2] - y[2] || x[0].length - y[0].length || x[1].length - y[1].length);
  return merges.map(([l, r]) => [l, r]);
}

const byteTokens = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);

function addedToken(id, content, special, normalized = false) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized, special };
}

function bosTemplate(bos, id) {
  return {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: "B", type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
  };
}

function bpeModel(vocab, merges, unk) {
  return {
    type: "BPE", dropout: null, unk_token: unk, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: true, byte_fallback: true, ignore_merges: false,
    vocab, merges,
  };
}

// write puts one vocabulary entry or merge a line, so that files diff well.
function write(name, tok) {
  const { model, ...rest } = tok;
  let s = JSON.stringify({ ...rest, model: null }, null, 2);
  s = s.slice(0, s.lastIndexOf('"model": null')) + '"model": {\n';
  const { vocab, merges, ...flags } = model;
  for (const [k, v] of Object.entries(flags)) s += `    ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`;
  s += '    "vocab": {\n' + [...vocab].map(([k, v]) => `      ${JSON.stringify(k)}: ${v}`).join(",\n") + "\n    },\n";
  s += '    "merges": [\n' + merges.map((m) => "      " + JSON.stringify(m)).join(",\n") + "\n    ]\n  }\n}\n";
  writeFileSync(join(dir, name), s);
  console.log(`${name}: ${vocab.size} tokens, ${merges.length} merges, ${s.length} bytes`);
}

// Llama-2 and Mistral: one vocabulary.
{
  const lines = CORPUS.split("\n").filter((l) => l !== "");
  const { pieces, chars } = train(lines, 4000, false, "▁");
  const vocab = new Map();
  for (const t of ["<unk>", "<s>", "</s>", ...byteTokens, ...pieces, ...chars]) {
    if (!vocab.has(t)) vocab.set(t, vocab.size);
  }
  const merges = generateMerges(vocab, (id) => id < 259);
  const n = vocab.size;
  const specials = [addedToken(0, "<unk>", true), addedToken(1, "<s>", true), addedToken(2, "</s>", true)];
  write("llama2_spm.json", {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [...specials, addedToken(n, "<tool>", false, true)],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: bosTemplate("<s>", 1),
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: bpeModel(vocab, merges.map(([l, r]) => `${l} ${r}`), "<unk>"),
  });
  const metaspace = { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false };
  write("mistral_spm.json", {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [...specials, addedToken(n, "[INST]", true), addedToken(n + 1, "[/INST]", true)],
    normalizer: null,
    pre_tokenizer: metaspace,
    post_processor: bosTemplate("<s>", 1),
    decoder: metaspace,
    model: bpeModel(vocab, merges, "<unk>"),
  });
}

// Gemma.
{
  const docs = [...CORPUS.split("\n").filter((l) => l !== ""), ...GEMMA_EXTRA.split("\n\n\n"), GEMMA_EXTRA];
  // Gemma prepends no "▁": train on the text as its normalizer leaves it.
  const { pieces, chars } = train(docs, 4000, true, "");
  const head = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"];
  for (let i = 0; i < 10; i++) head.push(`<unused${i}>`);
  head.push("<start_of_turn>", "<end_of_turn>");
  const userDefined = ["\n\n", "\n\n\n", "▁▁", "▁▁▁▁", "<table>", "</table>"];
  const vocab = new Map();
  for (const t of [...head, ...userDefined, ...byteTokens, ...pieces, ...chars, "\n", "\t"]) {
    if (!vocab.has(t)) vocab.set(t, vocab.size);
  }
  const bytes0 = head.length + userDefined.length;
  const merges = generateMerges(vocab, (id) => id < head.length || (id >= bytes0 && id < bytes0 + 256));
  const added = head.map((t, i) => addedToken(i, t, true));
  userDefined.forEach((t, k) => added.push(addedToken(head.length + k, t, false)));
  write("gemma_spm.json", {
    version: "1.0", truncation: null, padding: null,
    added_tokens: added,
    normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" },
    pre_tokenizer: { type: "Split", pattern: { String: " " }, behavior: "MergedWithPrevious", invert: false },
    post_processor: bosTemplate("<bos>", 2),
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }],
    },
    model: bpeModel(vocab, merges.map(([l, r]) => `${l} ${r}`), "<unk>"),
  });
}
