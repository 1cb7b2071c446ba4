// Reactions, mentions, muting and blocking, between real browsers and the real server:
// a reaction shows live on the other side and toggles off; a mention picked from the "@"
// menu raises the mention badge and is marked in the message; muting shows "Muted" in the
// header and the inbox until unmuted; a blocked person's messages are refused (and
// collapsed in groups) until unblocked from the profile's "Blocked users".

import { test, expect } from "./fixtures";
import { createGroup, gql, person, register, sendMessage, startDirect, storedBodies } from "./api";
import {
  composer,
  conversationOption,
  conversationRegion,
  inbox,
  inboxItem,
  mainNav,
  messagesWith,
  openSignedIn,
  reactionChip,
  send,
  signIn,
} from "./app";

test("a reaction shows live to the other person; chips toggle reactions on and off", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const session = await startDirect(baseURL!, ada, bob);
  const body = `React to this, Bob ${ada.tag}`;
  await sendMessage(baseURL!, ada, session, body);

  const pa = await openSignedIn(newContext, ada, `/c/${session}`);
  const pb = await openSignedIn(newContext, bob, `/c/${session}`);
  const onAda = messagesWith(pa, body);
  const onBob = messagesWith(pb, body);
  await expect(onAda).toBeVisible();
  await expect(onBob).toBeVisible();

  // The picker opens from the keyboard, moves with the arrows and closes with Escape.
  const add = onAda.getByRole("button", { name: "Add reaction", exact: true });
  await add.focus();
  await pa.keyboard.press("Enter");
  const picker = pa.getByRole("menu", { name: "Add reaction" });
  await expect(picker).toBeVisible();
  await expect(picker.getByRole("menuitemcheckbox", { name: "Thumbs up", exact: true })).toBeFocused();
  await pa.keyboard.press("ArrowRight");
  await expect(picker.getByRole("menuitemcheckbox", { name: "Red heart", exact: true })).toBeFocused();
  await pa.keyboard.press("Escape");
  await expect(picker).toHaveCount(0);
  await expect(add).toBeFocused();

  // Ada reacts with 👍 from the picker.
  await add.click();
  await picker.getByRole("menuitemcheckbox", { name: "Thumbs up", exact: true }).click();
  const adaChip = reactionChip(onAda, "👍");
  await expect(adaChip).toHaveAccessibleName("👍 1 reaction, you reacted");
  await expect(adaChip).toHaveAttribute("aria-pressed", "true");
  await expect(adaChip).toHaveText("👍1");

  // Bob sees "👍 1" live, not pressed for him.
  const bobChip = reactionChip(onBob, "👍");
  await expect(bobChip).toHaveAccessibleName("👍 1 reaction");
  await expect(bobChip).toHaveAttribute("aria-pressed", "false");

  // Bob joins with a click on the chip; Ada sees 2 live. A second click takes it back.
  await bobChip.click();
  await expect(bobChip).toHaveAccessibleName("👍 2 reactions, you reacted");
  await expect(adaChip).toHaveAccessibleName("👍 2 reactions, you reacted");
  await bobChip.click();
  await expect(bobChip).toHaveAccessibleName("👍 1 reaction");
  await expect(adaChip).toHaveAccessibleName("👍 1 reaction, you reacted");

  // Ada toggles hers off: the chip goes on both sides.
  await adaChip.click();
  await expect(adaChip).toHaveCount(0);
  await expect(bobChip).toHaveCount(0);

  // The server agrees: no reaction left.
  const stored = await gql(
    baseURL!,
    `query($s: ID!) { session(id: $s) { messages(last: 5) { nodes { body reactions { emoji count } } } } }`,
    { s: session },
    ada.token,
  );
  const message = stored.session.messages.nodes.find((m: { body: string }) => m.body === body);
  expect(message.reactions).toEqual([]);
});

