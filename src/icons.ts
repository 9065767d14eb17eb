import { LabIcon } from '@jupyterlab/ui-components';

/**
 * nbprov's icon: a small provenance graph (a cell feeding a run feeding a chart line), drawn with
 * JupyterLab's icon classes so it takes the theme's icon colour.
 */
export const provenanceIcon = new LabIcon({
  name: 'nbprov:provenance',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="2" y="3" width="7" height="5" rx="1"/>' +
    '<circle cx="18.5" cy="5.5" r="3"/>' +
    '<path d="M9 5h6.5v1.2H9z"/>' +
    '<path d="M2 20.5l5-6 4 3 5.5-7 5.5 5-1 1.1-4.4-4-5.4 6.9-4-3-4.1 5z"/>' +
    '</g></svg>'
});
