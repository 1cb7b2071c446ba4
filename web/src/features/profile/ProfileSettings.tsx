import { useEffect, useId, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { useAuth } from "../../auth/AuthContext";
import { graphql } from "../../gql";
import type { ProfileSettingsQuery } from "../../gql/graphql";
import { initials } from "../../ui/Avatar";
import { ConfirmInline, useConfirm } from "../../ui/ConfirmInline";
import { errorMessage } from "../../ui/errors";
import {
  DISPLAY_NAME_MAX,
  displayNameError,
  LOCATION_MAX,
  locationError,
  normalize,
} from "../shared/validation";
import { sizeLabel } from "../shared/format";
import { AVATAR_ACCEPT, avatarFileProblem } from "./avatarFile";
import { BlockedUsersSection } from "./BlockedUsers";
import { Alert } from "../shared/Alert";
import "../shared/shared.css";
import "./profile.css";

const ProfileSettingsQueryDocument = graphql(`
  query ProfileSettings {
    me {
      id
      username
      displayName
      location
      avatar {
        url(size: 256)
      }
    }
  }
`);

const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      id
      displayName
      location
    }
  }
`);

const UploadAvatarMutation = graphql(`
  mutation UploadAvatar($file: Upload!) {
    uploadAvatar(file: $file) {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`);

const RemoveAvatarMutation = graphql(`
  mutation RemoveAvatar {
    removeAvatar {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`);

type Me = ProfileSettingsQuery["me"];

/** Route `/profile`: name, location, picture, blocked users and signing out. */
export function ProfileSettings(_props: {}) {
  const id = useId();
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: ProfileSettingsQueryDocument,
    requestPolicy: "cache-and-network",
  });
  const refetch = () => reexecute({ requestPolicy: "network-only" });

  return (
    <section className="f-page" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Profile</h2>
      {data ? (
        <>
          <PictureSection me={data.me} refetch={refetch} />
          <ProfileForm me={data.me} refetch={refetch} />
        </>
      ) : error ? (
        <div className="f-section">
          <p role="alert" className="f-error">
            {errorMessage(error)}
          </p>
          <div className="f-actions">
            <button type="button" onClick={refetch}>
              Try again
            </button>
          </div>
        </div>
      ) : (
        <p className="f-muted" aria-live="polite">
          {fetching ? "Loading your profile…" : ""}
        </p>
      )}
      <BlockedUsersSection />
      <SignOutSection />
    </section>
  );
}

function ProfileForm(props: { me: Me; refetch: () => void }) {
  const { me } = props;
  const id = useId();
  const { reloadViewer } = useAuth();
  const [state, update] = useMutation(UpdateProfileMutation);
  const [name, setName] = useState(me.displayName);
  const [location, setLocation] = useState(me.location ?? "");
  const [errors, setErrors] = useState<{ name?: string; location?: string; server?: string }>({});
  const [saved, setSaved] = useState(false);

  // New values from the server replace the fields unless the person changed them.
  const [base, setBase] = useState({ name: me.displayName, location: me.location ?? "" });
  if (base.name !== me.displayName || base.location !== (me.location ?? "")) {
    const next = { name: me.displayName, location: me.location ?? "" };
    if (name === base.name) setName(next.name);
    if (location === base.location) setLocation(next.location);
    setBase(next);
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const nameProblem = displayNameError(name) ?? undefined;
    const locationProblem = locationError(location) ?? undefined;
    setErrors({ name: nameProblem, location: locationProblem });
    if (nameProblem || locationProblem) {
      document.getElementById(nameProblem ? `${id}-name` : `${id}-location`)?.focus();
      return;
    }
    const result = await update({
      input: { displayName: normalize(name), location: normalize(location) },
    });
    if (result.error) {
      setErrors({ server: errorMessage(result.error) });
      return;
    }
    setSaved(true);
    props.refetch();
    await reloadViewer();
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>About you</h3>
      <p className="f-muted f-hint">Signed in as @{me.username}.</p>
      <form className="f-form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="f-field">
          <label htmlFor={`${id}-name`} className="f-label">
            Display name
          </label>
          <input
            id={`${id}-name`}
            value={name}
            autoComplete="name"
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={`${id}-name-hint`}
            onChange={(e) => {
              setName(e.target.value);
              setSaved(false);
            }}
          />
          <p id={`${id}-name-hint`} className="f-hint">
            What others see: 1–{DISPLAY_NAME_MAX} characters.
          </p>
          <Alert message={errors.name} />
        </div>
        <div className="f-field">
          <label htmlFor={`${id}-location`} className="f-label">
            Location
          </label>
          <input
            id={`${id}-location`}
            value={location}
            autoComplete="address-level2"
            aria-invalid={errors.location ? true : undefined}
            aria-describedby={`${id}-location-hint`}
            onChange={(e) => {
              setLocation(e.target.value);
              setSaved(false);
            }}
          />
          <p id={`${id}-location-hint`} className="f-hint">
            Optional, up to {LOCATION_MAX} characters; empty removes it.
          </p>
          <Alert message={errors.location} />
        </div>
        <Alert message={errors.server} />
        <div className="f-actions">
          <button type="submit" className="primary" disabled={state.fetching}>
            {state.fetching ? "Saving…" : "Save profile"}
          </button>
        </div>
        <p role="status" className="f-ok">
          {saved ? "Profile saved." : ""}
        </p>
      </form>
    </section>
  );
}

/** Keeps an object URL for `file` and revokes it when the file changes or on unmount. */
function useObjectUrl(file: File | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) {
      setUrl(null);
      return;
    }
    const next = URL.createObjectURL(file);
    setUrl(next);
    return () => URL.revokeObjectURL(next);
  }, [file]);
  return url;
}

function PictureSection(props: { me: Me; refetch: () => void }) {
  const { me } = props;
  const id = useId();
  const { reloadViewer } = useAuth();
  const [uploadState, upload] = useMutation(UploadAvatarMutation);
  const [removeState, remove] = useMutation(RemoveAvatarMutation);
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const preview = useObjectUrl(file);
  const busy = uploadState.fetching || removeState.fetching;

  const clearChoice = () => {
    setFile(null);
    if (input.current) input.current.value = "";
  };

  const choose = (e: ChangeEvent<HTMLInputElement>) => {
    setNotice(null);
    const chosen = e.target.files?.[0] ?? null;
    if (!chosen) {
      setFile(null);
      setProblem(null);
      return;
    }
    const why = avatarFileProblem(chosen);
    setProblem(why);
    setFile(why ? null : chosen);
  };

  const onUpload = async () => {
    if (!file) return;
    setProblem(null);
    setNotice(null);
    const result = await upload({ file });
    if (result.error) {
      setProblem(errorMessage(result.error));
      return;
    }
    clearChoice();
    setNotice("Your new picture is saved.");
    props.refetch();
    await reloadViewer();
  };

  const onRemove = async () => {
    setProblem(null);
    setNotice(null);
    const result = await remove({});
    if (result.error) {
      setProblem(errorMessage(result.error));
      return;
    }
    setNotice("Your picture was removed.");
    props.refetch();
    await reloadViewer();
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Picture</h3>
      <div className="f-pictures">
        <figure className="f-picture">
          {me.avatar ? (
            <img
              className="f-picture-img"
              src={me.avatar.url}
              alt="Your profile picture"
              width={128}
              height={128}
            />
          ) : (
            <span className="f-picture-img f-picture-initials" role="img" aria-label="No picture yet: your initials">
              {initials(me.displayName) || "?"}
            </span>
          )}
          <figcaption className="f-muted">Now</figcaption>
        </figure>
        {preview && file && (
          <figure className="f-picture">
            <img
              className="f-picture-img"
              src={preview}
              alt="Preview of the new picture"
              width={128}
              height={128}
            />
            <figcaption className="f-muted">New ({sizeLabel(file.size)}), not saved yet</figcaption>
          </figure>
        )}
      </div>
      <div className="f-field">
        <label htmlFor={`${id}-file`} className="f-label">
          Profile picture
        </label>
        <input
          ref={input}
          id={`${id}-file`}
          type="file"
          accept={AVATAR_ACCEPT}
          disabled={busy}
          aria-describedby={`${id}-file-hint`}
          onChange={choose}
        />
        <p id={`${id}-file-hint`} className="f-hint">
          JPEG, PNG, WebP or GIF, up to 5 MB. It is cropped to a square.
        </p>
      </div>
      <Alert message={problem} />
      <div className="f-actions">
        <button type="button" className="primary" disabled={!file || busy} onClick={() => void onUpload()}>
          {uploadState.fetching ? "Uploading…" : "Upload picture"}
        </button>
        {file && (
          <button type="button" disabled={busy} onClick={clearChoice}>
            Keep the current picture
          </button>
        )}
        <button type="button" disabled={!me.avatar || busy} onClick={() => void onRemove()}>
          {removeState.fetching ? "Removing…" : "Remove picture"}
        </button>
      </div>
      <p role="status" className="f-ok">
        {notice ?? ""}
      </p>
    </section>
  );
}

function SignOutSection() {
  const id = useId();
  const { signOut, signOutEverywhere } = useAuth();
  const [busy, setBusy] = useState(false);
  const confirm = useConfirm();
  const [error, setError] = useState<string | null>(null);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Signing out</h3>
      <div className="f-actions">
        <button type="button" disabled={busy} onClick={() => void run(signOut)}>
          Sign out
        </button>
        {!confirm.confirming && (
          <button ref={confirm.trigger} type="button" disabled={busy} onClick={confirm.ask}>
            Sign out everywhere
          </button>
        )}
      </div>
      {confirm.confirming && (
        <ConfirmInline
          question="End every sign-in of this account, on all your devices and browsers?"
          confirmLabel="Yes, on every device"
          busyLabel="Signing out…"
          busy={busy}
          onConfirm={() => void run(signOutEverywhere)}
          onCancel={confirm.cancel}
        />
      )}
      <Alert message={error} />
    </section>
  );
}
