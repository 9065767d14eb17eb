/** The package version; the Python widget model announces the same one (nbprov/_version.py). */
// Read at build time: package.json lies outside the TypeScript root.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = require('../package.json').version;
