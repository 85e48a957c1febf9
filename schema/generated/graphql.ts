/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** A qualification to add to a customer. Only EDUCATION, GOVERNMENT_COMMUNITY_CLOUD and STATE_OWNED_ENTITY can be added; once added, a qualification cannot be changed or removed. */
export type AddCustomerQualificationInput = {
  /** The customer tenant id, a GUID. */
  customerId: string;
  /** Required with EDUCATION: K12 or HIGHER_EDUCATION. */
  educationSegment?: EducationSegment | null | undefined;
  /** EDUCATION, GOVERNMENT_COMMUNITY_CLOUD or STATE_OWNED_ENTITY; NONPROFIT and OTHER cannot be set. */
  qualification: QualificationKind;
  /** Required with GOVERNMENT_COMMUNITY_CLOUD: the code from the GCC validation. */
  validationCode?: string | null | undefined;
  /** Optional with EDUCATION: the institution's website, e.g. contoso.edu. */
  website?: string | null | undefined;
};

/** The customer's person who accepted the agreement. */
export type AgreementContactInput = {
  /** Email address, at most 254 characters. */
  email: string;
  /** First name, 1 to 100 characters. */
  firstName: string;
  /** Last name, 1 to 100 characters. */
  lastName: string;
  /** Phone number, 4 to 32 characters of digits, spaces and + - ( ). */
  phoneNumber?: string | null | undefined;
};

/** The partner's confirmation that a customer accepted the Microsoft Customer Agreement. */
export type ConfirmCustomerAgreementInput = {
  /** The customer tenant id, a GUID. */
  customerId: string;
  /** When the customer accepted: not in the future (5 minutes of clock leeway), not before 2019-03-01. */
  dateAgreed: string;
  /** The customer's person who accepted it. */
  primaryContact: AgreementContactInput;
};

/** Which kind of academic institution an Education qualification is for. */
export type EducationSegment =
  /** Colleges and universities (Partner Center: "HigherEducation"). */
  | 'HIGHER_EDUCATION'
  /** Primary and secondary schools (Partner Center: "K12"). */
  | 'K12';

/** What a customer qualifies as, in Partner Center terms. Partner Center adds new qualifications without notice: those arrive as OTHER, with the name in Qualification.qualification. */
export type QualificationKind =
  /** An academic institution (K-12 or higher education). Partner Center vets it; it can be added with addCustomerQualification and an educationSegment. */
  | 'EDUCATION'
  /** Eligible for Government Community Cloud (US public sector). It can be added with a validationCode from the GCC validation. */
  | 'GOVERNMENT_COMMUNITY_CLOUD'
  /** A nonprofit organisation. Granted by Microsoft's nonprofit programme; it cannot be added through this API. */
  | 'NONPROFIT'
  /** A qualification this gateway does not know yet; the raw name is in Qualification.qualification. */
  | 'OTHER'
  /** A state-owned entity. It carries no vetting status; it can be added with no further data. */
  | 'STATE_OWNED_ENTITY';

/** How the customer is related to the calling partner in Partner Center (the customer's relationshipToPartner). Partner Center adds values without notice: those arrive as UNKNOWN. */
export type RelationshipToPartner =
  /** The partner advises the customer without reselling (Partner Center: "advisor"). */
  | 'ADVISOR'
  /** The relationship is held for Microsoft support (Partner Center: "microsoft_support"). */
  | 'MICROSOFT_SUPPORT'
  /** No relationship (Partner Center: "none"). */
  | 'NONE'
  /** The partner resells to the customer (Partner Center: "reseller"); needed for mcaDirectlySigned and most customer operations. */
  | 'RESELLER'
  /** A syndication relationship (Partner Center: "syndication"). */
  | 'SYNDICATION'
  /** A relationship this gateway does not know yet; Partner Center adds new ones without notice. */
  | 'UNKNOWN';

/** Where Partner Center's vetting of a qualification stands. */
export type VettingStatus =
  /** Vetting is done and the customer holds the qualification. */
  | 'APPROVED'
  /** Partner Center refused the qualification; vettingReason says why (for example "Not an Academic Domain"). */
  | 'DENIED'
  /** Partner Center is still verifying the customer (for example its academic domain); the qualification is not yet granted. */
  | 'IN_REVIEW'
  /** A status this gateway does not know yet; Partner Center adds new ones without notice. */
  | 'UNKNOWN';

export type AddCustomerQualificationMutationVariables = Exact<{
  input: AddCustomerQualificationInput;
}>;


export type AddCustomerQualificationMutation = { addCustomerQualification: { qualification: { qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null, vettingCreatedDate: string | null }, customer: { id: string, qualifications: Array<{ qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null }> } | null } };

export type ConfirmCustomerAgreementMutationVariables = Exact<{
  input: ConfirmCustomerAgreementInput;
}>;


export type ConfirmCustomerAgreementMutation = { confirmCustomerAgreement: { attestation: { dateAgreed: string, templateId: string, currentTemplate: boolean, agreementLink: string | null, primaryContact: { firstName: string, lastName: string, email: string, phoneNumber: string | null } }, customer: { id: string, mcaAcceptance: { accepted: boolean, directlySigned: boolean, attestations: Array<{ dateAgreed: string }> } | null } | null } };

export type CustomerListPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  companyNameStartsWith?: string | null | undefined;
}>;


