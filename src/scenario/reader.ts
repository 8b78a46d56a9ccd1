/**
 * The small, strict validator scenario files go through (docs/SCENARIOS.md): a `Field` is a value
 * with its path from the root (`scenario.timeline[3].door`), and every check either returns the
 * typed value or throws one `ScenarioError` naming that path and what is wrong. Mappings refuse
 * keys they do not list, so a typo is an error rather than a silently ignored line.
 *
 * The error keeps the path as segments, so the parser can point at the line and column of the
 * offending node in the YAML source (`format.ts`).
 */
import { InputError } from '../core/errors.js';

export type Segment = string | number;

/** A scenario that cannot run as written: the exact path, the problem, and where in the file. */
export class ScenarioError extends InputError {
  override name = 'ScenarioError';
  readonly segments: readonly Segment[];

  constructor(segments: readonly Segment[], problem: string) {
    super(pathText(segments), problem);
    this.segments = segments;
  }

  /** The same error, its message prefixed with `file:line:column` when known. */
  located(where: string): ScenarioError {
    const copy = new ScenarioError(this.segments, this.problem);
    copy.message = `${where}: ${this.message}`;
    return copy;
  }
}

/** `scenario.timeline[3].door` for `['timeline', 3, 'door']`. */
export function pathText(segments: readonly Segment[]): string {
  let text = 'scenario';
  for (const segment of segments)
    text += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
  return text;
}

/** How a wrong value is described in an error: its kind, and short scalars verbatim. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

export class Field {
  readonly value: unknown;
  readonly segments: readonly Segment[];

  constructor(value: unknown, segments: readonly Segment[] = []) {
    this.value = value;
    this.segments = segments;
  }

  get path(): string {
    return pathText(this.segments);
  }

  fail(problem: string): never {
    throw new ScenarioError(this.segments, problem);
  }

  /**
   * A mapping whose keys are all in `allowed`, with each of `required` present; returns its
   * fields by key (absent keys are absent).
   */
  mapping(
    allowed: readonly string[],
    required: readonly string[] = [],
  ): Readonly<Record<string, Field>> {
    const value = this.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(`expected a mapping, got ${describe(value)}`);
    }
    const out: Record<string, Field> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!allowed.includes(key)) {
        new Field(item, [...this.segments, key]).fail(
          `unknown key (expected: ${allowed.join(', ')})`,
        );
      }
      out[key] = new Field(item, [...this.segments, key]);
    }
    for (const key of required) {
      if (out[key] === undefined) this.fail(`missing key "${key}"`);
    }
    return out;
  }

  /** A mapping of any keys (ids), each checked by `id` first; in file order. */
  entries(id: (key: string, field: Field) => void): Field[] {
    const value = this.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(`expected a mapping, got ${describe(value)}`);
    }
    return Object.entries(value).map(([key, item]) => {
      const field = new Field(item, [...this.segments, key]);
      id(key, field);
      return field;
    });
  }

  list(options: { readonly min?: number } = {}): Field[] {
    const value = this.value;
    if (!Array.isArray(value)) this.fail(`expected a list, got ${describe(value)}`);
    const min = options.min ?? 0;
    if (value.length < min) this.fail(`expected at least ${min} item${min === 1 ? '' : 's'}`);
    return value.map((item: unknown, i) => new Field(item, [...this.segments, i]));
  }

  /** A list, or one item standing for a list of one. */
  listOrOne(): Field[] {
    return Array.isArray(this.value) ? this.list({ min: 1 }) : [this];
  }

  string(): string {
    const value = this.value;
    if (typeof value !== 'string') this.fail(`expected text, got ${describe(value)}`);
    if (value.length === 0) this.fail('expected text, got an empty string');
    return value;
  }

  /** Text, or a number written where text was meant (`seed: 7`, `code: 1234567`). */
  text(): string {
    return typeof this.value === 'number' && Number.isSafeInteger(this.value)
      ? String(this.value)
      : this.string();
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') {
      this.fail(`expected true or false, got ${describe(this.value)}`);
    }
    return this.value;
  }

  number(
    options: { readonly min?: number; readonly max?: number; integer?: boolean } = {},
  ): number {
    const value = this.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(`expected a number, got ${describe(value)}`);
    }
    if (options.integer === true && !Number.isSafeInteger(value)) {
      this.fail(`expected a whole number, got ${value}`);
    }
    const { min, max } = options;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      this.fail(`expected ${rangeText(min, max)}, got ${value}`);
    }
    return value;
  }

  oneOf<T extends string | number>(choices: readonly T[]): T {
    const found = choices.find((choice) => choice === this.value);
    if (found === undefined) {
      this.fail(
        `expected one of ${choices.map((c) => String(c)).join(', ')}, got ${describe(this.value)}`,
      );
    }
    return found;
  }
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min} .. ${max}`;
  return min !== undefined ? `at least ${min}` : `at most ${String(max)}`;
}
