import { useCallback, useEffect, useLayoutEffect, useMemo, useRef } from "react";
import { VList, type VListHandle } from "virtua";
import type { InboxSession } from "../inbox/inboxState";
import { markAfterPaint } from "../ui/perf";
import { MessageItem, PendingItem, type MessageActions } from "./MessageItem";
import { needsOlderToFill, readReceipt, type ConversationState } from "./messagesState";
import { shownMessage } from "./reactions";

/** Distance from the top (px) at which the previous page is requested. */
const LOAD_OLDER_AT = 400;
/** Distance from the bottom (px) that still counts as "at the newest message". */
const BOTTOM_SLACK = 48;
/** When to check, after a page rendered, whether the list fills its viewport: next frame
 *  (virtua's estimated row heights) and once rows were measured. */
const FILL_CHECK_DELAYS_MS = [0, 300];

type Row =
  | { key: string; kind: "stored"; message: ConversationState["messages"][number] }
  | { key: string; kind: "pending"; pending: ConversationState["pending"][number] };

/**
 * The history as a virtual list (only the rows in view are in the page): it opens at the
 * newest message, stays there while new ones arrive if the reader is there, keeps its
 * place when older pages are prepended (`shift`), and asks for older pages near the top
 * or, while the history is too short to scroll, right after a page rendered.
 */
export function MessageList(props: {
  conversation: ConversationState;
  session: InboxSession;
  viewerId: string;
  viewerName: string;
  viewerUsername: string;
  actions: MessageActions;
  onLoadOlder(): void;
  /** Reports whether the newest message is in view. */
  onBottomChange(atBottom: boolean): void;
}) {
  const { conversation, session, viewerId } = props;
  const list = useRef<VListHandle>(null);
  const atBottom = useRef(true);
  const previousFirst = useRef<string | null>(null);
  const previousCount = useRef(0);

  // Messages as shown: with the viewer's reaction toggles on their way.
  const rows = useMemo<Row[]>(
    () => [
      ...conversation.messages.map((message) => ({
        key: message.id,
        kind: "stored" as const,
        message: shownMessage(message, conversation.reacting),
      })),
      ...conversation.pending.map((pending) => ({
        key: pending.clientMessageId,
        kind: "pending" as const,
        pending,
      })),
    ],
    [conversation.messages, conversation.pending, conversation.reacting],
  );

  // Rows were added above the first one (an older page): keep the reader's place.
  const firstKey = rows[0]?.key ?? null;
  const shift =
    previousFirst.current !== null &&
    firstKey !== previousFirst.current &&
    rows.some((r) => r.key === previousFirst.current);

  const { onBottomChange, onLoadOlder } = props;
  const checkPosition = useCallback(
    (offset: number) => {
      const handle = list.current;
      if (!handle) return;
      const bottom = offset + handle.viewportSize >= handle.scrollSize - BOTTOM_SLACK;
      if (bottom !== atBottom.current) {
        atBottom.current = bottom;
        onBottomChange(bottom);
      }
      if (offset < LOAD_OLDER_AT && conversation.hasOlder) onLoadOlder();
    },
    [conversation.hasOlder, onBottomChange, onLoadOlder],
  );

  // Mounted once the first page is in the store: time its first paint.
  useLayoutEffect(() => markAfterPaint("conversation-painted"), []);

  useLayoutEffect(() => {
    const handle = list.current;
    const grewAtEnd = rows.length > previousCount.current && !shift;
    const first = previousCount.current === 0 && rows.length > 0;
    const lastIsOwnPending = rows[rows.length - 1]?.kind === "pending";
    if (handle && rows.length > 0 && (first || (grewAtEnd && (atBottom.current || lastIsOwnPending)))) {
      handle.scrollToIndex(rows.length - 1, { align: "end" });
      atBottom.current = true;
      onBottomChange(true);
    }
    previousFirst.current = firstKey;
    previousCount.current = rows.length;
  });

  // A history that does not fill the list cannot be scrolled up to ask for older pages:
  // ask after each page until it scrolls or there is no more (loadOlder ignores repeats).
  const { messages, hasOlder } = conversation;
  useEffect(() => {
    if (!hasOlder) return;
    const check = () => {
      const handle = list.current;
      if (handle && needsOlderToFill({ hasOlder, messages }, handle)) onLoadOlder();
    };
    const frames: number[] = [];
    const timers = FILL_CHECK_DELAYS_MS.map((ms) =>
      setTimeout(() => frames.push(requestAnimationFrame(check)), ms),
    );
    return () => {
      timers.forEach(clearTimeout);
      frames.forEach(cancelAnimationFrame);
    };
  }, [messages, hasOlder, onLoadOlder]);

  return (
    <VList
      ref={list}
      className="messages"
      role="log"
      aria-label="Messages"
      tabIndex={0}
      data={rows}
      shift={shift}
      onScroll={checkPosition}
      style={{ display: "flex", flexDirection: "column" }}
    >
      {(row: Row) =>
        row.kind === "stored" ? (
          <div key={row.key} className="row">
            <MessageItem
              message={row.message}
              own={row.message.sender.id === viewerId}
              receipt={readReceipt(row.message, session, viewerId)}
              actions={props.actions}
              viewerUsername={props.viewerUsername}
              group={session.kind === "GROUP"}
            />
          </div>
        ) : (
          <div key={row.key} className="row">
            <PendingItem pending={row.pending} senderName={props.viewerName} actions={props.actions} />
          </div>
        )
      }
    </VList>
  );
}
