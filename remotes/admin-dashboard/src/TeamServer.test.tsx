// The dashboard's Team server section against the IPC mock: the sign-in
// form sends the password once and clears it; who is signed in is shown
// with Sign out; an admin adds a user and creates a token whose secret is
// shown once (gone after Done and never in a listing), and revokes it; a
// refusal from the shell is shown as it came.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { TeamSession, TeamToken, TeamUser } from "@augment-it/host-client";
import { TeamServer } from "./TeamServer";

afterEach(() => {
  cleanup();
  clearMocks();
});

const PASSWORD = "correct horse battery staple";
const SECRET = "ait_0123456789abcdef-secret";

/** A shell with a team server behind it, as the Rust side answers. */
function shell(role = "admin") {
  let session: TeamSession | null = null;
  const users: TeamUser[] = [{ id: "u1", name: "root-admin", role: "admin", createdAt: "2026-12-05T14:00:00Z" }];
  const tokens: TeamToken[] = [];
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "team_session":
        return session;
      case "team_sign_in":
        if (args.password !== PASSWORD) throw { code: "refused", message: "the auth service refused the user name or password" };
        session = { server: args.url as string, user: args.username as string, role, scopes: ["read"], expiresAt: "2026-12-06T02:00:00Z" };
        return session;
      case "team_sign_out":
        session = null;
        return true;
      case "team_users":
        if (role !== "admin") throw { code: "refused", message: `your role (${role}) may not list the team's users` };
        return [...users];
      case "team_create_user": {
        const user = { id: `u${users.length + 1}`, name: args.name as string, role: args.role as string, createdAt: "2026-12-05T14:01:00Z" };
        users.push(user);
        return user;
      }
      case "team_delete_user":
        users.splice(users.findIndex((u) => u.name === args.name), 1);
        return true;
      case "team_tokens":
        return [...tokens];
      case "team_create_token": {
        const token: TeamToken = {
          id: "tok1",
          userId: "u1",
          kind: "api",
          scopes: args.scopes as string[],
          description: args.name as string,
          createdAt: "2026-12-05T14:02:00Z",
          expiresAt: "2026-12-12T14:02:00Z",
          revokedAt: null,
        };
        tokens.push(token);
        return { secret: SECRET, token };
      }
      case "team_revoke_token":
        tokens[0] = { ...tokens[0], revokedAt: "2026-12-05T14:03:00Z" };
        return true;
      default:
        throw { code: "internal", message: `unexpected ${cmd}` };
    }
  });
  render(<TeamServer />);
  return calls;
}

async function signIn(password = PASSWORD) {
  fireEvent.change(await screen.findByLabelText("Server URL"), { target: { value: "https://auth.example.com" } });
  fireEvent.change(screen.getByLabelText("User name"), { target: { value: "root-admin" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: password } });
  expect((screen.getByLabelText("Password") as HTMLInputElement).type).toBe("password");
  await act(async () => fireEvent.click(screen.getByText("Sign in")));
}

describe("the Team server section", () => {
  it("signs in with the password sent once and cleared from the form, and signs out", async () => {
    const calls = shell();
    await signIn("wrong password");
    expect((await screen.findByTestId("admin-team-error")).textContent).toBe("the auth service refused the user name or password");
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Server URL") as HTMLInputElement).value).toBe("https://auth.example.com");

    await signIn();
    const signedIn = await screen.findByTestId("team-signed-in");
    expect(signedIn.textContent).toContain("root-admin");
    expect(signedIn.textContent).toContain("admin");
    expect(calls.filter((c) => c.cmd === "team_sign_in").at(-1)!.args).toEqual({ url: "https://auth.example.com", username: "root-admin", password: PASSWORD });
    expect(document.body.innerHTML).not.toContain(PASSWORD);

    await act(async () => fireEvent.click(screen.getByText("Sign out")));
    expect(await screen.findByLabelText("Password")).toBeTruthy();
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
    expect(calls.some((c) => c.cmd === "team_sign_out")).toBe(true);
  });

  it("lets an admin add a user and create a token shown once, then revoke it", async () => {
    const calls = shell();
    await signIn();
    await screen.findByText("Users");
    fireEvent.change(screen.getByLabelText("New user's name"), { target: { value: "ana" } });
    fireEvent.change(screen.getByLabelText("Role"), { target: { value: "analyst" } });
    fireEvent.change(screen.getByLabelText("New user's password"), { target: { value: "ana-password-123" } });
    await act(async () => fireEvent.click(screen.getByText("Add user")));
    expect(calls.find((c) => c.cmd === "team_create_user")!.args).toEqual({ name: "ana", role: "analyst", password: "ana-password-123" });
    await waitFor(() => expect(screen.getAllByTestId("team-user").map((li) => li.textContent)).toEqual([expect.stringContaining("root-admin"), expect.stringContaining("ana")]));
    expect((screen.getByLabelText("New user's password") as HTMLInputElement).value).toBe("");

    fireEvent.change(screen.getByLabelText("Token name"), { target: { value: "ci" } });
    fireEvent.click(screen.getByLabelText("publish"));
    fireEvent.change(screen.getByLabelText("Expires in (days)"), { target: { value: "7" } });
    await act(async () => fireEvent.click(screen.getByText("Create token")));
    expect(calls.find((c) => c.cmd === "team_create_token")!.args).toEqual({ name: "ci", scopes: ["read", "publish"], expiresInDays: 7 });
    const shown = await screen.findByTestId("team-new-token");
    expect(shown.textContent).toContain("shown only this once");
    expect((within(shown).getByLabelText("API token") as HTMLInputElement).value).toBe(SECRET);
    const row = (await screen.findAllByTestId("team-token"))[0];
    expect(row.textContent).toContain("ci");
    expect(row.textContent).not.toContain(SECRET);

    // Once: after Done the secret is nowhere on the page, and a reload does not bring it back.
    fireEvent.click(within(shown).getByText("Done"));
    expect(screen.queryByTestId("team-new-token")).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);

    await act(async () => fireEvent.click(screen.getByLabelText("Revoke token ci")));
    await waitFor(() => expect(screen.getByTestId("team-token").textContent).toContain("revoked"));
    expect(calls.find((c) => c.cmd === "team_revoke_token")!.args).toEqual({ id: "tok1" });
  });

  it("shows a non-admin who is signed in, without the admin's lists", async () => {
    shell("analyst");
    await signIn();
    expect((await screen.findByTestId("team-signed-in")).textContent).toContain("analyst");
    expect(screen.queryByText("Users")).toBeNull();
    expect(screen.queryByText("Create token")).toBeNull();
  });
});
