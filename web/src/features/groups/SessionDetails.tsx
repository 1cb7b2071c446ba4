import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { ConfirmInline, useConfirm } from "../../ui/ConfirmInline";
import { useMutation, useQuery } from "urql";
import { Link, useLocation } from "wouter";
import { useAuth } from "../../auth/AuthContext";
import { graphql } from "../../gql";
import type { MemberRole, SessionDetailsQuery } from "../../gql/graphql";
import { useChat } from "../../live/ChatContext";
import { Avatar } from "../../ui/Avatar";
import { errorCode, errorMessage } from "../../ui/errors";
import { dateLabel } from "../shared/format";
import { UserSearch } from "../shared/UserSearch";
import { normalize, TITLE_MAX, titleError } from "../shared/validation";
import { Alert } from "../shared/Alert";
import {
  canChangeRole,
  canLeave,
  canManage,
  canRemove,
  leaveWarning,
  ROLES,
  roleLabel,
} from "./permissions";
import "../shared/shared.css";
import "./groups.css";

const SessionDetailsQueryDocument = graphql(`
  query SessionDetails($id: ID!) {
    session(id: $id) {
      id
      kind
      title
      createdAt
      viewerRole
      members {
        role
        joinedAt
        user {
          id
          username
          displayName
          location
          createdAt
          avatar {
            url(size: 256)
          }
        }
      }
    }
  }
`);

const RenameGroupMutation = graphql(`
  mutation RenameGroup($sessionId: ID!, $title: String!) {
    renameSession(sessionId: $sessionId, title: $title) {
      id
      title
    }
  }
`);

const AddGroupMembersMutation = graphql(`
  mutation AddGroupMembers($sessionId: ID!, $userIds: [ID!]!) {
    addSessionMembers(sessionId: $sessionId, userIds: $userIds) {
      id
    }
  }
`);

const RemoveGroupMemberMutation = graphql(`
  mutation RemoveGroupMember($sessionId: ID!, $userId: ID!) {
    removeSessionMember(sessionId: $sessionId, userId: $userId) {
      id
    }
  }
`);

const SetGroupMemberRoleMutation = graphql(`
  mutation SetGroupMemberRole($sessionId: ID!, $userId: ID!, $role: MemberRole!) {
    setSessionMemberRole(sessionId: $sessionId, userId: $userId, role: $role) {
      id
    }
  }
`);

const LeaveGroupMutation = graphql(`
  mutation LeaveGroup($sessionId: ID!) {
    leaveSession(sessionId: $sessionId)
  }
`);

type Details = SessionDetailsQuery["session"];
type Member = Details["members"][number];

/**
 * A signature of what the live event stream tells about this session (title, roles,
 * members): when it changes, the details are read again.
 */
function useLiveSignature(sessionId: string): string {
  return useChat((s) => {
    const session = s.inbox.sessions[sessionId];
    if (!session) return "";
    const members = session.members.map((m) => `${m.user.id}:${m.role}`).join(",");
    return `${session.title ?? ""}|${session.viewerRole}|${members}`;
  });
}

/** Route `/c/:id/details`: the members of a conversation and what the viewer may change. */
export function SessionDetails(props: { sessionId: string }) {
  const { sessionId } = props;
  const [result, reexecute] = useQuery({
    query: SessionDetailsQueryDocument,
    variables: { id: sessionId },
    requestPolicy: "cache-and-network",
  });
  const refetch = () => reexecute({ requestPolicy: "network-only" });

  // Live changes (someone added, removed, promoted, the group renamed): read again.
  const signature = useLiveSignature(sessionId);
  const seen = useRef(signature);
  useEffect(() => {
    if (seen.current === signature) return;
    seen.current = signature;
    reexecute({ requestPolicy: "network-only" });
  }, [signature, reexecute]);

  const { data, error, fetching } = result;
  if (error && errorCode(error) === "NOT_FOUND") {
    return (
      <section className="f-page" aria-label="Conversation details">
        <h2>Conversation not available</h2>
        <p role="alert" className="f-error">
          This conversation is not available to you: you may have been removed from the group or
          left it, or it does not exist.
        </p>
        <p>
          <Link href="/">Back to your conversations</Link>
        </p>
      </section>
    );
  }
  if (!data) {
    return (
      <section className="f-page" aria-label="Conversation details">
        {error ? (
          <>
            <p role="alert" className="f-error">
              {errorMessage(error)}
            </p>
            <div className="f-actions">
              <button type="button" onClick={refetch}>
                Try again
              </button>
            </div>
          </>
        ) : (
          <p className="f-muted" aria-live="polite">
            {fetching ? "Loading details…" : ""}
          </p>
        )}
      </section>
    );
  }
  return <DetailsView session={data.session} refetch={refetch} />;
}

