/**
 * Input checks for the public tracker API (they validate values already typed, so they return
 * nothing rather than narrow). Callers get a `ValidationError` that names the field and
 * shows the value as it arrived, so a bad call site can be found from the message alone.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';

  constructor(
    readonly field: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`Invalid ${field}: ${describe(value)} (expected ${expected})`);
  }
}

/** Shows strings quoted so an empty or blank string is visible in the message. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'bigint') {
    return `${value}n`;
  }
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

export function requireNonEmptyString(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(field, value, 'a non-empty string');
  }
}

/** Safe integers only: beyond 2^53 the running sums would silently lose precision. */
export function requireCount(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, value, 'a non-negative integer');
  }
}

export function requireFinite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(field, value, 'a finite number');
  }
}