export type CustomerListPageQuery = { customerList: { edges: Array<{ cursor: string, node: { id: string, companyName: string | null, domain: string | null, relationshipToPartner: RelationshipToPartner | null, mcaDirectlySigned: boolean | null, qualifications: Array<{ qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null, vettingReason: string | null, vettingCreatedDate: string | null }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type CustomerMcaAcceptanceQueryVariables = Exact<{
  ids: Array<string> | string;
}>;


export type CustomerMcaAcceptanceQuery = { customers: Array<{ id: string, mcaAcceptance: { accepted: boolean, directlySigned: boolean, attestations: Array<{ dateAgreed: string, templateId: string, currentTemplate: boolean, agreementLink: string | null, primaryContact: { firstName: string, lastName: string, email: string, phoneNumber: string | null } }> } | null } | null> };

export type CustomerQualificationsQueryVariables = Exact<{
  id: string;
}>;


export type CustomerQualificationsQuery = { customer: { id: string, qualifications: Array<{ qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null, vettingReason: string | null, vettingCreatedDate: string | null }> } | null };

export type CustomerWithDeferredMcaQueryVariables = Exact<{
  id: string;
}>;


export type CustomerWithDeferredMcaQuery = { customer: { id: string, qualifications: Array<{ qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null }> } & ({ mcaDirectlySigned: boolean | null } | { mcaDirectlySigned?: never }) | null };

export type CustomersQueryVariables = Exact<{
  ids: Array<string> | string;
}>;


export type CustomersQuery = { customers: Array<{ id: string, mcaDirectlySigned: boolean | null, qualifications: Array<{ qualification: string, kind: QualificationKind, vettingStatus: VettingStatus | null, vettingReason: string | null, vettingCreatedDate: string | null }> } | null> };


export const AddCustomerQualificationDocument = {"__meta__":{"hash":"sha256:3b01c3d385cb77dc7f45acb25d6bc40caad62b5d6b20ef386ae97ceaac1d649f"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AddCustomerQualification"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"AddCustomerQualificationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"addCustomerQualification"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}}]}}]}}]}}]}}]} as unknown as DocumentNode<AddCustomerQualificationMutation, AddCustomerQualificationMutationVariables>;
export const ConfirmCustomerAgreementDocument = {"__meta__":{"hash":"sha256:637f09ce4aa02911bff967385c9abbe85652b9407a8564c53913bad145a5b0e8"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConfirmCustomerAgreement"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConfirmCustomerAgreementInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"confirmCustomerAgreement"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attestation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dateAgreed"}},{"kind":"Field","name":{"kind":"Name","value":"templateId"}},{"kind":"Field","name":{"kind":"Name","value":"currentTemplate"}},{"kind":"Field","name":{"kind":"Name","value":"agreementLink"}},{"kind":"Field","name":{"kind":"Name","value":"primaryContact"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"phoneNumber"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mcaAcceptance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"directlySigned"}},{"kind":"Field","name":{"kind":"Name","value":"attestations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dateAgreed"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConfirmCustomerAgreementMutation, ConfirmCustomerAgreementMutationVariables>;
export const CustomerListPageDocument = {"__meta__":{"hash":"sha256:77766c9b4b1dfe201b78c6edaef9c7dccd5af79f222a8ad88d9211c4acce3df6"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerListPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"companyNameStartsWith"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customerList"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"companyNameStartsWith"},"value":{"kind":"Variable","name":{"kind":"Name","value":"companyNameStartsWith"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"companyName"}},{"kind":"Field","name":{"kind":"Name","value":"domain"}},{"kind":"Field","name":{"kind":"Name","value":"relationshipToPartner"}},{"kind":"Field","name":{"kind":"Name","value":"mcaDirectlySigned"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingReason"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerListPageQuery, CustomerListPageQueryVariables>;
export const CustomerMcaAcceptanceDocument = {"__meta__":{"hash":"sha256:38a550c4d0b7d4d5dc34d5aafa940a6e3d5be28ac192ee57a9c21322daea3b0c"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerMcaAcceptance"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mcaAcceptance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"directlySigned"}},{"kind":"Field","name":{"kind":"Name","value":"attestations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dateAgreed"}},{"kind":"Field","name":{"kind":"Name","value":"templateId"}},{"kind":"Field","name":{"kind":"Name","value":"currentTemplate"}},{"kind":"Field","name":{"kind":"Name","value":"agreementLink"}},{"kind":"Field","name":{"kind":"Name","value":"primaryContact"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"phoneNumber"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<CustomerMcaAcceptanceQuery, CustomerMcaAcceptanceQueryVariables>;
export const CustomerQualificationsDocument = {"__meta__":{"hash":"sha256:e454773da1d512666bec40da1101471eeb446cee1eb3b7ef3542d16f22942a51"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerQualifications"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingReason"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerQualificationsQuery, CustomerQualificationsQueryVariables>;
export const CustomerWithDeferredMcaDocument = {"__meta__":{"hash":"sha256:f35476f8b203cde42dbf8d9b1eac3820af4e8f48a78dcde5084ad886387683a3"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerWithDeferredMca"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}}]}},{"kind":"InlineFragment","directives":[{"kind":"Directive","name":{"kind":"Name","value":"defer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"label"},"value":{"kind":"StringValue","value":"mca","block":false}}]}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"mcaDirectlySigned"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerWithDeferredMcaQuery, CustomerWithDeferredMcaQueryVariables>;
export const CustomersDocument = {"__meta__":{"hash":"sha256:30ae84ba5fad4b1cadd7ccea5041ca6904d77b211b00a2765292fd3b1420f20f"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Customers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mcaDirectlySigned"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingReason"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}}]}}]}}]} as unknown as DocumentNode<CustomersQuery, CustomersQueryVariables>;