function DetailsView(props: { session: Details; refetch: () => void }) {
  const { session, refetch } = props;
  const { viewer } = useAuth();
  const viewerId = viewer?.id ?? "";
  const headingId = useId();
  const others = session.members.filter((m) => m.user.id !== viewerId);
  const title =
    session.kind === "GROUP"
      ? (session.title ?? "Group")
      : (others[0]?.user.displayName ?? "Direct conversation");

  return (
    <section className="f-page" aria-labelledby={headingId}>
      <div className="f-details-head">
        <Link href={`/c/${session.id}`} className="f-back">
          <span aria-hidden="true">← </span>Back to the conversation
        </Link>
        <h2 id={headingId}>{title}</h2>
        <p className="f-muted f-subtitle">
          {session.kind === "GROUP"
            ? `Group · ${session.members.length} ${session.members.length === 1 ? "member" : "members"} · created ${dateLabel(session.createdAt)}`
            : "Direct conversation"}
        </p>
      </div>

      {session.kind === "DIRECT" ? (
        <>
          {others[0] && <Profile member={others[0]} />}
          <MemberList session={session} viewerId={viewerId} refetch={refetch} />
        </>
      ) : (
        <>
          {canManage(session.kind, session.viewerRole) && (
            <RenameForm sessionId={session.id} current={session.title ?? ""} refetch={refetch} />
          )}
          <MemberList session={session} viewerId={viewerId} refetch={refetch} />
          {canManage(session.kind, session.viewerRole) && (
            <AddMembers session={session} refetch={refetch} />
          )}
          {canLeave(session.kind) && <LeaveGroup session={session} viewerId={viewerId} />}
        </>
      )}
    </section>
  );
}

/** The other person of a direct conversation. */
function Profile(props: { member: Member }) {
  const { user } = props.member;
  const id = useId();
  return (
    <section className="f-section f-profile-card" aria-labelledby={id}>
      <Avatar name={user.displayName} url={user.avatar?.url} size={96} />
      <div className="f-profile-text">
        <h3 id={id}>{user.displayName}</h3>
        <p className="f-username">@{user.username}</p>
        {user.location && <p>{user.location}</p>}
        <p className="f-muted">
          Member since <time dateTime={user.createdAt}>{dateLabel(user.createdAt)}</time>
        </p>
      </div>
    </section>
  );
}

function RenameForm(props: { sessionId: string; current: string; refetch: () => void }) {
  const id = useId();
  const [title, setTitle] = useState(props.current);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [state, rename] = useMutation(RenameGroupMutation);

  // A rename elsewhere shows here unless the person is editing.
  const [base, setBase] = useState(props.current);
  if (base !== props.current) {
    setBase(props.current);
    if (title === base) setTitle(props.current);
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    const invalid = titleError(title);
    if (invalid) {
      setProblem(invalid);
      return;
    }
    setProblem(null);
    const result = await rename({ sessionId: props.sessionId, title: normalize(title) });
    if (result.error) setProblem(errorMessage(result.error));
    else {
      setDone(true);
      props.refetch();
    }
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Title</h3>
      <form className="f-form" onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor={`${id}-title`} className="f-label">
          Group title
        </label>
        <div className="f-row">
          <input
            id={`${id}-title`}
            value={title}
            autoComplete="off"
            aria-invalid={problem ? true : undefined}
            aria-describedby={`${id}-hint`}
            onChange={(e) => {
              setTitle(e.target.value);
              setDone(false);
            }}
          />
          <button type="submit" disabled={state.fetching}>
            {state.fetching ? "Renaming…" : "Rename"}
          </button>
        </div>
        <p id={`${id}-hint`} className="f-hint">
          1–{TITLE_MAX} characters.
        </p>
        <Alert message={problem} />
        {done && (
          <p role="status" className="f-ok">
            Renamed.
          </p>
        )}
      </form>
    </section>
  );
}

