/**
 * RO-Crate 1.1 metadata for the export folder (`<stem>.prov/` is the crate root). Only
 * generated names become `@id`s of files; user strings (notebook name, artifact paths) are
 * property values of contextual entities.
 */

import { personsOf, UNKNOWN_PERSON } from './prov';
import { JOURNAL_FILE } from './records';
import type { ISeriesHead, ISession } from './session';

export const ROCRATE_METADATA = 'ro-crate-metadata.json';
export const DEFAULT_LICENSE = 'https://creativecommons.org/licenses/by/4.0/';
const SHA256 = /^[0-9a-f]{64}$/;
const SPDX_ID = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/;

/**
 * The crate's licence as the URI RO-Crate wants: an http(s) URL as given, an SPDX identifier
 * (`MIT`, `CC-BY-4.0`) as its spdx.org URL, nothing as CC BY 4.0. Anything else throws.
 */
export function licenseUri(license: string | undefined): string {
  const given = (license ?? '').trim();
  if (given === '') {
    return DEFAULT_LICENSE;
  }
  if (SPDX_ID.test(given)) {
    return `https://spdx.org/licenses/${given}`;
  }
  let url: URL | null = null;
  try {
    url = new URL(given);
  } catch {
    // not a URL either
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`not a licence URL or SPDX identifier: ${JSON.stringify(given)}`);
  }
  return url.href;
}
export interface ICrateInput {
  notebook: string;
  session: ISession<ISeriesHead>;
  journalFiles: string[];
  blobs: string[];
  nbprovVersion: string;
  /** ISO date-time of the export (the crate's `datePublished`). */
  datePublished: string;
  license: string;
}

type JsonLd = Record<string, unknown>;

export function buildCrateMetadata(input: ICrateInput): JsonLd {
  const parts: JsonLd[] = [];
  const entities: JsonLd[] = [];
  const file = (id: string, properties: JsonLd): void => {
    parts.push({ '@id': id });
    entities.push({ '@id': id, '@type': 'File', ...properties });
  };

  file('prov.json', {
    name: 'W3C PROV-JSON provenance of the notebook',
    encodingFormat: 'application/json',
    conformsTo: { '@id': 'https://www.w3.org/submissions/prov-json/' },
    about: { '@id': '#notebook' }
  });
  parts.push({ '@id': 'metrics.zarr/' });
  entities.push({
    '@id': 'metrics.zarr/',
    '@type': 'Dataset',
    name: 'Metric series (Zarr v3), one group per run, context and metric',
    description: 'Groups are named by generated ids; prov.json names each group in dcterms:identifier.',
    conformsTo: { '@id': 'https://zarr-specs.readthedocs.io/en/latest/v3/core/index.html' }
  });
  const journal = input.journalFiles.filter(name => JOURNAL_FILE.test(name)).sort();
  if (journal.length) {
    parts.push({ '@id': 'journal/' });
    entities.push({
      '@id': 'journal/',
      '@type': 'Dataset',
      name: 'nbprov journal (JSON lines written by the kernel and the browser)',
      hasPart: journal.map(name => ({ '@id': `journal/${name}` }))
    });
    for (const name of journal) {
      entities.push({ '@id': `journal/${name}`, '@type': 'File', encodingFormat: 'application/x-ndjson' });
    }
  }
  for (const blob of [...new Set(input.blobs)].filter(b => SHA256.test(b)).sort()) {
    file(`blobs/${blob}`, { name: `output blob ${blob.slice(0, 12)}`, sha256: blob });
  }

  const mentions: JsonLd[] = [{ '@id': '#notebook' }];
  entities.push({
    '@id': '#notebook',
    '@type': 'CreativeWork',
    name: input.notebook,
    encodingFormat: 'application/x-ipynb+json',
    description: 'The Jupyter notebook this crate describes; it lies next to the crate folder.'
  });
  for (const run of input.session.runs) {
    run.artifacts.forEach((artifact, index) => {
      const id = `#artifact-${run.id}-${index}`;
      mentions.push({ '@id': id });
      entities.push({
        '@id': id,
        '@type': 'CreativeWork',
        name: artifact.name || artifact.path,
        description: `${artifact.role} artifact of run ${run.name || run.id} at ${artifact.path}`,
        contentSize: String(artifact.size),
        sha256: artifact.sha256
      });
    });
  }
  entities.push({
    '@id': '#nbprov',
    '@type': 'SoftwareApplication',
    name: 'nbprov',
    version: input.nbprovVersion
  });
  entities.push({ '@id': input.license, '@type': 'CreativeWork', name: 'License of this crate' });

  const root: JsonLd = {
    '@id': './',
    '@type': 'Dataset',
    name: `Provenance of ${input.notebook}`,
    description: 'Development history, training runs and metrics recorded by nbprov.',
    datePublished: input.datePublished,
    license: { '@id': input.license },
    hasPart: parts,
    mentions
  };
  // The crate's authors are the PROV document's persons (`personsOf`), the unknown one left out.
  const authors = personsOf(input.session).filter(person => person !== UNKNOWN_PERSON);
  if (authors.length) {
    root.author = authors.map((_, i) => ({ '@id': `#user-${i}` }));
    authors.forEach((user, i) => entities.push({ '@id': `#user-${i}`, '@type': 'Person', name: user }));
  }
  return {
    '@context': 'https://w3id.org/ro/crate/1.1/context',
    '@graph': [
      {
        '@id': ROCRATE_METADATA,
        '@type': 'CreativeWork',
        conformsTo: { '@id': 'https://w3id.org/ro/crate/1.1' },
        about: { '@id': './' }
      },
      root,
      ...entities
    ]
  };
}
