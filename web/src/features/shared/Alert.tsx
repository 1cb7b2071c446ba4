/** An error for the person, announced by screen readers; nothing when there is none. */
export function Alert({ message }: { message: string | null | undefined }) {
  return message ? (
    <p role="alert" className="f-error">
      {message}
    </p>
  ) : null;
}
