// ESM-only packages (zarrita, numcodecs, vega and vega-embed's, JupyterLab's) must be transformed for jest.
const esModules = [
  '@jupyterlab',
  'zarrita',
  'numcodecs',
  '@zarrita',
  'vega',
  'json-stringify-pretty-compact',
  'd3-',
  'delaunator',
  'robust-predicates',
  'internmap',
  'reference-spec-reader',
  'fflate'
].join('|');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.m?jsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules}))`],
  // zarrita, @zarrita/storage and numcodecs export only an "import" condition, which jest's
  // CommonJS resolver does not take: point it at their ESM entry files (transformed above).
  moduleNameMapper: {
    '^zarrita$': '<rootDir>/node_modules/zarrita/dist/src/index.js',
    '^@zarrita/storage$': '<rootDir>/node_modules/@zarrita/storage/dist/src/index.js',
    '^@zarrita/storage/(.*)$': '<rootDir>/node_modules/@zarrita/storage/dist/src/$1.js',
    '^numcodecs$': '<rootDir>/node_modules/numcodecs/dist/index.js',
    '^numcodecs/(.*)$': '<rootDir>/node_modules/numcodecs/dist/$1.js'
  }
};