test("a mention picked from the @ menu raises the mention badge and is marked in the message", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const cyd = await register(baseURL!, person("Cyd"));
  const title = `Team ${bob.tag}`;
  const group = await createGroup(baseURL!, bob, title, [ada, cyd]);
  await sendMessage(baseURL!, bob, group, `Welcome to the team ${bob.tag}`);

  const pa = await openSignedIn(newContext, ada);
  await expect(inboxItem(pa, title)).toBeVisible();
  const pb = await openSignedIn(newContext, bob, `/c/${group}`);
  await expect(messagesWith(pb, `Welcome to the team ${bob.tag}`)).toBeVisible();

  // Bob types "@ada": the menu offers Ada first; Enter picks her.
  await composer(pb).pressSequentially("@ada");
  const menu = pb.getByRole("listbox", { name: "Members to mention", exact: true });
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("option").first()).toHaveAccessibleName(new RegExp(`^${ada.displayName}`));
  await expect(menu.getByRole("option").first()).toHaveAttribute("aria-selected", "true");
  await composer(pb).press("Enter");
  await expect(menu).toHaveCount(0);
  await expect(composer(pb)).toHaveValue(`@${ada.username} `);
  const tail = `are you there? ${bob.tag}`;
  await composer(pb).pressSequentially(tail);
  await composer(pb).press("Enter");
  await expect(composer(pb)).toHaveValue("");

  const onBob = messagesWith(pb, tail);
  await expect(onBob).toBeVisible();
  await expect(onBob.locator(".mention", { hasText: `@${ada.username}` })).toBeVisible();
  await expect(onBob).not.toContainText(/Sending…|Not sent|Refused/);

  // Ada's inbox shows the "@" badge live, named with the count.
  const mentionBadge = inboxItem(pa, title).getByRole("img", { name: "1 unread mention", exact: true });
  await expect(mentionBadge).toBeVisible();
  await expect(mentionBadge).toHaveText("@");

  // In the message, her own mention is marked strongly; reading clears the badge.
  await inboxItem(pa, title).click();
  const onAda = messagesWith(pa, tail);
  await expect(onAda.locator(".mention.mention-viewer", { hasText: `@${ada.username}` })).toBeVisible();
  await expect(inbox(pa).getByRole("img", { name: /unread mentions?$/ })).toHaveCount(0);

  // The server recorded the mention.
  const mentions = await gql(baseURL!, `{ mentions(first: 5) { nodes { message { body } } } }`, {}, ada.token);
  expect(mentions.mentions.nodes.map((n: { message: { body: string } }) => n.message.body)).toEqual([
    `@${ada.username} ${tail}`,
  ]);
});

test("muting from the options menu shows Muted in the header and the inbox; unmuting removes it", async ({
  page,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const session = await startDirect(baseURL!, bob, ada);
  await sendMessage(baseURL!, bob, session, `Mute me if you like ${bob.tag}`);

  await signIn(page, ada);
  await page.goto(`/c/${session}`);
  const header = conversationRegion(page, bob.displayName);
  await expect(header).toBeVisible();
  const headerMuted = header.getByRole("img", { name: "Muted", exact: true });
  const inboxMuted = inboxItem(page, bob.displayName).getByRole("img", { name: "Muted", exact: true });
  await expect(headerMuted).toHaveCount(0);

  // The menu button pattern, by keyboard: arrows move, Escape closes and refocuses.
  const options = page.getByRole("button", { name: "Conversation options", exact: true });
  await expect(options).toHaveAttribute("aria-haspopup", "menu");
  await expect(options).toHaveAttribute("aria-expanded", "false");
  await options.focus();
  await page.keyboard.press("ArrowDown");
  await expect(options).toHaveAttribute("aria-expanded", "true");
  const menu = page.getByRole("menu", { name: "Conversation options" });
  await expect(menu.getByRole("menuitem", { name: "Mute for 1 hour", exact: true })).toBeFocused();
  await expect(menu.getByRole("menuitem", { name: "Unmute", exact: true })).toHaveCount(0);
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("menuitem", { name: "Mute for 8 hours", exact: true })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).toHaveCount(0);
  await expect(options).toBeFocused();

  await conversationOption(page, "Mute for 1 hour");
  await expect(headerMuted).toBeVisible();
  await expect(inboxMuted).toBeVisible();
  // Stored: after a reload too.
  await page.reload();
  await expect(headerMuted).toBeVisible();
  await expect(inboxMuted).toBeVisible();

  await conversationOption(page, "Unmute");
  await expect(headerMuted).toHaveCount(0);
  await expect(inboxMuted).toHaveCount(0);

  // For good: until unmuted.
  await conversationOption(page, "Mute until I unmute");
  await expect(headerMuted).toBeVisible();
  const stored = await gql(baseURL!, `query($s: ID!) { session(id: $s) { mutedUntil } }`, { s: session }, ada.token);
  expect(stored.session.mutedUntil).toMatch(/^9999-12-31T23:59:59/);
  await conversationOption(page, "Unmute");
  await expect(headerMuted).toHaveCount(0);
  await expect(inboxMuted).toHaveCount(0);
});

