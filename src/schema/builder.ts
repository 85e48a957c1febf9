// Owns the one Pothos SchemaBuilder. Type definitions live in the files beside it.

import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import type { Context } from '../request/context';

export const builder = new SchemaBuilder<{
  Context: Context;
  // Fields are non-null unless they say otherwise, so the SDL matches the fixed contract (schema/schema.graphql).
  DefaultFieldNullability: false;
  Scalars: {
    // Output: a Date, or a string already written as the scalar writes it (see isoOf in qualification.ts).
    DateTime: { Input: Date; Output: Date | string };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [DirectivesPlugin, FederationPlugin],
  defaultFieldNullability: false,
});
