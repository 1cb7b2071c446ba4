import type { Client } from "@urql/core";
import { useEffect, useMemo, type ReactNode } from "react";
import { Provider } from "urql";
import type { AuthSession } from "../api/authSession";
import { createApiClient } from "../api/client";
import type { StoredTokens } from "../api/tokens";
import { ChatProvider } from "../live/ChatContext";
import { ChatService } from "../live/chatService";
import { storageCursor } from "../live/cursorStore";
import { socketSource } from "../live/socketSource";
import { errorCode } from "../ui/errors";
import { AuthContext, type Auth } from "./AuthContext";
import { LogoutEverywhereMutation, LogoutMutation, MeQuery } from "./operations";

/**
 * The signed-in part of the app: the authenticated urql client (Provider), the sign-in
 * (AuthContext) and the chat (event stream and store), made once per sign-in.
 */
export function SignedIn(props: {
  session: AuthSession;
  publicClient: Client;
  tokens: StoredTokens;
  children: ReactNode;
}) {
  const { session, publicClient, tokens } = props;
  const viewerId = tokens.viewer.id;
  // Every token refresh stores a new copy of the viewer: keep the same object while it
  // says the same, so that a refresh does not re-render everything that reads the sign-in.
  const { username, displayName, avatarUrl } = tokens.viewer;
  const viewer = useMemo(
    () => ({ id: viewerId, username, displayName, avatarUrl }),
    [viewerId, username, displayName, avatarUrl],
  );
  const client = useMemo(() => createApiClient(session), [session]);
  const cursor = useMemo(() => storageCursor(sessionStorage, viewerId), [viewerId]);
  const service = useMemo(
    () => new ChatService(client, viewerId, socketSource(session), cursor),
    [client, viewerId, session, cursor],
  );

  useEffect(() => {
    service.start();
    return () => {
      service.stop();
      // Signed out: the next sign-in starts from fresh queries, not an old cursor.
      if (!session.tokens) cursor.clear();
    };
  }, [service, session, cursor]);

  const auth = useMemo<Auth>(
    () => ({
      viewer,
      async signOut() {
        const current = session.tokens;
        if (current) {
          await publicClient
            .mutation(LogoutMutation, { refreshToken: current.refreshToken })
            .toPromise();
        }
        session.end(null);
      },
      async signOutEverywhere() {
        const result = await client.mutation(LogoutEverywhereMutation, {}).toPromise();
        // Not done (offline, server down): say so rather than leave the other devices
        // signed in while this one looks signed out. An ended sign-in is signed out anyway.
        if (result.error && errorCode(result.error) !== "UNAUTHENTICATED") throw result.error;
        session.end(null);
      },
      async reloadViewer() {
        const result = await client
          .query(MeQuery, {}, { requestPolicy: "network-only" })
          .toPromise();
        const me = result.data?.me;
        if (me) {
          session.setViewer({
            id: me.id,
            username: me.username,
            displayName: me.displayName,
            avatarUrl: me.avatar?.url ?? null,
          });
        }
      },
    }),
    [viewer, session, publicClient, client],
  );

  return (
    <AuthContext.Provider value={auth}>
      <Provider value={client}>
        <ChatProvider service={service}>{props.children}</ChatProvider>
      </Provider>
    </AuthContext.Provider>
  );
}
