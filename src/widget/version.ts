/** Module name and version the Python `RunsWidget` names; the version is the npm package's. */
const packageJson = require('../../package.json') as { version: string };

export const MODULE_NAME = 'nbprov';
export const MODULE_VERSION = packageJson.version;
