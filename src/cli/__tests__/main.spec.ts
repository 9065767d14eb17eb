import { VERSION } from '../../version';
import { main } from '../main';

/** Runs the command line in-process and collects what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('nbprov command line', () => {
  it('prints the overview for --help and -h, listing every command', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await cli(flag);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^usage: nbprov \[--version\] \[--help\] <command>/);
      expect(result.stdout).toMatch(/^ {2}export +\S/m);
      expect(result.stdout).toMatch(/^ {2}restore {2}\S/m);
    }
  });

  it('prints the version of package.json', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('without a command, shows the overview on stderr and exits 2', async () => {
    const result = await cli();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^usage: nbprov/);
  });

  it.each([
    [['frobnicate'], /^nbprov: unknown command "frobnicate"\n/],
    [['--frobnicate'], /^nbprov: unknown option "--frobnicate"\n/]
  ])('refuses %j, naming it, with the overview', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^usage: nbprov /m);
  });

  it.each([
    ['export', /^usage: nbprov export \[--live-session ID\]\.\.\. \[--license LICENSE\] <notebook\.ipynb>\n/],
    ['restore', /^usage: nbprov restore --run RUN \[--repo PATH\] \[--notebook-only\] <prov\.json> <destination>\n/]
  ])('%s --help prints its usage and options, and runs nothing', async (name, usage) => {
    for (const argv of [
      [name, '--help'],
      [name, '-h'],
      [name, 'x.ipynb', '--help'],
      [name, '--bogus', '--help']
    ]) {
      const result = await cli(...argv);
      expect(result).toEqual({ code: 0, stdout: expect.stringMatching(usage), stderr: '' });
      expect(result.stdout).toMatch(/^ {2}-h, --help +show this help$/m);
    }
  });

  // The messages are Node's own (util.parseArgs), read as patterns: their wording varies a little by version.
  it.each([
    [['export', 'a.ipynb', '--bogus'], "Unknown option '--bogus'", 'export'],
    [['export', 'a.ipynb', '--live-session'], "Option '--live-session <value>' argument missing", 'export'],
    [['export', '--live-session', '--other', 'a.ipynb'], "Option '--live-session( <value>)?' argument is ambiguous", 'export'],
    [['export'], 'missing <notebook.ipynb>', 'export'],
    [['export', 'a.ipynb', 'b.ipynb'], 'unexpected argument "b.ipynb"', 'export'],
    [['restore', 'prov.json', 'out'], 'missing --run RUN', 'restore'],
    [['restore', 'prov.json', '--run'], "Option '--run <value>' argument missing", 'restore'],
    [['restore', '--run', 'r', 'prov.json'], 'missing <destination>', 'restore'],
    [['restore', '--run', 'r', 'prov.json', 'out', '--force'], "Unknown option '--force'", 'restore'],
    [['restore', '--run', 'r', '--notebook-only=yes', 'p', 'o'], "Option '--notebook-only' does not take an argument", 'restore']
  ])('refuses %j: names the mistake, shows the usage, exits 2', async (argv, message, name) => {
    const result = await cli(...argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const [first, usage, hint] = result.stderr.split('\n');
    expect(first).toMatch(new RegExp(`^nbprov ${name}: ${message.replace(/[.[\]]/g, '\\$&')}$`));
    expect(usage).toMatch(new RegExp(`^usage: nbprov ${name} `));
    expect(hint).toBe(`'nbprov ${name} --help' for more`);
  });

  it('reports refused input (not a usage mistake) as one line with exit 1', async () => {
    const result = await cli('export', '/nonexistent/folder/a.ipynb');
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'nbprov export: notebook not found: /nonexistent/folder/a.ipynb\n' });
  });
});
