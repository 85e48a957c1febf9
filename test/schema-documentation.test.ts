import {
  buildClientSchema,
  type GraphQLSchema,
  getIntrospectionQuery,
  type IntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';

/** Federation's plumbing: served for the router, not part of the contract a client reads. */
const FEDERATION_TYPES = new Set(['_Any', '_Entity', '_Service', 'FieldSet', 'link__Import', 'link__Purpose']);
const FEDERATION_FIELDS = new Set(['Query._service', 'Query._entities']);

const CONTRACT_TYPES = [
  'AddCustomerQualificationInput',
  'AddCustomerQualificationPayload',
  'Customer',
  'CustomerConnection',
  'CustomerEdge',
  'DateTime',
  'EducationSegment',
  'Mutation',
  'PageInfo',
  'Qualification',
  'QualificationKind',
  'Query',
  'RelationshipToPartner',
  'VettingStatus',
];

/** Every schema element of the contract as "Type", "Type.field", "Type.field(arg)" or "Enum.VALUE", with its description. */
function documentedElements(schema: GraphQLSchema): Array<[string, string | null | undefined]> {
  const elements: Array<[string, string | null | undefined]> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type) || FEDERATION_TYPES.has(type.name)) continue;
    if (type.name.startsWith('link__') || type.name.startsWith('federation__')) continue;
    elements.push([type.name, type.description]);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        const name = `${type.name}.${field.name}`;
        if (FEDERATION_FIELDS.has(name)) continue;
        elements.push([name, field.description]);
        for (const arg of field.args) elements.push([`${name}(${arg.name})`, arg.description]);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        elements.push([`${type.name}.${field.name}`, field.description]);
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) elements.push([`${type.name}.${value.name}`, value.description]);
    }
  }
  return elements;
}

describe('schema documentation', () => {
  const { upstream, gw } = useGateway();
  let schema: GraphQLSchema;
  beforeAll(async () => {
    const response = await gw.query<IntrospectionQuery>(getIntrospectionQuery({ inputValueDeprecation: true }));
    if (!response.body.data) throw new Error(`introspection failed: ${JSON.stringify(response.body.errors)}`);
    schema = buildClientSchema(response.body.data);
  });

  it('serves every type of the contract', () => {
    const names = documentedElements(schema)
      .map(([name]) => name)
      .filter((name) => !name.includes('.'));
    expect(names).toEqual(expect.arrayContaining(CONTRACT_TYPES));
  });

  it('describes every type, field, argument, input field and enum value of the contract', () => {
    const elements = documentedElements(schema);
    // 10 types, their fields, arguments, input fields and enum values: the walk must not come back empty.
    expect(elements.length).toBeGreaterThan(40);
    const undocumented = elements.filter(([, description]) => !description?.trim()).map(([name]) => name);
    expect(undocumented).toEqual([]);
  });

  it('describes the arguments a frontend passes', () => {
    const descriptions = new Map(documentedElements(schema));
    expect(descriptions.get('Query.customer(id)')).toBeTruthy();
    expect(descriptions.get('Query.customers(ids)')).toBeTruthy();
    expect(descriptions.get('Mutation.addCustomerQualification(input)')).toBeTruthy();
    for (const arg of ['first', 'after', 'companyNameStartsWith']) {
      expect(descriptions.get(`Query.customerList(${arg})`)).toBeTruthy();
    }
  });

  it('reads the schema without any upstream call', async () => {
    // Sent here, after the upstream forgot earlier calls (beforeEach), so that the count is this request's.
    const response = await gw.query<IntrospectionQuery>(getIntrospectionQuery());
    expect(response.body.data?.__schema.queryType?.name).toBe('Query');
    expect(upstream.calls).toHaveLength(0);
  });
});
