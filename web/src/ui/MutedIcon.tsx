/** The muted indicator: a bell struck through, named "Muted" (the tooltip says until when). */
export function MutedIcon(props: { description?: string }) {
  return (
    <span className="muted-icon" role="img" aria-label="Muted" title={props.description || "Muted"}>
      <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
        <path
          d="M6 16.5h12l-1.6-2.2V10a4.4 4.4 0 0 0-8.8 0v4.3z M10 19a2 2 0 0 0 4 0"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
          strokeLinejoin="round"
        />
        <path d="M4 4l16 16" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
      </svg>
    </span>
  );
}
