/**
 * Argument parsing for the subcommands, on Node's own `util.parseArgs`: each subcommand declares its
 * options, positional arguments and help text; mistakes become a `UsageError` that names the wrong
 * option and carries the usage.
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { UsageError } from './errors';

export interface ICommandSpec {
  /** One line for the command overview. */
  summary: string;
  /** The full `--help` text, starting with the usage line. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Names of the positional arguments, all required, in order. */
  positionals: string[];
  /** Names of optional positional arguments, after the required ones. */
  optionalPositionals?: string[];
}

export interface IParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** The usage line: the first line of the help text. */
export function usageLine(spec: ICommandSpec): string {
  return spec.help.split('\n', 1)[0];
}

/** Parsed arguments, or 'help' when `--help`/`-h` was given (anywhere, so it always works). */
export function parseCommandArgs(spec: ICommandSpec, args: string[]): IParsedArgs | 'help' {
  let parsed: IParsedArgs;
  try {
    parsed = parseArgs({
      args,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    });
  } catch (error) {
    if (args.includes('--help') || args.includes('-h')) {
      return 'help';
    }
    throw new UsageError(parseErrorMessage(error), usageLine(spec));
  }
  if (parsed.values.help) {
    return 'help';
  }
  const expected = spec.positionals;
  const most = expected.length + (spec.optionalPositionals?.length ?? 0);
  if (parsed.positionals.length < expected.length || parsed.positionals.length > most) {
    const missing = expected.slice(parsed.positionals.length).map(name => `<${name}>`);
    const message =
      missing.length > 0 ? `missing ${missing.join(' ')}` : `unexpected argument ${JSON.stringify(parsed.positionals[most])}`;
    throw new UsageError(message, usageLine(spec));
  }
  return parsed;
}

/** Node's parse error, first sentence only (its hints about `--` are noise for these commands). */
function parseErrorMessage(error: unknown): string {
  // Some runtimes (jest's module sandbox) prefix the message with the error's name and code.
  const message = (error instanceof Error ? error.message : String(error)).replace(/^\w*Error \[ERR_\w+\]: /, '');
  const end = message.search(/\.\s/);
  return end === -1 ? message.replace(/\.$/, '') : message.slice(0, end);
}
