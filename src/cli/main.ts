/**
 * The `nbprov` command line (bundled to `nbprov/cli/nbprov.cjs`): a table of subcommands.
 * Adding a subcommand is one entry in `commands`.
 */

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { UserError } from './errors';
import { EXPORT_USAGE, exportCommand } from './export';
import { RESTORE_USAGE, restoreCommand } from './restore';

/** Version of the Python package the bundle ships in (`nbprov/_version.py`, one source of truth). */
export function packageVersion(bundleDir: string = __dirname): string {
  try {
    const text = readFileSync(path.join(bundleDir, '..', '_version.py'), 'utf8');
    return /__version__\s*=\s*["']([^"']+)["']/.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

interface ICommand {
  usage: string;
  run: (args: string[]) => Promise<number>;
}

export const commands: Record<string, ICommand> = {
  export: { usage: EXPORT_USAGE, run: args => exportCommand(args, packageVersion()) },
  restore: { usage: RESTORE_USAGE, run: restoreCommand }
};

function usage(): string {
  return ['nbprov <command> [arguments]', ...Object.values(commands).map(c => '  ' + c.usage)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const command = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`nbprov: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`nbprov ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    code => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`nbprov: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(70);
    }
  );
}
