// GraphQL documents the fault-injection tests share: one customer's qualifications, and one mutation.

export const QUALIFICATIONS = /* GraphQL */ `
  query ($id: ID!) {
    customer(id: $id) { id qualifications { qualification kind } }
  }
`;

export const ADD_STATE_OWNED = /* GraphQL */ `
  mutation ($id: ID!) {
    addCustomerQualification(input: { customerId: $id, qualification: STATE_OWNED_ENTITY }) {
      qualification { kind }
    }
  }
`;
