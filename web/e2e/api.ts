// The GraphQL API over plain fetch, for setting up what a test needs quickly (accounts,
// conversations, history) and for sending as "the other person" without a second browser.

export interface ApiUser {
  id: string;
  username: string;
  displayName: string;
  password: string;
  token: string;
}

/** A short unique tag for names: usernames and display names never collide across tests. */
export function uid(): string {
  return (Date.now().toString(36).slice(-5) + Math.random().toString(36).slice(2, 6)).toLowerCase();
}

/** A person of the tests: username `<first>_<tag>` and display name `<First> <tag>`. */
export function person(first: string, tag = uid()) {
  return {
    username: `${first.toLowerCase()}_${tag}`,
    displayName: `${first} ${tag}`,
    password: `correct horse ${tag} battery`,
    tag,
  };
}

export async function gql<T = any>(
  baseURL: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const answer = await fetch(`${baseURL}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await answer.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) {
    throw new Error(`GraphQL ${query.slice(0, 60)}…: ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}

export async function register<W extends { username: string; displayName: string; password: string }>(
  baseURL: string,
  who: W,
): Promise<W & ApiUser> {
  const data = await gql(
    baseURL,
    `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    { i: { username: who.username, displayName: who.displayName, password: who.password } },
  );
  return { ...who, id: data.register.user.id, token: data.register.accessToken };
}

export async function startDirect(baseURL: string, me: ApiUser, other: ApiUser): Promise<string> {
  const data = await gql(
    baseURL,
    `mutation($u: ID!) { startDirectSession(userId: $u) { id } }`,
    { u: other.id },
    me.token,
  );
  return data.startDirectSession.id;
}

export async function createGroup(
  baseURL: string,
  me: ApiUser,
  title: string,
  members: ApiUser[],
): Promise<string> {
  const data = await gql(
    baseURL,
    `mutation($i: CreateGroupInput!) { createGroupSession(input: $i) { id } }`,
    { i: { title, memberIds: members.map((m) => m.id) } },
    me.token,
  );
  return data.createGroupSession.id;
}

export async function sendMessage(
  baseURL: string,
  me: ApiUser,
  sessionId: string,
  body: string,
): Promise<string> {
  const data = await gql(
    baseURL,
    `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`,
    { i: { sessionId, body } },
    me.token,
  );
  return data.sendMessage.id;
}

/** Runs `task` for every item, `width` at a time. */
export async function inParallel<T, R>(items: T[], width: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

/** Uploads a profile picture as the GraphQL multipart request spec says. */
export async function uploadAvatar(baseURL: string, me: ApiUser, png: Buffer): Promise<void> {
  const form = new FormData();
  form.append(
    "operations",
    JSON.stringify({ query: "mutation($f: Upload!) { uploadAvatar(file: $f) { id } }", variables: { f: null } }),
  );
  form.append("map", JSON.stringify({ "0": ["variables.f"] }));
  form.append("0", new Blob([new Uint8Array(png)], { type: "image/png" }), "avatar.png");
  const answer = await fetch(`${baseURL}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${me.token}`, accept: "application/json" },
    body: form,
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await answer.json()) as { errors?: unknown };
  if (!answer.ok || body.errors) throw new Error(`uploadAvatar: ${answer.status} ${JSON.stringify(body)}`);
}

/** The bodies of a conversation's newest `last` messages, as stored. */
export async function storedBodies(baseURL: string, me: ApiUser, sessionId: string, last = 100): Promise<string[]> {
  const data = await gql(
    baseURL,
    `query($s: ID!, $n: Int) { session(id: $s) { messages(last: $n) { edges { node { body } } } } }`,
    { s: sessionId, n: last },
    me.token,
  );
  return data.session.messages.edges.map((e: { node: { body: string } }) => e.node.body);
}

/** The viewer's group conversations, in the API's inbox order, with their last activity. */
export async function groupsInOrder(
  baseURL: string,
  me: ApiUser,
): Promise<{ title: string; lastActivityAt: string }[]> {
  const groups: { title: string; lastActivityAt: string }[] = [];
  let after: string | null = null;
  for (;;) {
    const data: any = await gql(
      baseURL,
      `query($after: String) { sessions(first: 50, after: $after) {
         edges { node { title lastActivityAt } } pageInfo { hasNextPage endCursor } } }`,
      { after },
      me.token,
    );
    for (const edge of data.sessions.edges) if (edge.node.title) groups.push(edge.node);
    if (!data.sessions.pageInfo.hasNextPage) return groups;
    after = data.sessions.pageInfo.endCursor;
  }
}
