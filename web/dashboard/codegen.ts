// codegen.ts: GraphQL Code Generator's configuration. It reads the API's schema (the SDL
// files in graph/) and the operations the page's modules write with graphql(), and writes
// src/gql/: the operations' result and variable types, each operation as a typed document
// that carries its hash (which the page sends in place of the text), and
// persisted-documents.json, the trusted-documents manifest (hash → text) that the server
// lists the page's operations from. `npm run build` runs it
// first, and scripts/check-assets fails when what it writes is not what is committed.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../graph/*.graphqls',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  silent: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        // The page sends each operation by its SHA-256 hash, which the server looks up in
        // the manifest; the server takes sha256 hashes only.
        persistedDocuments: { mode: 'replaceDocumentWithHash', hashAlgorithm: 'sha256' },
      },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { Time: 'string', Upload: 'never' },
      },
    },
  },
};

export default config;
