import { graphql } from "../gql";

/** A person as the client shows them: name and a small picture. */
export const UserFieldsFragment = graphql(`
  fragment UserFields on User {
    id
    username
    displayName
    avatar {
      url(size: 128)
    }
  }
`);

/** A message with what a bubble shows: sender, reply quote, edit and delete state. */
export const MessageFieldsFragment = graphql(`
  fragment MessageFields on Message {
    id
    seq
    body
    createdAt
    editedAt
    deletedAt
    clientMessageId
    sender {
      ...UserFields
    }
    replyTo {
      id
      seq
      body
      deletedAt
      sender {
        id
        displayName
      }
    }
  }
`);

/** A conversation as the inbox and the conversation header show it. */
export const SessionFieldsFragment = graphql(`
  fragment SessionFields on Session {
    id
    kind
    title
    lastActivityAt
    unreadCount
    viewerReadUpTo
    viewerRole
    members {
      role
      readUpTo
      user {
        ...UserFields
      }
    }
    lastMessage {
      ...MessageFields
    }
  }
`);
