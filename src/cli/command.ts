/** What every `keyway` command provides to the dispatcher (`main.ts`), and what it gets from it. */

/** Exit codes of every command, listed in `keyway --help`. */
export const EXIT = {
  ok: 0,
  /** A scenario expectation failed (for `run`, later). */
  expectationFailed: 1,
  /** Unknown command or option, missing or invalid value: one line on stderr. */
  badInput: 2,
  /** Anything else that went wrong at run time (a worker crashed, an I/O error). */
  failure: 3,
} as const;

/** The process edges a command may touch, passed in rather than read from globals. */
export interface CommandContext {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** The wall clock, in ms since the Unix epoch. */
  readonly now: () => number;
}

export interface Command {
  readonly name: string;
  /** One line for `keyway --help`. */
  readonly summary: string;
  /** The full text of `keyway <name> --help`: usage, options, examples. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[], context: CommandContext): Promise<number>;
}
