/**
 * The deterministic local provider: offline, no weights, same prompt -> same text. It builds a
 * few sentences around the prompt's key words (seeded by a hash of the prompt) and streams
 * them word by word at a steady pace, so the platform behaves like it does with a real model:
 * tokens arrive over seconds, not all at once.
 *
 * Offered tools, it simulates tool use just as deterministically: it asks for the calls its
 * prompt spells out as `name({...JSON arguments...})`, one call per inference, in order (the
 * tool results in the conversation say how many are done); then it answers with text over the
 * prompt and the results. It calls what the prompt names, offered or not, as a real model may.
 */
import type { ChatMessage, ModelToolCall } from '@multi-agent/events';
import { itemAt } from '@multi-agent/service-kit';
import type { InferenceRequest, ModelProvider } from './provider.js';

/** Options of {@link LocalModelProvider}. */
export interface LocalProviderOptions {
  /** Pause before each token (ms). Default 40 (~25 tokens/s, a realistic streaming pace). */
  tokenDelayMs?: number;
  /** Name reported as the model. Default `local-deterministic`. */
  model?: string;
}

const STOPWORDS = new Set(
  (
    'about above after again against also among and another any are around because been before being below between both but ' +
    'can could did does doing down during each either every few for from further given had has have having here how however ' +
    'into its itself just like made make many might more most much must near need only other over own please same shall should ' +
    'since some such than that the their them then there these they this those through under until upon very was were what when ' +
    'where which while who whom whose why will with within without would write your yours you give using use based short brief ' +
    'words word sentences sentence paragraph text answer date notes note summary summarise research key facts open questions ' +
    'verdict favour friendly message everyone owes included one two three ' +
    // The local model's own sentence scaffolding: summarising its output must not pick these.
    'looking first thing stands out depends useful way start core relationship evidence suggests steady incremental ' +
    'progress rather sudden change teams get right usually invest early common mistake treat separate concerns practice ' +
    'matters pressure trade-off rarely obvious rewards patience clear ownership honest measurement overall works best ' +
    'treated first-class concern practical takeaway begin small measure widen scope'
  ).split(' '),
);

const OPENERS = [
  'Looking at {0}, the first thing that stands out is how much depends on {1}.',
  'On {0}, a useful way in is to start from {1}.',
  'The core of {0} is its relationship with {1}.',
];
const MIDDLES = [
  'Evidence around {2} suggests steady, incremental progress rather than sudden change.',
  'Teams that get {2} right usually invest early in {3}.',
  'A common mistake is to treat {2} and {3} as separate concerns.',
  'In practice, {2} matters most when {3} is under pressure.',
  'The trade-off between {2} and {3} is rarely obvious at the start.',
];
const CLOSERS = [
  'In short, {0} rewards patience, clear ownership and honest measurement.',
  'Overall, {0} works best when {1} is treated as a first-class concern.',
  'The practical takeaway: begin small with {0}, measure, then widen the scope.',
];

/** FNV-1a, 32 bit: a stable seed from the prompt. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The prompt's key phrases: runs of up to three content words (stopwords, numbers and
 * punctuation split them), the most frequent first, then multi-word ones, then by first appearance.
 */
