/**
 * Filters of the running totals (design.md, "Roll-up"): case-insensitive globs over a whole name,
 * `*` for any run of characters (also none), `?` for exactly one; everything else is literal.
 */
export type NameMatcher = (name: string) => boolean;

const matchAll: NameMatcher = () => true;

export function compileGlob(pattern: string | null | undefined): NameMatcher {
  if (pattern === undefined || pattern === null || pattern === '' || pattern === '*') {
    return matchAll;
  }
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') {
      source += '.*';
    } else if (ch === '?') {
      source += '.';
    } else {
      source += ch.replace(/[\\^$.|+()[\]{}/]/g, '\\$&');
    }
  }
  // `s` so that `*` and `?` also match a newline; `u` so that `?` is one code point, not one half.
  const re = new RegExp(`^(?:${source})$`, 'isu');
  return (name) => re.test(name);
}

export function isMatchAll(m: NameMatcher): boolean {
  return m === matchAll;
}
