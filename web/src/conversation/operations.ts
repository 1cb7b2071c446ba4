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
  mutation EditMessage($id: ID!, $body: String!, $mentionIds: [ID!]) {
    editMessage(id: $id, body: $body, mentionIds: $mentionIds) {
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
      unreadMentionCount
    }
  }
`);

export const TypingMutation = graphql(`
  mutation Typing($sessionId: ID!) {
    typing(sessionId: $sessionId)
  }
`);

/** Reacts with an emoji; the answer is the message with its reactions as they are now. */
export const AddReactionMutation = graphql(`
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageFields
    }
  }
`);

/** Takes a reaction back. */
export const RemoveReactionMutation = graphql(`
  mutation RemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageFields
    }
  }
`);

/** Mutes a conversation until `until`, or for good without it. */
export const MuteSessionMutation = graphql(`
  mutation MuteSession($sessionId: ID!, $until: DateTime) {
    muteSession(sessionId: $sessionId, until: $until) {
      id
      mutedUntil
    }
  }
`);

export const UnmuteSessionMutation = graphql(`
  mutation UnmuteSession($sessionId: ID!) {
    unmuteSession(sessionId: $sessionId) {
      id
      mutedUntil
    }
  }
`);

export const BlockUserMutation = graphql(`
  mutation BlockUser($userId: ID!) {
    blockUser(userId: $userId) {
      id
      blockedByViewer
    }
  }
`);

export const UnblockUserMutation = graphql(`
  mutation UnblockUser($userId: ID!) {
    unblockUser(userId: $userId) {
      id
      blockedByViewer
    }
  }
`);