function keywords(prompt: string): string[] {
  const phrases: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 0) phrases.push(run.join(' '));
    run = [];
  };
  for (const raw of prompt.match(/[A-Za-z0-9][A-Za-z0-9'-]*|[.,;:!?()"\n]/g) ?? []) {
    const word = raw.replace(/['-]+$/, '');
    const lower = word.toLowerCase();
    if (word.length < 3 || STOPWORDS.has(lower) || /\d/.test(word)) {
      flush();
      continue;
    }
    // Keep the case of names such as NATS or JetStream; lower-case ordinary words.
    run.push(/[A-Z]/.test(word.slice(1)) ? word : lower);
    if (run.length === 3) flush();
  }
  flush();
  // What the prompt talks about most comes first (a summary prompt quotes its notes' topic often).
  const counts = new Map<string, number>();
  for (const phrase of phrases) counts.set(phrase, (counts.get(phrase) ?? 0) + 1);
  const rank = (p: string): number => (counts.get(p) ?? 0) * 2 + (p.includes(' ') ? 1 : 0);
  const words = [...counts.keys()].sort((a, b) => rank(b) - rank(a));
  const fillers = ['the topic', 'the evidence', 'the context', 'the outcome'];
  while (words.length < fillers.length) words.push(itemAt(fillers, words.length));
  return words;
}

/** The full text the local model answers `prompt` with. */
export function localCompletion(prompt: string): string {
  const words = keywords(prompt);
  const random = prng(hash(prompt));
  const pick = (list: readonly string[]): string => itemAt(list, Math.floor(random() * list.length));
  // Key words 0-1 open and close; the middle sentences rotate through the rest.
  const slots = (offset: number): string[] => [0, 1, (2 + offset) % words.length, (3 + offset) % words.length].map((i) => itemAt(words, i));
  const fill = (template: string, values: string[]): string => template.replace(/\{(\d)\}/g, (_m, i: string) => itemAt(values, Number(i)));
  const shuffled = [...MIDDLES];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [itemAt(shuffled, j), itemAt(shuffled, i)];
  }
  const middles = shuffled.slice(0, 2 + Math.floor(random() * 2));
  const sentences = [fill(pick(OPENERS), slots(0)), ...middles.map((m, i) => fill(m, slots(i * 2))), fill(pick(CLOSERS), slots(0))];
  return sentences.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join(' ');
}

/** The end of the JSON object that starts at `start` (a `{`), or -1: braces counted outside strings. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** The tool calls a prompt spells out as `name({...})`, in order (those whose arguments are not a JSON object are skipped). */
export function localToolCalls(prompt: string): Omit<ModelToolCall, 'id'>[] {
  const calls: Omit<ModelToolCall, 'id'>[] = [];
  for (const match of prompt.matchAll(/([A-Za-z][A-Za-z0-9_-]*)\(\{/g)) {
    const start = match.index + match[0].length - 1;
    const end = objectEnd(prompt, start);
    if (end === -1 || prompt[end + 1] !== ')') continue;
    try {
      const args: unknown = JSON.parse(prompt.slice(start, end + 1));
      if (typeof args === 'object' && args !== null && !Array.isArray(args)) calls.push({ name: match[1] ?? '', arguments: args as Record<string, unknown> });
    } catch {
      // Not JSON: not a call.
    }
  }
  return calls;
}

/** The local model's next move in a conversation with tools: the next call the prompt spells out, or undefined when all are answered. */
function nextLocalToolCall(prompt: string, messages: readonly ChatMessage[]): ModelToolCall | undefined {
  const answered = messages.filter((m) => m.role === 'tool').length;
  const next = localToolCalls(prompt)[answered];
  return next === undefined ? undefined : { id: `local-call-${answered + 1}`, ...next };
}

/** Splits text into word tokens that concatenate back to the text (each keeps its trailing space). */
export function splitTokens(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The deterministic offline provider (the default). */
export class LocalModelProvider implements ModelProvider {
  readonly name = 'local';
  readonly defaultModel: string;
  private readonly tokenDelayMs: number;

  constructor(options: LocalProviderOptions = {}) {
    this.tokenDelayMs = options.tokenDelayMs ?? 40;
    this.defaultModel = options.model ?? 'local-deterministic';
  }

  async *stream(request: InferenceRequest): AsyncIterable<string | ModelToolCall> {
    const messages = request.messages ?? [];
    if (request.tools !== undefined && request.tools.length > 0) {
      const call = nextLocalToolCall(request.prompt, messages);
      if (call !== undefined) {
        await sleep(this.tokenDelayMs, request.signal);
        yield call;
        return;
      }
    }
    // The answer reads the prompt and every tool result given.
    const input = [request.prompt, ...messages.filter((m) => m.role === 'tool').map((m) => m.content)].join('\n');
    const tokens = splitTokens(localCompletion(input));
    const limit = request.maxTokens ?? tokens.length;
    for (const token of tokens.slice(0, limit)) {
      await sleep(this.tokenDelayMs, request.signal);
      yield token;
    }
  }
}
