/** Module name and version the Python `RunsWidget` names; the version is the npm package's. */
export { VERSION as MODULE_VERSION } from '../version';

export const MODULE_NAME = 'nbprov';
