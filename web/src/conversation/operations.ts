import { graphql } from "../gql";

/** A conversation with its newest page of messages. */
export const ConversationQuery = graphql(`
  query Conversation($id: ID!, $last: Int!) {
    session(id: $id) {
      ...SessionFields
      messages(last: $last) {
        nodes {
          ...MessageFields
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

/** The page of messages before `before`. */
export const OlderMessagesQuery = graphql(`
  query OlderMessages($id: ID!, $last: Int!, $before: String!) {
    session(id: $id) {
      id
      messages(last: $last, before: $before) {
        nodes {
          ...MessageFields
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

export const SendMessageMutation = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...MessageFields
    }
  }
`);

export const EditMessageMutation = graphql(`
  mutation EditMessage($id: ID!, $body: String!) {
    editMessage(id: $id, body: $body) {
      ...MessageFields
    }
  }
`);

export const DeleteMessageMutation = graphql(`
  mutation DeleteMessage($id: ID!) {
    deleteMessage(id: $id) {
      ...MessageFields
    }
  }
`);

export const MarkReadMutation = graphql(`
  mutation MarkRead($sessionId: ID!, $upTo: Int!) {
    markRead(sessionId: $sessionId, upTo: $upTo) {
      id
      viewerReadUpTo
      unreadCount
    }
  }
`);

export const TypingMutation = graphql(`
  mutation Typing($sessionId: ID!) {
    typing(sessionId: $sessionId)
  }
`);
