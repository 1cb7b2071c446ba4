import { useChat } from "./ChatContext";
import type { ConnectionStatus as Status } from "./chatState";

const TEXT: Record<Status, string> = {
  connecting: "Connecting…",
  online: "",
  reconnecting: "Reconnecting…",
  offline: "Offline — trying to reconnect",
};

/** The live connection's state, announced politely; empty while online. */
export function ConnectionStatus() {
  const status = useChat((s) => s.connection);
  return (
    <p className={`connection connection-${status}`} role="status">
      {TEXT[status]}
    </p>
  );
}
