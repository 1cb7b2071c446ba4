// CONTRACT STUB (owned by the features helper, who replaces it and keeps the export).
export function NewConversation(_props: {}) {
  return <section aria-label="NewConversation">NewConversation</section>;
}
