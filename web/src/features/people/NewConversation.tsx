import { useId, useMemo, useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { useLocation } from "wouter";
import { graphql } from "../../gql";
import { useAuth } from "../../auth/AuthContext";
import { Avatar } from "../../ui/Avatar";
import { errorMessage } from "../../ui/errors";
import { UserSearch, type FoundUser } from "../shared/UserSearch";
import { charCount, groupMembersError, normalize, TITLE_MAX, titleError } from "../shared/validation";
import { Alert } from "../shared/Alert";
import "../shared/shared.css";
import "./people.css";

const StartDirectMutation = graphql(`
  mutation StartDirect($userId: ID!) {
    startDirectSession(userId: $userId) {
      id
    }
  }
`);

const CreateGroupMutation = graphql(`
  mutation CreateGroup($input: CreateGroupInput!) {
    createGroupSession(input: $input) {
      id
    }
  }
`);

/** Route `/new`: find someone to message, or create a group. */
export function NewConversation(_props: {}) {
  const headingId = useId();
  return (
    <section className="f-page" aria-labelledby={headingId}>
      <h2 id={headingId}>New conversation</h2>
      <DirectPicker />
      <GroupForm />
    </section>
  );
}

/** "Find people" and a "Message <name>" button per result. */
function DirectPicker() {
  const headingId = useId();
  const { viewer } = useAuth();
  const [, navigate] = useLocation();
  const [state, start] = useMutation(StartDirectMutation);
  const [pendingId, setPendingId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hide = useMemo(() => new Set(viewer ? [viewer.id] : []), [viewer]);

  const message = async (user: FoundUser) => {
    setError(null);
    setPendingId(user.id);
    const result = await start({ userId: user.id });
    setPendingId(null);
    const id = result.data?.startDirectSession.id;
    if (id) navigate(`/c/${id}`);
    else setError(errorMessage(result.error));
  };

  return (
    <section className="f-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Message someone</h3>
      <UserSearch
        label="Find people"
        hideIds={hide}
        renderUser={(user) => (
          <button
            type="button"
            className="f-person-button"
            aria-label={`Message ${user.displayName}`}
            disabled={state.fetching}
            aria-busy={pendingId === user.id || undefined}
            onClick={() => void message(user)}
          >
            <Avatar name={user.displayName} url={user.avatar?.url} size={36} />
            <span className="f-person-name">
              <span className="f-strong">{user.displayName}</span>
              <span className="f-username">@{user.username}</span>
            </span>
            <span className="f-person-action" aria-hidden="true">
              {pendingId === user.id ? "Opening…" : "Message"}
            </span>
          </button>
        )}
      />
      <Alert message={error} />
    </section>
  );
}

/** A group: its title and members (picked by search, shown as removable chips). */
function GroupForm() {
  const id = useId();
  const { viewer } = useAuth();
  const [, navigate] = useLocation();
  const [state, create] = useMutation(CreateGroupMutation);
  const [title, setTitle] = useState("");
  const [members, setMembers] = useState<readonly FoundUser[]>([]);
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const hide = useMemo(() => new Set(viewer ? [viewer.id] : []), [viewer]);
  const selected = useMemo(() => new Set(members.map((m) => m.id)), [members]);

  const titleProblem = titleError(title);
  const membersProblem = groupMembersError(members.length);
  const showTitleProblem = submitted && titleProblem;

  const toggle = (user: FoundUser, on: boolean) =>
    setMembers((current) =>
      on
        ? current.some((m) => m.id === user.id)
          ? current
          : [...current, user]
        : current.filter((m) => m.id !== user.id),
    );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setServerError(null);
    if (titleProblem || membersProblem) {
      document.getElementById(`${id}-title`)?.focus();
      return;
    }
    const result = await create({
      input: { title: normalize(title), memberIds: members.map((m) => m.id) },
    });
    const sessionId = result.data?.createGroupSession.id;
    if (sessionId) navigate(`/c/${sessionId}`);
    else setServerError(errorMessage(result.error));
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`}>New group</h3>
      <form className="f-form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="f-field">
          <label htmlFor={`${id}-title`} className="f-label">
            Group title
          </label>
          <input
            id={`${id}-title`}
            value={title}
            autoComplete="off"
            aria-invalid={showTitleProblem ? true : undefined}
            aria-describedby={`${id}-title-hint${showTitleProblem ? ` ${id}-title-error` : ""}`}
            onChange={(e) => setTitle(e.target.value)}
          />
          <p id={`${id}-title-hint`} className="f-hint">
            1–{TITLE_MAX} characters ({charCount(normalize(title))}/{TITLE_MAX}).
          </p>
          {showTitleProblem && (
            <p id={`${id}-title-error`} role="alert" className="f-error">
              {titleProblem}
            </p>
          )}
        </div>

        <fieldset className="f-fieldset">
          <legend className="f-label">Members</legend>
          <UserSearch
            label="Add people"
            hideIds={hide}
            hint="Search, then tick the people to add. You join as the group's owner."
            renderUser={(user) => (
              <label className="f-person-check">
                <input
                  type="checkbox"
                  checked={selected.has(user.id)}
                  onChange={(e) => toggle(user, e.target.checked)}
                />
                <Avatar name={user.displayName} url={user.avatar?.url} size={32} />
                <span className="f-person-name">
                  <span className="f-strong">{user.displayName}</span>
                  <span className="f-username" aria-hidden="true">
                    @{user.username}
                  </span>
                </span>
              </label>
            )}
          />
          <p className="f-label" id={`${id}-chosen`}>
            {members.length === 0
              ? "No one added yet."
              : `${members.length} ${members.length === 1 ? "person" : "people"} added:`}
          </p>
          {members.length > 0 && (
            <ul className="f-chips" aria-labelledby={`${id}-chosen`}>
              {members.map((m) => (
                <li key={m.id} className="f-chip">
                  <Avatar name={m.displayName} url={m.avatar?.url} size={24} />
                  <span>{m.displayName}</span>
                  <button
                    type="button"
                    className="f-chip-remove"
                    aria-label={`Take ${m.displayName} out of the new group`}
                    onClick={() => toggle(m, false)}
                  >
                    <span aria-hidden="true">×</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <Alert message={membersProblem} />
        </fieldset>

        <Alert message={serverError} />
        <div className="f-actions">
          <button type="submit" className="primary" disabled={state.fetching}>
            {state.fetching ? "Creating…" : "Create group"}
          </button>
        </div>
      </form>
    </section>
  );
}
