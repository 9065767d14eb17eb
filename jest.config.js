// ESM-only packages (zarrita, numcodecs, vega) must be transformed for jest.
const esModules = ['zarrita', 'numcodecs', '@zarrita', 'vega', 'd3-', 'delaunator', 'robust-predicates', 'internmap', 'reference-spec-reader', 'fflate'].join('|');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.m?jsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules}))`]
};
