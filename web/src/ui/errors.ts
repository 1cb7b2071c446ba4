// CONTRACT STUB (owned by the chat-core helper, who fills it and keeps the export).

/** A sentence for a person, from any error an operation gave (urql's CombinedError,
 *  a network failure, a GraphQL error with `extensions.code`). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : "Something went wrong.";
}
