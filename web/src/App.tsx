import { graphql } from "./gql";

/** Placeholder shell; replaced by the real client. */
export const MeQuery = graphql(`
  query Me {
    me {
      id
      username
    }
  }
`);

export function App() {
  return <main>messenger</main>;
}