function MemberList(props: { session: Details; viewerId: string; refetch: () => void }) {
  const { session, viewerId, refetch } = props;
  const id = useId();
  const [removeState, remove] = useMutation(RemoveGroupMemberMutation);
  const [roleState, setRole] = useMutation(SetGroupMemberRoleMutation);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // The role just chosen shows until the member's role as read from the server changes.
  const [chosenRoles, setChosenRoles] = useState<
    Readonly<Record<string, { role: MemberRole; from: MemberRole }>>
  >({});
  const shownRole = (member: Member) => {
    const chosen = chosenRoles[member.user.id];
    return chosen && chosen.from === member.role ? chosen.role : member.role;
  };
  const busy = removeState.fetching || roleState.fetching;

  const onRemove = async (member: Member) => {
    setError(null);
    setNotice(null);
    const result = await remove({ sessionId: session.id, userId: member.user.id });
    if (result.error) setError(errorMessage(result.error));
    else {
      setNotice(`${member.user.displayName} was removed from the group.`);
      refetch();
    }
  };

  const onRole = async (member: Member, role: MemberRole) => {
    setError(null);
    setNotice(null);
    setChosenRoles((c) => ({ ...c, [member.user.id]: { role, from: member.role } }));
    const result = await setRole({ sessionId: session.id, userId: member.user.id, role });
    if (result.error) {
      setChosenRoles((c) => {
        const rest = { ...c };
        delete rest[member.user.id];
        return rest;
      });
      setError(errorMessage(result.error));
    } else {
      setNotice(`${member.user.displayName} is now ${roleLabel(role).toLowerCase()}.`);
      refetch();
    }
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Members</h3>
      <ul className="f-members" aria-labelledby={`${id}-h`}>
        {session.members.map((member) => {
          const { user } = member;
          const self = user.id === viewerId;
          const name = user.displayName;
          const roleSelect = canChangeRole(session.kind, session.viewerRole, self);
          return (
            <li key={user.id} className="f-member">
              <Avatar name={name} url={user.avatar?.url} size={40} />
              <div className="f-person-name">
                <span className="f-strong">
                  {name}
                  {self && <span className="f-muted"> (you)</span>}
                </span>
                <span className="f-username">
                  @{user.username} · joined{" "}
                  <time dateTime={member.joinedAt}>{dateLabel(member.joinedAt)}</time>
                </span>
              </div>
              <div className="f-member-actions">
                {session.kind === "GROUP" &&
                  (roleSelect ? (
                    <select
                      aria-label={`Role of ${name}`}
                      value={shownRole(member)}
                      disabled={busy}
                      onChange={(e) => void onRole(member, e.target.value as MemberRole)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {roleLabel(r)}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span className={`f-role f-role-${member.role.toLowerCase()}`}>
                      {roleLabel(member.role)}
                    </span>
                  ))}
                {canRemove(session.kind, session.viewerRole, member.role, self) && (
                  <button type="button" disabled={busy} onClick={() => void onRemove(member)}>
                    Remove {name}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <Alert message={error} />
      <p role="status" className="f-ok">
        {notice ?? ""}
      </p>
    </section>
  );
}

function AddMembers(props: { session: Details; refetch: () => void }) {
  const { session, refetch } = props;
  const id = useId();
  const [state, add] = useMutation(AddGroupMembersMutation);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const memberIds = useMemo(() => new Set(session.members.map((m) => m.user.id)), [session.members]);

  const onAdd = async (userId: string, name: string) => {
    setError(null);
    setNotice(null);
    const result = await add({ sessionId: session.id, userIds: [userId] });
    if (result.error) setError(errorMessage(result.error));
    else {
      setNotice(`${name} was added to the group.`);
      refetch();
    }
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Invite people</h3>
      <UserSearch
        label="Add people"
        renderUser={(user) => (
          <>
            <Avatar name={user.displayName} url={user.avatar?.url} size={32} />
            <span className="f-person-name">
              <span className="f-strong">{user.displayName}</span>
              <span className="f-username">@{user.username}</span>
            </span>
            {memberIds.has(user.id) ? (
              <span className="f-muted">Already a member</span>
            ) : (
              <button
                type="button"
                disabled={state.fetching}
                onClick={() => void onAdd(user.id, user.displayName)}
              >
                Add {user.displayName}
              </button>
            )}
          </>
        )}
      />
      <Alert message={error} />
      <p role="status" className="f-ok">
        {notice ?? ""}
      </p>
    </section>
  );
}

function LeaveGroup(props: { session: Details; viewerId: string }) {
  const { session, viewerId } = props;
  const id = useId();
  const [, navigate] = useLocation();
  const [state, leave] = useMutation(LeaveGroupMutation);
  const confirm = useConfirm();
  const [error, setError] = useState<string | null>(null);

  const onLeave = async () => {
    setError(null);
    const result = await leave({ sessionId: session.id });
    if (result.error) setError(errorMessage(result.error));
    else navigate("/");
  };

  const warning = leaveWarning(
    session.viewerRole,
    session.members.map((m) => ({ role: m.role, isSelf: m.user.id === viewerId })),
  );

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Leave</h3>
      {!confirm.confirming ? (
        <div className="f-actions">
          <button ref={confirm.trigger} type="button" onClick={confirm.ask}>
            Leave group
          </button>
        </div>
      ) : (
        <ConfirmInline
          question={`Leave “${session.title}”? ${warning}`}
          confirmLabel="Yes, leave"
          busyLabel="Leaving…"
          busy={state.fetching}
          onConfirm={() => void onLeave()}
          onCancel={confirm.cancel}
        />
      )}
      <Alert message={error} />
    </section>
  );
}
