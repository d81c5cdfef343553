import { parse, type Json } from './common';

/** A string in an event: its value, and how to read it back from the parsed event. */
export interface Hole {
  value: string;
  read: (event: Json) => unknown;
}

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
      const end = data.indexOf('"', at);
      if (end === -1 || !plain(data, at, end) || data.slice(end, end + parts[h].length) !== parts[h]) {
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
   * `other` one it does not read at all. Does nothing when their places cannot be told for sure,
   * or when earlier templates were not matched often enough to pay for another. True when taught:
   * the caller then keeps what this event does besides its text, for the matches to come.
   */
  learn(event: string, data: string, text: Hole, other: Hole | null): boolean {
    if (!this.enabled || (this.learns >= FREE_LEARNS && this.matches < this.learns * MATCHES_PER_LEARN)) {
      return false; // the template taught before (if any) stays
    }
    const holes = other ? [text, other] : [text];
    const places: number[] = [];
    for (const h of holes) {
      const quoted = `"${h.value}"`;
      const at = data.indexOf(quoted);
      if (h.value.length === 0 || !plain(h.value, 0, h.value.length) || at === -1 || data.indexOf(quoted, at + 1) !== -1) {
        return false; // empty, escaped, or found more than once: its place is not certain
      }
      places.push(at + 1);
    }
    const order = places.length === 2 && places[1] < places[0] ? [1, 0] : places.map((_, i) => i);
    const parts: string[] = [];
    const fills = ['T', 'O']; // a value differing from the hole's own ('x' is added when it is the same)
    let probe = '';
    let from = 0;
    for (const i of order) {
      parts.push(data.slice(from, places[i]));
      probe += data.slice(from, places[i]) + fills[i] + (holes[i].value === fills[i] ? 'x' : '');
      from = places[i] + holes[i].value.length;
    }
    parts.push(data.slice(from));
    probe += data.slice(from);
    this.learns++; // what follows costs a parse
    const parsed = parse(probe);
    if (!parsed || holes.some((h, i) => h.read(parsed) !== fills[i] + (h.value === fills[i] ? 'x' : ''))) {
      return false; // a quoted value found elsewhere than where the observer reads it (the old template stays)
    }
    this.event = event;
    this.parts = parts;
    this.textHole = order.indexOf(0);
    return true;
  }
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
