import type { Client } from "@urql/core";
import { lazy, Suspense, useSyncExternalStore, type ReactNode } from "react";
import { Link, Route, Switch, useLocation, useRoute } from "wouter";
import type { AuthSession } from "./api/authSession";
import { useAuth } from "./auth/AuthContext";
import { SignedIn } from "./auth/SignedIn";
import { SignInScreen } from "./auth/SignInScreen";
import { Conversation } from "./conversation/Conversation";
import { Inbox } from "./inbox/Inbox";
import { ConnectionStatus } from "./live/ConnectionStatus";
import { Avatar } from "./ui/Avatar";

// The features load on demand: the first load carries the inbox and conversation only.
const NewConversation = lazy(() =>
  import("./features/people/NewConversation").then((m) => ({ default: m.NewConversation })),
);
const SessionDetails = lazy(() =>
  import("./features/groups/SessionDetails").then((m) => ({ default: m.SessionDetails })),
);
const SearchMessages = lazy(() =>
  import("./features/search/SearchMessages").then((m) => ({ default: m.SearchMessages })),
);
const ProfileSettings = lazy(() =>
  import("./features/profile/ProfileSettings").then((m) => ({ default: m.ProfileSettings })),
);

/** The whole client: the sign-in screen, or the signed-in shell. */
export function App(props: { session: AuthSession; publicClient: Client }) {
  const { session, publicClient } = props;
  const tokens = useSyncExternalStore(session.subscribe, () => session.tokens);
  if (!tokens) {
    return <SignInScreen session={session} client={publicClient} notice={session.endMessage} />;
  }
  return (
    <SignedIn key={tokens.viewer.id} session={session} publicClient={publicClient} tokens={tokens}>
      <Shell />
    </SignedIn>
  );
}

function NavLink(props: { href: string; children: ReactNode; active: boolean }) {
  return (
    <Link href={props.href} aria-current={props.active ? "page" : undefined}>
      {props.children}
    </Link>
  );
}

/** Header with the main navigation and connection state; inbox and the routed pane. */
function Shell() {
  const { viewer } = useAuth();
  const [location] = useLocation();
  const [, conversation] = useRoute<{ id: string }>("/c/:id/*?");
  const home = location === "/";
  return (
    <div className="app">
      <header className="topbar">
        <h1 className="brand">messenger</h1>
        <nav aria-label="Main" className="main-nav">
          <NavLink href="/" active={home || !!conversation}>
            Chats
          </NavLink>
          <NavLink href="/new" active={location === "/new"}>
            New conversation
          </NavLink>
          <NavLink href="/search" active={location === "/search"}>
            Search
          </NavLink>
          <NavLink href="/profile" active={location === "/profile"}>
            <Avatar name={viewer?.displayName ?? "?"} url={viewer?.avatarUrl} size={24} />
            Profile
          </NavLink>
        </nav>
        <ConnectionStatus />
      </header>
      <div className={`layout ${home ? "show-list" : "show-detail"}`}>
        <aside className="list-pane">
          <Inbox activeId={conversation?.id ?? null} />
        </aside>
        <main className="detail-pane">
          <Suspense fallback={<p className="muted pad">Loading…</p>}>
            <Switch>
              <Route path="/">
                <p className="muted empty-detail">Choose a conversation, or start a new one.</p>
              </Route>
              <Route path="/c/:id/details">
                {(params) => <SessionDetails sessionId={params.id} />}
              </Route>
              <Route path="/c/:id">{(params) => <Conversation key={params.id} sessionId={params.id} />}</Route>
              <Route path="/new">
                <NewConversation />
              </Route>
              <Route path="/search">
                <SearchMessages />
              </Route>
              <Route path="/profile">
                <ProfileSettings />
              </Route>
              <Route>
                <p className="pad">
                  Nothing here. <Link href="/">Back to the conversations</Link>
                </p>
              </Route>
            </Switch>
          </Suspense>
        </main>
      </div>
    </div>
  );
}
