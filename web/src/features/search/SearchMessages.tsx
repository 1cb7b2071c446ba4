// CONTRACT STUB (owned by the features helper, who replaces it and keeps the export).
export function SearchMessages(_props: {}) {
  return <section aria-label="SearchMessages">SearchMessages</section>;
}
