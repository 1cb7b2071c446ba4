import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link } from "wouter";
import { useViewer } from "../auth/AuthContext";
import { sessionTitle } from "../inbox/inboxState";
import { useChat, useChatService } from "../live/ChatContext";
import { Composer } from "./Composer";
import { ConversationHeader } from "./ConversationHeader";
import type { MessageActions } from "./MessageItem";
import { MessageList } from "./MessageList";
import type { ReplyQuote } from "./messagesState";
import { TypingIndicator } from "./TypingIndicator";
import { useMarkRead } from "./useMarkRead";

/** One conversation: header, live history, typing line and the message box. */
export function Conversation(props: { sessionId: string }) {
  const { sessionId } = props;
  const viewer = useViewer();
  const service = useChatService();
  const session = useChat((s) => s.inbox.sessions[sessionId]);
  const conversation = useChat((s) => s.conversations[sessionId]);
  const [error, setError] = useState<string | null>(null);
  const [replyTo, setReplyTo] = useState<ReplyQuote | null>(null);
  /** True once the conversation was on screen (this component is keyed by its id). */
  const shown = useRef(false);

  useEffect(() => {
    setError(null);
    setReplyTo(null);
    void service.openConversation(sessionId).then(setError);
  }, [service, sessionId]);

  const messages = conversation?.messages;
  const newestSeq = messages && messages.length > 0 ? messages[messages.length - 1].seq : 0;
  const onBottomChange = useMarkRead(
    newestSeq,
    useCallback((upTo: number) => void service.markRead(sessionId, upTo), [service, sessionId]),
  );
  const onLoadOlder = useCallback(() => void service.loadOlder(sessionId), [service, sessionId]);

  const actions = useMemo<MessageActions>(
    () => ({
      reply: setReplyTo,
      edit: (message, body) => service.edit(sessionId, message.id, body),
      remove: (message) => service.remove(sessionId, message.id),
      react: (message, emoji) => service.toggleReaction(sessionId, message.id, emoji),
      retry: (pending) => service.retry(sessionId, pending.clientMessageId),
      dismiss: (pending) => service.dismiss(sessionId, pending.clientMessageId),
    }),
    [service, sessionId],
  );

  const members = session?.members;
  const mentionable = useMemo(() => (members ?? []).map((m) => m.user), [members]);

  if (!session || !conversation) {
    return (
      <section className="conversation" aria-label="Conversation">
        {shown.current && !error ? (
          // It was open, and the viewer left or was removed (here or on another device).
          <p role="alert" className="pad">
            You are no longer in this conversation. <Link href="/">All conversations</Link>
          </p>
        ) : error ? (
          <p role="alert" className="error pad">
            {error} <Link href="/">All conversations</Link>
          </p>
        ) : (
          <p className="muted pad">Loading messages…</p>
        )}
      </section>
    );
  }

  shown.current = true;
  const title = sessionTitle(session, viewer.id);
  return (
    <section className="conversation" aria-labelledby="conversation-title">
      <ConversationHeader session={session} title={title} viewerId={viewer.id} onError={setError} />
      {conversation.hasOlder && messages && messages.length > 0 && (
        <p className="visually-hidden">Scroll up to load older messages.</p>
      )}
      <MessageList
        conversation={conversation}
        session={session}
        viewerId={viewer.id}
        viewerName={viewer.displayName}
        viewerUsername={viewer.username}
        actions={actions}
        onLoadOlder={onLoadOlder}
        onBottomChange={onBottomChange}
      />
      {error && (
        <p role="alert" className="error pad">
          {error}
        </p>
      )}
      <TypingIndicator sessionId={sessionId} />
      <Composer
        replyTo={replyTo}
        focusKey={`${sessionId}:${replyTo?.id ?? ""}`}
        onCancelReply={() => setReplyTo(null)}
        onSend={(body, mentionIds, attachments) => {
          service.send(sessionId, body, replyTo, mentionIds, attachments);
          setReplyTo(null);
        }}
        onTyping={() => service.typing(sessionId)}
        members={mentionable}
        viewerId={viewer.id}
      />
    </section>
  );
}
