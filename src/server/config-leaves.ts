// Building blocks of the config schema: one leaf per setting, carrying its zod schema, its default, how
// text from the environment or the command line is turned into a value, and the "allowed" phrase that
// every error message quotes (`config error: WS_PORT="abc": expected an integer 0..65535`).
import { z } from 'zod';

export type LeafKind = 'int' | 'number' | 'bool' | 'string' | 'json';

export interface Leaf<T = unknown> {
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly kind: LeafKind;
  /** What is allowed, phrased to follow "expected …". */
  readonly allowed: string;
  readonly help: string;
  /** Nullable settings accept `null` (JSON) or `auto`/`null` (text) for "detect / none". */
  readonly nullable?: boolean;
  /** Never echoed in errors, logs or --print-config. */
  readonly secret?: boolean;
}

const fmt = (n: number): string => (Number.isSafeInteger(n) && Math.abs(n) >= 1_000_000 ? n.toLocaleString('en-US').replace(/,/g, '_') : String(n));

export function int(defaultValue: number, min: number, max: number, help: string): Leaf<number> {
  return { schema: z.number().int().min(min).max(max), default: defaultValue, kind: 'int', allowed: `an integer ${fmt(min)}..${fmt(max)}`, help };
}

export function nullableInt(defaultValue: number | null, min: number, max: number, help: string): Leaf<number | null> {
  return {
    schema: z.number().int().min(min).max(max).nullable(),
    default: defaultValue,
    kind: 'int',
    allowed: `an integer ${fmt(min)}..${fmt(max)}, or "auto"`,
    help,
    nullable: true,
  };
}

/** A real number in [min, max], or in (min, max] when `minExclusive`. */
export function num(defaultValue: number, min: number, max: number, help: string, minExclusive = false): Leaf<number> {
  const base = z.number().max(max);
  return {
    schema: minExclusive ? base.gt(min) : base.min(min),
    default: defaultValue,
    kind: 'number',
    allowed: minExclusive ? `a number greater than ${fmt(min)} and at most ${fmt(max)}` : `a number ${fmt(min)}..${fmt(max)}`,
    help,
  };
}

export function bool(defaultValue: boolean, help: string): Leaf<boolean> {
  return { schema: z.boolean(), default: defaultValue, kind: 'bool', allowed: 'true or false', help };
}

export function oneOf<const T extends readonly [string, ...string[]]>(defaultValue: T[number], values: T, help: string): Leaf<T[number]> {
  return { schema: z.enum(values), default: defaultValue, kind: 'string', allowed: `one of ${values.join(', ')}`, help };
}

export function text(defaultValue: string, schema: z.ZodType<string>, allowed: string, help: string): Leaf<string> {
  return { schema, default: defaultValue, kind: 'string', allowed, help };
}

/** Optional text: a path, a user name; unset (null) by default. */
export function nullableText(schema: z.ZodType<string>, allowed: string, help: string): Leaf<string | null> {
  return { schema: schema.nullable(), default: null, kind: 'string', allowed, help, nullable: true };
}

export function secretText(min: number, max: number, help: string): Leaf<string | null> {
  return {
    schema: z.string().min(min).max(max).nullable(),
    default: null,
    kind: 'string',
    allowed: `a string of ${min} to ${max} characters`,
    help,
    nullable: true,
    secret: true,
  };
}

export function json<T>(defaultValue: T, schema: z.ZodType<T>, allowed: string, help: string): Leaf<T> {
  return { schema, default: defaultValue, kind: 'json', allowed, help };
}

/**
 * Text (environment variable, command-line flag) to a value of the leaf's kind. Text that does not parse
 * is returned unchanged, so validation rejects it and the error quotes exactly what the user wrote.
 */
export function fromText(leaf: Leaf, raw: string): unknown {
  const trimmed = raw.trim();
  if (leaf.nullable === true && (trimmed === 'auto' || trimmed === 'null')) return null;
  switch (leaf.kind) {
    case 'int':
    case 'number': {
      // Digits with optional `_` separators (1_000_000), a fraction and an exponent; no hex, no "", no "1e".
      if (!/^[-+]?(\d[\d_]*)(\.\d+)?([eE][-+]?\d+)?$/.test(trimmed) || /__|_$|_\./.test(trimmed)) return raw;
      return Number(trimmed.replace(/_/g, ''));
    }
    case 'bool': {
      const lower = trimmed.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return raw;
    }
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    case 'string':
      return raw;
  }
}
