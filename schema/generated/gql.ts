/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AddCustomerQualification($input: AddCustomerQualificationInput!) {\n  addCustomerQualification(input: $input) {\n    qualification {\n      qualification\n      kind\n      vettingStatus\n      vettingCreatedDate\n    }\n    customer {\n      id\n      qualifications {\n        qualification\n        kind\n        vettingStatus\n      }\n    }\n  }\n}": typeof types.AddCustomerQualificationDocument,
    "mutation ConfirmCustomerAgreement($input: ConfirmCustomerAgreementInput!) {\n  confirmCustomerAgreement(input: $input) {\n    attestation {\n      dateAgreed\n      templateId\n      currentTemplate\n      agreementLink\n      primaryContact {\n        firstName\n        lastName\n        email\n        phoneNumber\n      }\n    }\n    customer {\n      id\n      mcaAcceptance {\n        accepted\n        directlySigned\n        attestations {\n          dateAgreed\n        }\n      }\n    }\n  }\n}": typeof types.ConfirmCustomerAgreementDocument,
    "query CustomerListPage($first: Int, $after: String, $companyNameStartsWith: String) {\n  customerList(\n    first: $first\n    after: $after\n    companyNameStartsWith: $companyNameStartsWith\n  ) {\n    edges {\n      cursor\n      node {\n        id\n        companyName\n        domain\n        relationshipToPartner\n        mcaDirectlySigned\n        qualifications {\n          qualification\n          kind\n          vettingStatus\n          vettingReason\n          vettingCreatedDate\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.CustomerListPageDocument,
    "query CustomerMcaAcceptance($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaAcceptance {\n      accepted\n      directlySigned\n      attestations {\n        dateAgreed\n        templateId\n        currentTemplate\n        agreementLink\n        primaryContact {\n          firstName\n          lastName\n          email\n          phoneNumber\n        }\n      }\n    }\n  }\n}": typeof types.CustomerMcaAcceptanceDocument,
    "query CustomerQualifications($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}": typeof types.CustomerQualificationsDocument,
    "query CustomerWithDeferredMca($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n    }\n    ... @defer(label: \"mca\") {\n      mcaDirectlySigned\n    }\n  }\n}": typeof types.CustomerWithDeferredMcaDocument,
    "query Customers($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaDirectlySigned\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}": typeof types.CustomersDocument,
};
const documents: Documents = {
    "mutation AddCustomerQualification($input: AddCustomerQualificationInput!) {\n  addCustomerQualification(input: $input) {\n    qualification {\n      qualification\n      kind\n      vettingStatus\n      vettingCreatedDate\n    }\n    customer {\n      id\n      qualifications {\n        qualification\n        kind\n        vettingStatus\n      }\n    }\n  }\n}": types.AddCustomerQualificationDocument,
    "mutation ConfirmCustomerAgreement($input: ConfirmCustomerAgreementInput!) {\n  confirmCustomerAgreement(input: $input) {\n    attestation {\n      dateAgreed\n      templateId\n      currentTemplate\n      agreementLink\n      primaryContact {\n        firstName\n        lastName\n        email\n        phoneNumber\n      }\n    }\n    customer {\n      id\n      mcaAcceptance {\n        accepted\n        directlySigned\n        attestations {\n          dateAgreed\n        }\n      }\n    }\n  }\n}": types.ConfirmCustomerAgreementDocument,
    "query CustomerListPage($first: Int, $after: String, $companyNameStartsWith: String) {\n  customerList(\n    first: $first\n    after: $after\n    companyNameStartsWith: $companyNameStartsWith\n  ) {\n    edges {\n      cursor\n      node {\n        id\n        companyName\n        domain\n        relationshipToPartner\n        mcaDirectlySigned\n        qualifications {\n          qualification\n          kind\n          vettingStatus\n          vettingReason\n          vettingCreatedDate\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.CustomerListPageDocument,
    "query CustomerMcaAcceptance($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaAcceptance {\n      accepted\n      directlySigned\n      attestations {\n        dateAgreed\n        templateId\n        currentTemplate\n        agreementLink\n        primaryContact {\n          firstName\n          lastName\n          email\n          phoneNumber\n        }\n      }\n    }\n  }\n}": types.CustomerMcaAcceptanceDocument,
    "query CustomerQualifications($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}": types.CustomerQualificationsDocument,
    "query CustomerWithDeferredMca($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n    }\n    ... @defer(label: \"mca\") {\n      mcaDirectlySigned\n    }\n  }\n}": types.CustomerWithDeferredMcaDocument,
    "query Customers($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaDirectlySigned\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}": types.CustomersDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AddCustomerQualification($input: AddCustomerQualificationInput!) {\n  addCustomerQualification(input: $input) {\n    qualification {\n      qualification\n      kind\n      vettingStatus\n      vettingCreatedDate\n    }\n    customer {\n      id\n      qualifications {\n        qualification\n        kind\n        vettingStatus\n      }\n    }\n  }\n}"): (typeof documents)["mutation AddCustomerQualification($input: AddCustomerQualificationInput!) {\n  addCustomerQualification(input: $input) {\n    qualification {\n      qualification\n      kind\n      vettingStatus\n      vettingCreatedDate\n    }\n    customer {\n      id\n      qualifications {\n        qualification\n        kind\n        vettingStatus\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ConfirmCustomerAgreement($input: ConfirmCustomerAgreementInput!) {\n  confirmCustomerAgreement(input: $input) {\n    attestation {\n      dateAgreed\n      templateId\n      currentTemplate\n      agreementLink\n      primaryContact {\n        firstName\n        lastName\n        email\n        phoneNumber\n      }\n    }\n    customer {\n      id\n      mcaAcceptance {\n        accepted\n        directlySigned\n        attestations {\n          dateAgreed\n        }\n      }\n    }\n  }\n}"): (typeof documents)["mutation ConfirmCustomerAgreement($input: ConfirmCustomerAgreementInput!) {\n  confirmCustomerAgreement(input: $input) {\n    attestation {\n      dateAgreed\n      templateId\n      currentTemplate\n      agreementLink\n      primaryContact {\n        firstName\n        lastName\n        email\n        phoneNumber\n      }\n    }\n    customer {\n      id\n      mcaAcceptance {\n        accepted\n        directlySigned\n        attestations {\n          dateAgreed\n        }\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerListPage($first: Int, $after: String, $companyNameStartsWith: String) {\n  customerList(\n    first: $first\n    after: $after\n    companyNameStartsWith: $companyNameStartsWith\n  ) {\n    edges {\n      cursor\n      node {\n        id\n        companyName\n        domain\n        relationshipToPartner\n        mcaDirectlySigned\n        qualifications {\n          qualification\n          kind\n          vettingStatus\n          vettingReason\n          vettingCreatedDate\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query CustomerListPage($first: Int, $after: String, $companyNameStartsWith: String) {\n  customerList(\n    first: $first\n    after: $after\n    companyNameStartsWith: $companyNameStartsWith\n  ) {\n    edges {\n      cursor\n      node {\n        id\n        companyName\n        domain\n        relationshipToPartner\n        mcaDirectlySigned\n        qualifications {\n          qualification\n          kind\n          vettingStatus\n          vettingReason\n          vettingCreatedDate\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerMcaAcceptance($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaAcceptance {\n      accepted\n      directlySigned\n      attestations {\n        dateAgreed\n        templateId\n        currentTemplate\n        agreementLink\n        primaryContact {\n          firstName\n          lastName\n          email\n          phoneNumber\n        }\n      }\n    }\n  }\n}"): (typeof documents)["query CustomerMcaAcceptance($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaAcceptance {\n      accepted\n      directlySigned\n      attestations {\n        dateAgreed\n        templateId\n        currentTemplate\n        agreementLink\n        primaryContact {\n          firstName\n          lastName\n          email\n          phoneNumber\n        }\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerQualifications($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}"): (typeof documents)["query CustomerQualifications($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerWithDeferredMca($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n    }\n    ... @defer(label: \"mca\") {\n      mcaDirectlySigned\n    }\n  }\n}"): (typeof documents)["query CustomerWithDeferredMca($id: ID!) {\n  customer(id: $id) {\n    id\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n    }\n    ... @defer(label: \"mca\") {\n      mcaDirectlySigned\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Customers($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaDirectlySigned\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}"): (typeof documents)["query Customers($ids: [ID!]!) {\n  customers(ids: $ids) {\n    id\n    mcaDirectlySigned\n    qualifications {\n      qualification\n      kind\n      vettingStatus\n      vettingReason\n      vettingCreatedDate\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;