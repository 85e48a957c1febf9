// Imports every type file (in an order that registers them) and builds the
// federation subgraph schema and its SDL.

import type { GraphQLFieldResolver } from 'graphql';
import { BadUserInputError } from '../domain/errors';
import { builder } from './builder';
import './qualification';
import './customer';
import './mca-acceptance';
import './customer-list';
import './add-customer-qualification';
import './confirm-customer-agreement';
import './customer-base';
import './customer-changes';

/** The executable schema: the fixed contract plus federation's _service and _entities. */
export const schema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.6',
  federationDirectives: ['@key'],
});

isolateEntities();

/**
 * The stock _entities resolver throws for the whole list on the first unknown
 * __typename, which masks the field and leaves the rejections of entities
 * already started unhandled. Each representation is resolved on its own
 * instead, so a bad one fails only its own entity with BAD_USER_INPUT.
 */
function isolateEntities(): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const resolve = field?.resolve as GraphQLFieldResolver<unknown, unknown> | undefined;
  if (!field || !resolve) return;
  field.resolve = (root, args: { representations: readonly unknown[] }, context, info) =>
    args.representations.map((representation, index) => {
      const typename = (representation as { __typename?: unknown } | null)?.__typename;
      if (typename !== 'Customer') {
        return new BadUserInputError(
          `representations[${index}]: expected __typename "Customer", got ${JSON.stringify(typename) ?? 'none'}.`,
        );
      }
      try {
        return (resolve(root, { representations: [representation] }, context, info) as unknown[])[0];
      } catch (error) {
        return error;
      }
    });
}
