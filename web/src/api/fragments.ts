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

/** A message with what a bubble shows: sender, reply quote, edit and delete state,
 *  reactions, the members it mentions, and whether the viewer blocked its sender. */
export const MessageFieldsFragment = graphql(`
  fragment MessageFields on Message {
    id
    seq
    body
    createdAt
    editedAt
    deletedAt
    clientMessageId
    senderBlocked
    sender {
      ...UserFields
    }
    reactions {
      emoji
      count
      reactedByViewer
    }
    mentions {
      id
      username
    }
    attachments {
      ...AttachmentFields
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
    unreadMentionCount
    mutedUntil
    viewerReadUpTo
    viewerRole
    members {
      role
      readUpTo
      user {
        ...UserFields
        blockedByViewer
      }
    }
    lastMessage {
      ...MessageFields
    }
  }
`);
