import type { Client } from '@temporalio/client';
import type { Io } from './output';
import type { OptionSpec, Parsed } from './args';

export interface CommandContext {
  io: Io;
  args: Parsed;
  /** The arguments after the command name, unparsed (passthrough commands). */
  rawArgv: string[];
  /** A Temporal client (connected on first use, closed by main). */
  client(): Promise<Client>;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage text of `cutover <name> --help`. */
  usage: string;
  options: OptionSpec;
  /** Hands the raw arguments to another CLI (check-migrations, schedule) instead of parsing them. */
  passthrough?: boolean;
  /** Returns the exit code; throws for errors (main maps them to exit codes). */
  run(ctx: CommandContext): Promise<number>;
}
