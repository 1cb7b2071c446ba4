// CONTRACT STUB (owned by the features helper, who replaces it and keeps the export).
export function ProfileSettings(_props: {}) {
  return <section aria-label="ProfileSettings">ProfileSettings</section>;
}
