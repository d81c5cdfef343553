import { BaseObserver, parse, type Json } from './common';

/**
 * A value in an event that may change from one event to the next: a string, or a non-negative
 * integer found after `"key":` (a sequence number). `read` reads it back from the parsed event.
 */
export type Hole =
  | { value: string; read: (event: Json) => unknown }
  | { value: number; key: string; read: (event: Json) => unknown };

/** How many learns a template may make before it must have earned them with matches. */
const FREE_LEARNS = 4;
const MATCHES_PER_LEARN = 8;

/**
 * Reads a stream event without JSON.parse when it is an event seen before but for its text.
 *
 * Most events of a stream are the same JSON but for the text they carry (and, from OpenAI, a
 * random `obfuscation` string): `{"id":"chatcmpl-1",…,"delta":{"content":"Hello"},…}`. An observer
 * that parsed such an event teaches it here with the place of its text (and of a string it does
 * not read); the template keeps the bytes around those strings. A later event with the same bytes
 * around strings that hold no quote, backslash or control character parses to the same JSON but
 * for those strings' values, so the observer's reading of it is the taught one with the new text
 * length: exact, not a guess. Anything else (a different shape, escapes, a usage object, a tool
 * call) is not matched and gets parsed. Parsing JSON was the largest part of measuring a stream.
 *
 * Where each string sits is found by its quoted value in the text, and checked by parsing the event
 * again with other values there: a template is made only when `read` then gives them back.
 */
export class EventTemplate {
  private event = '';
  /** The fixed text between the holes: parts.length === holes + 1; empty when nothing is taught. */
  private parts: string[] = [];
  /** Which hole holds the counted text. */
  private textHole = 0;
  /** Per hole, in order: true for an integer, false for a string. */
  private numeric: boolean[] = [];
  private learns = 0;
  private matches = 0;

  /** A template made with `enabled` false learns nothing, so every event is parsed. */
  constructor(private readonly enabled = true) {}

  /** The length of the text if `data` is the taught event with plain strings in the holes, else -1. */
  match(event: string, data: string): number {
    const parts = this.parts;
    // slice + === compares flat memory; startsWith with a position is several times slower in V8.
    if (parts.length === 0 || event !== this.event || data.slice(0, parts[0].length) !== parts[0]) {
      return -1;
    }
    let at = parts[0].length;
    let text = -1;
    for (let h = 1; h < parts.length; h++) {
      const end = this.numeric[h - 1] ? integerEnd(data, at) : data.indexOf('"', at);
      if (end === -1 || (!this.numeric[h - 1] && !plain(data, at, end)) || data.slice(end, end + parts[h].length) !== parts[h]) {
        return -1;
      }
      if (h - 1 === this.textHole) {
        text = end - at;
      }
      at = end + parts[h].length;
    }
    if (at !== data.length) {
      return -1;
    }
    this.matches++;
    return text;
  }

  /**
   * Teaches `data`, an event just parsed: `text` is the string whose length the observer counts,
   * `others` values it does not read at all (a random string, a sequence number). Does nothing
   * when their places cannot be told for sure, or when earlier templates were not matched often
   * enough to pay for another. True when taught: the caller then keeps what this event does
   * besides its text, for the matches to come.
   */
  learn(event: string, data: string, text: Hole & { value: string }, ...others: Hole[]): boolean {
    if (!this.enabled || (this.learns >= FREE_LEARNS && this.matches < this.learns * MATCHES_PER_LEARN)) {
      return false; // the template taught before (if any) stays
    }
    const holes: Hole[] = [text, ...others];
    const places: number[] = [];
    const lengths: number[] = [];
    /** A value to put in each hole for the probe: never the hole's own. */
    const fills: (string | number)[] = [];
    for (const h of holes) {
      if ('key' in h) {
        const digits = String(h.value);
        const found = `"${h.key}":${digits}`;
        const at = data.indexOf(found);
        const place = at + found.length - digits.length;
        if (!Number.isSafeInteger(h.value) || h.value < 0 || at === -1 || data.indexOf(found, at + 1) !== -1 || integerEnd(data, place) !== place + digits.length) {
          return false; // not a plain integer, or not found exactly once
        }
        places.push(place);
        lengths.push(digits.length);
        fills.push(h.value === 7 ? 8 : 7);
      } else {
        const quoted = `"${h.value}"`;
        const at = data.indexOf(quoted);
        if (h.value.length === 0 || !plain(h.value, 0, h.value.length) || at === -1 || data.indexOf(quoted, at + 1) !== -1) {
          return false; // empty, escaped, or found more than once: its place is not certain
        }
        places.push(at + 1);
        lengths.push(h.value.length);
        const fill = `T${fills.length}`; // one per hole, so two holes swapped cannot pass the probe
        fills.push(h.value === fill ? `${fill}x` : fill);
      }
    }
    const order = places.map((_, i) => i).sort((a, b) => places[a] - places[b]);
    for (let k = 1; k < order.length; k++) {
      if (places[order[k]] < places[order[k - 1]] + lengths[order[k - 1]] + 1) {
        return false; // overlapping or touching holes
      }
    }
    const parts: string[] = [];
    let probe = '';
    let from = 0;
    for (const i of order) {
      parts.push(data.slice(from, places[i]));
      probe += data.slice(from, places[i]) + String(fills[i]);
      from = places[i] + lengths[i];
    }
    parts.push(data.slice(from));
    probe += data.slice(from);
    this.learns++; // what follows costs a parse
    const parsed = parse(probe);
    if (!parsed || holes.some((h, i) => h.read(parsed) !== fills[i])) {
      return false; // a value found elsewhere than where the observer reads it (the old template stays)
    }
    this.event = event;
    this.parts = parts;
    this.numeric = order.map((i) => 'key' in holes[i]);
    this.textHole = order.indexOf(0);
    return true;
  }
}

/** Where the JSON integer starting at `from` ends (digits, no leading zero), or -1. */
function integerEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    i++;
  }
  if (i === from || (s.charCodeAt(from) === 48 && i > from + 1)) {
    return -1;
  }
  return i;
}

/** No quote, backslash or control character: JSON text whose string value is itself. */
function plain(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92 || c < 32) {
      return false;
    }
  }
  return true;
}

/** An observer that reads repeated stream events through an EventTemplate. */
export abstract class TemplatedObserver extends BaseObserver {
  protected readonly template: EventTemplate;

  /** `templates: false` parses every event: what the templates are tested and measured against. */
  constructor({ templates = true }: { templates?: boolean } = {}) {
    super();
    this.template = new EventTemplate(templates);
  }
}