test("blocking from the direct conversation refuses the other's messages until unblocked from Blocked users", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const direct = await startDirect(baseURL!, bob, ada);
  await sendMessage(baseURL!, bob, direct, `Hi Ada ${bob.tag}`);
  const groupTitle = `Club ${bob.tag}`;
  const group = await createGroup(baseURL!, bob, groupTitle, [ada]);
  const groupBody = `In the club ${bob.tag}`;
  await sendMessage(baseURL!, bob, group, groupBody);

  const pa = await openSignedIn(newContext, ada, `/c/${direct}`);
  const pb = await openSignedIn(newContext, bob, `/c/${direct}`);
  await expect(messagesWith(pa, `Hi Ada ${bob.tag}`)).toBeVisible();

  // Ada blocks Bob: asked first, in place.
  await conversationOption(pa, `Block ${bob.displayName}`);
  const confirm = pa.getByRole("group", { name: new RegExp(`^Block ${bob.displayName}\\?`) });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("button", { name: "Yes, block", exact: true }).click();
  await expect(confirm).toHaveCount(0);
  await expect(pa.getByText(`You blocked ${bob.displayName}`)).toBeVisible();

  // Bob's message is refused with the server's sentence.
  const refused = `Still there? ${bob.tag}`;
  await send(pb, refused);
  await expect(messagesWith(pb, refused)).toContainText("Refused: You cannot send messages to this user.");
  expect(await storedBodies(baseURL!, ada, direct)).not.toContain(refused);

  // In the group both stay members: Bob's message is collapsed for Ada, shown on request.
  await inboxItem(pa, groupTitle).click();
  const collapsed = pa
    .getByRole("log", { name: "Messages" })
    .getByRole("article", { name: "Message from a blocked user", exact: true });
  await expect(collapsed).toBeVisible();
  await expect(messagesWith(pa, groupBody)).toHaveCount(0);
  await collapsed.getByRole("button", { name: "Show", exact: true }).click();
  await expect(messagesWith(pa, groupBody)).toBeVisible();

  // Ada unblocks Bob from her profile's Blocked users.
  await mainNav(pa).getByRole("link", { name: "Profile", exact: true }).click();
  const blocked = pa.getByRole("region", { name: "Blocked users", exact: true });
  await expect(blocked.getByText(bob.displayName, { exact: true })).toBeVisible();
  await blocked.getByRole("button", { name: `Unblock ${bob.displayName}`, exact: true }).click();
  await expect(blocked.getByRole("status")).toHaveText(`${bob.displayName} is unblocked.`);
  await expect(blocked.getByText(bob.displayName, { exact: true })).toHaveCount(0);
  await expect(blocked.getByText("You have not blocked anyone.")).toBeVisible();

  // Bob can write again.
  const welcome = `Back again ${bob.tag}`;
  await send(pb, welcome);
  await expect(messagesWith(pb, welcome)).toBeVisible();
  await expect(messagesWith(pb, welcome)).not.toContainText(/Sending…|Not sent|Refused/);
  await inboxItem(pa, bob.displayName).click();
  await expect(messagesWith(pa, welcome)).toBeVisible();
  await expect(pa.getByText(`You blocked ${bob.displayName}`)).toHaveCount(0);
});
