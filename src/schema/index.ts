// Imports every type file (in an order that registers them) and builds the
// federation subgraph schema and its SDL.

import { builder } from './builder';
import './qualification';
import './customer';
import './add-customer-qualification';

/** The executable schema: the contract of SPEC.md plus federation's _service and _entities. */
export const schema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.6',
  federationDirectives: ['@key'],
});
