/**
 * The small error tree at keyway's edges (STYLE.md "Names and errors"): bad configuration and bad
 * input throw these, expected protocol outcomes are values instead. Messages never carry key
 * material or codes, so they are safe to print and log.
 */

/** The base of every error keyway throws on purpose. */
export class KeywayError extends Error {
  override name = 'KeywayError';
}

/** Input that failed validation; `field` names the option that was wrong. */
export class InputError extends KeywayError {
  override name = 'InputError';
  /** The option at fault, as the caller spelled it (`from`, `doorKey`, or a CLI flag). */
  readonly field: string;
  /** What is wrong with it, without the field name (`must be 32 bytes (got 31)`). */
  readonly problem: string;

  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}
