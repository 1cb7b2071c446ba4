import { createContext, useContext } from "react";

/** The signed-in user as the client shows it. */
export interface Viewer {
  id: string;
  username: string;
  displayName: string;
  /** URL of the user's avatar (128-pixel fit), if the user has one. */
  avatarUrl: string | null;
}

/** What components may ask of the sign-in. */
export interface Auth {
  viewer: Viewer | null;
  /** Ends this sign-in (the refresh token's) and returns to the sign-in screen. */
  signOut(): Promise<void>;
  /** Ends every sign-in of the account, on every device. */
  signOutEverywhere(): Promise<void>;
  /** Re-reads the viewer (after a profile or avatar change). */
  reloadViewer(): Promise<void>;
}

export const AuthContext = createContext<Auth | null>(null);

/** The sign-in; only inside the signed-in part of the app. */
export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthContext");
  return auth;
}

/** The signed-in viewer (inside the signed-in part, never null). */
export function useViewer(): Viewer {
  const viewer = useAuth().viewer;
  if (!viewer) throw new Error("useViewer while signed out");
  return viewer;
}
