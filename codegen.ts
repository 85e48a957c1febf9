// GraphQL Code Generator: writes schema/schema.graphql (sorted subgraph SDL,
// committed; CI fails on drift) from the Pothos schema, typed documents
// (client preset) for the operations in schema/operations/, and their
// persisted-documents manifest (schema/generated/persisted-documents.json,
// {"<sha256>": "<document>"}) for PERSISTED_DOCUMENTS.

import { printSubgraphSchema } from '@apollo/subgraph';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { lexicographicSortSchema } from 'graphql';
import { schema } from './src/schema/index';

const sdl = printSubgraphSchema(lexicographicSortSchema(schema));

const config: CodegenConfig = {
  schema: sdl,
  documents: ['schema/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'schema/schema.graphql': {
      plugins: ['schema-ast'],
      config: { includeDirectives: true, sort: true },
    },
    'schema/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      config: { enumsAsTypes: true, scalars: { DateTime: 'string', ID: 'string' }, useTypeImports: true },
    },
  },
};

export default config;
