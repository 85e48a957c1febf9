// Owns which requests graphql-jit executes: a query whose every root field is
// customerBase, with no @defer or @stream, and variables that fit their types.
// Those are answered from the snapshot alone and are what a dashboard sends
// again and again; everything else (live fields, mutations, subscriptions,
// _entities, streamed answers) stays with graphql-js. Variables that do not
// fit stay with graphql-js too: graphql-jit reports them with its own error
// class, which error masking does not know (INTERNAL_SERVER_ERROR instead of
// graphql-js's refusal of the request).

import {
  type DocumentNode,
  type ExecutionArgs,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';

/** Per parsed document (yoga keeps them), so the walk is paid once per document, not per request. */
const verdicts = new WeakMap<DocumentNode, Map<string | undefined, OperationDefinitionNode | null>>();

export function answeredFromSnapshot({ schema, document, operationName, variableValues }: ExecutionArgs): boolean {
  let byName = verdicts.get(document);
  if (byName === undefined) {
    byName = new Map();
    verdicts.set(document, byName);
  }
  const name = operationName ?? undefined;
  let operation = byName.get(name);
  if (operation === undefined) {
    operation = judge(document, name);
    byName.set(name, operation);
  }
  if (operation === null) return false;
  const definitions = operation.variableDefinitions ?? [];
  return definitions.length === 0 || !('errors' in getVariableValues(schema, definitions, variableValues ?? {}));
}

/** The operation when graphql-jit may run it, else null. */
function judge(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode | null {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  const operation =
    operationName === undefined
      ? operations.length === 1
        ? operations[0]
        : undefined
      : operations.find((candidate) => candidate.name?.value === operationName);
  if (operation?.operation !== 'query') return null;
  const rootsAreCustomerBase = operation.selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && selection.name.value === 'customerBase',
  );
  if (!rootsAreCustomerBase) return null;
  let streamed = false;
  visit(document, {
    Directive(directive) {
      if (directive.name.value === 'defer' || directive.name.value === 'stream') streamed = true;
    },
  });
  return streamed ? null : operation;
}
