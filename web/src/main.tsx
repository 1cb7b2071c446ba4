import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { AuthSession } from "./api/authSession";
import { createPublicClient, refreshOver } from "./api/client";
import { TOKENS_KEY } from "./api/tokens";
import "./styles.css";

const publicClient = createPublicClient();
const session = new AuthSession({
  storage: localStorage,
  refresh: refreshOver(publicClient),
  locks: typeof navigator !== "undefined" && navigator.locks ? navigator.locks : null,
  // Without Web Locks (no secure context) refreshes take a localStorage lease; another
  // tab's storage change wakes a tab waiting for it.
  onStorage: (listener) => {
    window.addEventListener("storage", listener);
    return () => window.removeEventListener("storage", listener);
  },
});
// Another tab signed in, out, or rotated the tokens.
window.addEventListener("storage", (event) => {
  if (event.key === TOKENS_KEY || event.key === null) session.adoptStored(localStorage.getItem(TOKENS_KEY));
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App session={session} publicClient={publicClient} />
  </StrictMode>,
);
