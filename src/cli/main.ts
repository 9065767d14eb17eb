/**
 * The `nbprov` command line (bundled to `nbprov/cli/nbprov.cjs`): a table of subcommands.
 * Adding a subcommand is one entry in `commands`.
 */

import { NotebookNameError } from '../core/identity';
import { VERSION } from '../version';
import { type ICommandSpec } from './args';
import { checkCommand, checkSpec } from './check';
import { UsageError, UserError } from './errors';
import { exportCommand, exportSpec } from './export';
import { forgetCommand, forgetSpec } from './forget';
import { restoreCommand, restoreSpec } from './restore';
import { metricCommand, metricSpec, runsCommand, runsSpec } from './runs';

interface ICommand {
  spec: ICommandSpec;
  run: (args: string[]) => Promise<number>;
}

export const commands: Record<string, ICommand> = {
  export: { spec: exportSpec, run: args => exportCommand(args, VERSION) },
  restore: { spec: restoreSpec, run: restoreCommand },
  forget: { spec: forgetSpec, run: forgetCommand },
  runs: { spec: runsSpec, run: runsCommand },
  metric: { spec: metricSpec, run: metricCommand },
  check: { spec: checkSpec, run: checkCommand }
};

export function overview(): string {
  const width = Math.max(...Object.keys(commands).map(name => name.length));
  return [
    'usage: nbprov [--version] [--help] <command> [arguments]',
    '',
    'Provenance for machine-learning work in Jupyter notebooks.',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, { spec }]) => `  ${name.padEnd(width)}  ${spec.summary}`),
    '',
    "'nbprov <command> --help' shows a command's options."
  ].join('\n');
}

/** Runs the command line; returns the exit status (0 ok, 1 refused input, 2 bad command line). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(overview() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(overview() + '\n');
    return 2;
  }
  const command = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!command) {
    const what = name.startsWith('-') ? 'unknown option' : 'unknown command';
    process.stderr.write(`nbprov: ${what} ${JSON.stringify(name)}\n\n${overview()}\n`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`nbprov ${name}: ${error.message}\n${error.usage}\n'nbprov ${name} --help' for more\n`);
      return 2;
    }
    if (error instanceof UserError || error instanceof NotebookNameError) {
      process.stderr.write(`nbprov ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  // A reader that stops early (`nbprov --help | head -1`) closes the pipe: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      throw error;
    }
    process.exit(0);
  });
  main(process.argv.slice(2)).then(
    code => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`nbprov: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(70);
    }
  );
}
