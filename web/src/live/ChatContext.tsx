import { createContext, useContext, useSyncExternalStore, type ReactNode } from "react";
import type { ChatService } from "./chatService";
import type { ChatState } from "./chatState";

const ChatContext = createContext<ChatService | null>(null);

/** Makes the signed-in viewer's chat available to the screens below. */
export function ChatProvider(props: { service: ChatService; children: ReactNode }) {
  return <ChatContext.Provider value={props.service}>{props.children}</ChatContext.Provider>;
}

/** The chat's actions (open, send, read…). */
export function useChatService(): ChatService {
  const service = useContext(ChatContext);
  if (!service) throw new Error("useChatService outside ChatProvider");
  return service;
}

/** A slice of the chat state; `select` must return a part of the state as it is (no new
 *  objects), so that a component re-renders only when its part changed. */
export function useChat<T>(select: (state: ChatState) => T): T {
  const { store } = useChatService();
  return useSyncExternalStore(store.subscribe, () => select(store.get()));
}
