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


export const AddCustomerQualificationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AddCustomerQualification"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"AddCustomerQualificationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"addCustomerQualification"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}}]}}]}}]}}]}}]} as unknown as DocumentNode<AddCustomerQualificationMutation, AddCustomerQualificationMutationVariables>;
export const CustomerQualificationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerQualifications"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingReason"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerQualificationsQuery, CustomerQualificationsQueryVariables>;
export const CustomerWithDeferredMcaDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerWithDeferredMca"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}}]}},{"kind":"InlineFragment","directives":[{"kind":"Directive","name":{"kind":"Name","value":"defer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"label"},"value":{"kind":"StringValue","value":"mca","block":false}}]}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"mcaDirectlySigned"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerWithDeferredMcaQuery, CustomerWithDeferredMcaQueryVariables>;
export const CustomersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Customers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"mcaDirectlySigned"}},{"kind":"Field","name":{"kind":"Name","value":"qualifications"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"qualification"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"vettingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"vettingReason"}},{"kind":"Field","name":{"kind":"Name","value":"vettingCreatedDate"}}]}}]}}]}}]} as unknown as DocumentNode<CustomersQuery, CustomersQueryVariables>;