// CONTRACT STUB (owned by the features helper, who replaces it and keeps the export).
export function SessionDetails(_props: { sessionId: string }) {
  return <section aria-label="SessionDetails">SessionDetails</section>;
}
