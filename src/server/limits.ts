// Owns the operation limits checked before execution, so abuse is refused
// before any upstream call: document size, depth, aliases, tokens and
// directives (GraphQL Armor), how many customers one operation may touch, and
// the introspection switch.

import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config/config';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../schema/customer-list';

/**
 * The root fields that touch customers, and how many each one touches: one,
 * the length of a list argument, or the page size a paging field asks for.
 */
const CUSTOMER_ARGUMENTS: Record<string, { list: string } | { pageSize: string; default: number } | undefined> = {
  customer: undefined,
  customers: { list: 'ids' },
  _entities: { list: 'representations' },
  addCustomerQualification: undefined,
  customerList: { pageSize: 'first', default: DEFAULT_PAGE_SIZE },
};

export function createLimitPlugins(config: Config): Plugin[] {
  // A refused operation has no data, so GraphQL-over-HTTP wants a 4xx for application/graphql-response+json
  // (spec: true keeps 200 for application/json); yoga strips `http` before the error reaches the client.
  const REFUSED = { code: 'BAD_USER_INPUT', http: { spec: true, status: 400 } };
  const limitError = (message: string, extensions: Record<string, unknown> = {}) =>
    new GraphQLError(message, { extensions: { ...REFUSED, ...extensions } });
  const tagArmorError = (_context: unknown, error: GraphQLError) => {
    // Armor's errors carry no code (clients branch on extensions.code) and call every refusal a syntax error.
    Object.assign(error.extensions as Record<string, unknown>, REFUSED);
    error.message = error.message.replace(/^Syntax Error: /, 'Operation refused: ');
  };
  const plugins: Plugin[] = [
    {
      onParams({ params, setResult }) {
        // A query that is not a string is yoga's to refuse (400); measuring it here would throw.
        const size = typeof params.query === 'string' ? Buffer.byteLength(params.query) : 0;
        if (size > config.maxDocumentBytes) {
          setResult({
            errors: [limitError(`The document is ${size} bytes; at most ${config.maxDocumentBytes} are accepted.`)],
          });
        }
      },
    },
    EnvelopArmorPlugin({
      // Fragments are not levels: a router's `_entities { ... on Customer { ... } }` is as deep as the fields it selects.
      maxDepth: { n: config.maxDepth, ignoreIntrospection: true, flattenFragments: true, onReject: [tagArmorError] },
      maxAliases: { n: config.maxAliases, onReject: [tagArmorError] },
      maxTokens: { n: config.maxTokens, onReject: [tagArmorError] },
      maxDirectives: { n: 50, onReject: [tagArmorError] },
      // Customer fan-out is bounded exactly below; Armor's generic cost would double-count it.
      costLimit: { enabled: false },
      // Armor's blocker misses enum values and variables; hideSuggestions below covers every message.
      blockFieldSuggestion: { enabled: false },
    }) as Plugin,
    {
      onExecute({ args, setResultAndStopExecution }) {
        const touched = countCustomers(args.document, args.operationName, args.variableValues ?? {});
        if (touched > config.maxCustomersPerRequest) {
          setResultAndStopExecution({
            errors: [
              limitError(
                `This operation touches ${touched} customers; at most ${config.maxCustomersPerRequest} are allowed in one request. Split it into smaller requests.`,
                { maxCustomers: config.maxCustomersPerRequest },
              ),
            ],
          });
        }
      },
    },
  ];
  if (config.production) plugins.push(hideSuggestions());
  if (!config.introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
  }
  return plugins;
}

/** graphql-js hints: `Did you mean "a", "b" or "c"?`, `Did you mean the enum value "X"?`. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * In production, "Did you mean" hints are cut from every error, in validation
 * (fields, arguments, types, input fields, enum literals) and in execution
 * (enum values in variables), so the schema cannot be guessed name by name.
 */
function hideSuggestions(): Plugin {
  const hide = <E extends Error>(error: E): E => {
    if (error.message.includes('Did you mean'))
      error.message = `${error.message.replace(SUGGESTION, '')} [Suggestion hidden]`;
    return error;
  };
  return {
    onValidate:
      () =>
      ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(hide));
      },
    onExecute: () => ({
      onExecuteDone({ result }) {
        // Variable coercion fails before any incremental delivery, so a streamed result needs no rewrite.
        if (!(Symbol.asyncIterator in result)) result.errors?.forEach(hide);
      },
    }),
  };
}

/**
 * Counts customer references made by the operation's root fields: 1 for
 * `customer` and the mutation, the list length for `customers(ids)` and
 * `_entities(representations)`, `first` (default 50) for `customerList`,
 * through fragments and aliases. Duplicates
 * count: the bound is on work asked for, not on distinct customers.
 */
export function countCustomers(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
): number {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName ? operations.find((op) => op.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition.selectionSet] as const] : [],
    ),
  );
  const seenFragments = new Set<string>();
  const count = (selectionSet: SelectionSetNode): number =>
    selectionSet.selections.reduce((total, selection) => {
      if (selection.kind === Kind.INLINE_FRAGMENT) return total + count(selection.selectionSet);
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        // A fragment spread twice at the root selects the same fields once.
        if (!fragment || seenFragments.has(selection.name.value)) return total;
        seenFragments.add(selection.name.value);
        return total + count(fragment);
      }
      const name = selection.name.value;
      if (!(name in CUSTOMER_ARGUMENTS)) return total;
      const counted = CUSTOMER_ARGUMENTS[name];
      if (counted === undefined) return total + 1;
      if ('pageSize' in counted) {
        const argument = selection.arguments?.find((arg) => arg.name.value === counted.pageSize);
        return total + (argument ? pageSize(argument.value, variables, counted.default) : counted.default);
      }
      const argument = selection.arguments?.find((arg) => arg.name.value === counted.list);
      return total + (argument ? listLength(argument.value, variables) : 0);
    }, 0);
  return count(operation.selectionSet);
}

/** A page size as asked (a literal or a variable); the field refuses sizes out of range itself, so those count 0. */
function pageSize(value: ValueNode, variables: Readonly<Record<string, unknown>>, fallback: number): number {
  const size =
    value.kind === Kind.INT ? Number(value.value) : value.kind === Kind.VARIABLE ? variables[value.name.value] : null;
  if (size === undefined || size === null) return fallback;
  return typeof size === 'number' && Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : 0;
}

function listLength(value: ValueNode, variables: Readonly<Record<string, unknown>>): number {
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const bound = variables[value.name.value];
    return Array.isArray(bound) ? bound.length : bound === undefined || bound === null ? 0 : 1;
  }
  return 1;
}
