import type { Client } from "@urql/core";
import { useId, useState, type FormEvent } from "react";
import type { AuthSession } from "../api/authSession";
import { errorMessage } from "../ui/errors";
import { LoginMutation, RegisterMutation } from "./operations";

/** Sign in, or create an account; the message says why a previous sign-in ended. */
export function SignInScreen(props: { session: AuthSession; client: Client; notice: string | null }) {
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingId = useId();
  const signUp = mode === "signup";

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = signUp
        ? await props.client
            .mutation(RegisterMutation, { input: { username, password, displayName } })
            .toPromise()
        : await props.client.mutation(LoginMutation, { input: { username, password } }).toPromise();
      const payload = result.data && ("register" in result.data ? result.data.register : result.data.login);
      if (payload) props.session.signIn(payload);
      else setError(errorMessage(result.error));
    } finally {
      setBusy(false);
    }
  }

  function switchMode() {
    setMode(signUp ? "signin" : "signup");
    setError(null);
  }

  return (
    <main className="signin">
      <form className="card signin-form" aria-labelledby={headingId} onSubmit={submit}>
        <p className="brand">messenger</p>
        <h1 id={headingId}>{signUp ? "Create an account" : "Sign in"}</h1>
        {props.notice && !error && <p className="notice" role="status">{props.notice}</p>}
        <label className="field">
          <span>Username</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            minLength={signUp ? 3 : 1}
            maxLength={32}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        {signUp && (
          <label className="field">
            <span>Display name</span>
            <input
              name="displayName"
              autoComplete="name"
              required
              maxLength={64}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </label>
        )}
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete={signUp ? "new-password" : "current-password"}
            required
            minLength={signUp ? 8 : 1}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {signUp && <p className="hint">At least 8 characters.</p>}
        <div role="alert" className="error">
          {error}
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {signUp ? "Create account" : "Sign in"}
        </button>
        <button type="button" className="link-button" onClick={switchMode}>
          {signUp ? "Sign in instead" : "Create an account"}
        </button>
      </form>
    </main>
  );
}
