import { graphql } from "../gql";

/** One page of the inbox: conversations with members, last message and unread count. */
export const InboxQuery = graphql(`
  query Inbox($first: Int!, $after: String) {
    sessions(first: $first, after: $after) {
      edges {
        node {
          ...SessionFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** One conversation's inbox entry (one the inbox did not hold yet). */
export const SessionQuery = graphql(`
  query SessionById($id: ID!) {
    session(id: $id) {
      ...SessionFields
    }
  }
`);
