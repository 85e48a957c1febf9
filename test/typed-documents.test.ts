import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery, parse, print, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  AddCustomerQualificationDocument,
  CustomerListPageDocument,
  CustomerQualificationsDocument,
  CustomersDocument,
  CustomerWithDeferredMcaDocument,
} from '../schema/generated/graphql';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { useSimulatorGateway } from './support/fixtures';
import type { GraphQLResponse } from './support/gateway';

const OPERATIONS_DIR = join(import.meta.dirname, '..', 'schema', 'operations');

describe('typed documents generated from schema/operations', () => {
  const { gw } = useSimulatorGateway();

  /** Sends a generated document; its result and variables are typed by the document itself. */
  function send<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Promise<GraphQLResponse<TData>> {
    return gw.query<TData>(print(document), variables);
  }

  it('validates every operation in schema/operations against the schema the gateway serves', async () => {
    const introspection = await gw.query<IntrospectionQuery>(getIntrospectionQuery());
    const schema = buildClientSchema(introspection.body.data as IntrospectionQuery);
    const files = readdirSync(OPERATIONS_DIR).filter((file) => file.endsWith('.graphql'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      const errors = validate(schema, parse(readFileSync(join(OPERATIONS_DIR, file), 'utf8')));
      expect({ file, errors: errors.map((error) => error.message) }).toEqual({ file, errors: [] });
    }
  });

  it('keeps the generated documents in step with the operation files', () => {
    const read = (file: string) => print(parse(readFileSync(join(OPERATIONS_DIR, file), 'utf8')));
    expect(print(CustomersDocument)).toBe(read('customers.graphql'));
    expect(print(CustomerQualificationsDocument)).toBe(read('customer-qualifications.graphql'));
    expect(print(AddCustomerQualificationDocument)).toBe(read('add-customer-qualification.graphql'));
    expect(print(CustomerWithDeferredMcaDocument)).toBe(read('customer-with-deferred-mca.graphql'));
    expect(print(CustomerListPageDocument)).toBe(read('customer-list-page.graphql'));
  });

  it('reads a list page, then the next one from its endCursor', async () => {
    const first = await send(CustomerListPageDocument, { first: 3 });
    const page = first.body.data?.customerList;
    expect(page?.edges.map((edge) => edge.node.companyName)).toEqual([
      'Bellows College',
      'Contoso High School',
      'Fabrikam Learning',
    ]);
    expect(page?.edges[0]?.node.qualifications.map((q) => q.kind)).toEqual(['EDUCATION']);
    expect(page?.pageInfo.hasNextPage).toBe(true);

    const next = await send(CustomerListPageDocument, { first: 3, after: page?.pageInfo.endCursor });
    expect(next.body.data?.customerList.edges.map((edge) => edge.node.companyName)).toEqual([
      'Woodgrove State Bank',
      'Relecloud Public Works',
      'Tailspin Toys',
    ]);
  });

  it('lists customers with MCA status and qualifications, failing only the field Partner Center refuses', async () => {
    const response = await send(CustomersDocument, {
      ids: [SAMPLE_CUSTOMERS.deniedEducation, SAMPLE_CUSTOMERS.noResellerRelationship],
    });
    const [denied, noRelationship] = response.body.data?.customers ?? [];
    expect(denied).toEqual({
      id: SAMPLE_CUSTOMERS.deniedEducation,
      mcaDirectlySigned: true,
      qualifications: [
        {
          qualification: 'Education',
          kind: 'EDUCATION',
          vettingStatus: 'DENIED',
          vettingReason: 'Not an Academic Domain',
          vettingCreatedDate: '2021-01-15T06:30:00.123Z',
        },
      ],
    });
    expect(noRelationship?.mcaDirectlySigned).toBeNull();
    expect(noRelationship?.qualifications.map((q) => q.vettingStatus)).toEqual(['APPROVED']);
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['FORBIDDEN', ['customers', 1, 'mcaDirectlySigned']],
    ]);
  });

  it('reads one customer with qualifications of a kind the gateway does not know', async () => {
    const response = await send(CustomerQualificationsDocument, { id: SAMPLE_CUSTOMERS.unknownQualification });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customer?.qualifications).toEqual([
      {
        qualification: 'SovereignCloud',
        kind: 'OTHER',
        vettingStatus: 'UNKNOWN',
        vettingReason: null,
        vettingCreatedDate: '2026-02-02T02:02:02.000Z',
      },
    ]);
  });

  it('adds a qualification and reads it back in the payload', async () => {
    const response = await send(AddCustomerQualificationDocument, {
      input: {
        customerId: SAMPLE_CUSTOMERS.noQualifications,
        qualification: 'GOVERNMENT_COMMUNITY_CLOUD',
        validationCode: '123456',
      },
    });
    expect(response.body.errors).toBeUndefined();
    const payload = response.body.data?.addCustomerQualification;
    expect(payload?.qualification).toMatchObject({ kind: 'GOVERNMENT_COMMUNITY_CLOUD', vettingStatus: 'IN_REVIEW' });
    expect(payload?.customer).toEqual({
      id: SAMPLE_CUSTOMERS.noQualifications,
      qualifications: [
        { qualification: 'GovernmentCommunityCloud', kind: 'GOVERNMENT_COMMUNITY_CLOUD', vettingStatus: 'IN_REVIEW' },
      ],
    });
    const again = await send(AddCustomerQualificationDocument, {
      input: {
        customerId: SAMPLE_CUSTOMERS.noQualifications,
        qualification: 'GOVERNMENT_COMMUNITY_CLOUD',
        validationCode: '123456',
      },
    });
    expect(again.body.errors?.map((error) => error.extensions?.code)).toEqual(['CONFLICT']);
  });
});
