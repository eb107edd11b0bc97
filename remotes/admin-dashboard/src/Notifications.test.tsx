// The dashboard's Notifications section against the IPC mock: endpoints are
// listed by host only, added with their URL and secret sent once, tested
// (the outcome shown), deleted; desktop notifications turn off; the delivery
// log shows each attempt; a refusal from the shell is shown as it came.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { HookDelivery, HookEndpoint } from "@augment-it/host-client";
import { Notifications, describeOutcome } from "./Notifications";

afterEach(() => {
  cleanup();
  clearMocks();
});

const SECRET_URL = "https://hooks.slack.com/services/T0/B0/sekrit";

/** A shell keeping endpoints (as the Rust side does: the URL's host only) and a log. */
function shell() {
  const endpoints: HookEndpoint[] = [];
  const log: HookDelivery[] = [];
  let desktop = true;
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "list_hook_endpoints":
        return [...endpoints];
      case "hook_deliveries":
        return [...log];
      case "notification_settings":
        return { desktop };
      case "set_desktop_notifications":
        desktop = args.enabled as boolean;
        return { desktop };
      case "add_hook_endpoint": {
        if ((args.url as string).startsWith("http://")) throw { code: "invalidInput", message: "use https://" };
        const endpoint: HookEndpoint = {
          id: endpoints.length + 1,
          name: args.name as string,
          preset: args.preset as string,
          events: args.events as string[],
          host: new URL(args.url as string).host,
          createdAt: 1,
        };
        endpoints.push(endpoint);
        return endpoint;
      }
      case "test_hook_endpoint": {
        const e = endpoints.find((x) => x.id === args.id)!;
        log.unshift({ id: log.length + 1, eventId: "evt_1", event: "test", endpointId: e.id, endpoint: e.name, host: e.host, attempt: 1, outcome: "delivered", status: 200, error: null, at: 1 });
        return { eventId: "evt_1", endpoint: e.name, host: e.host, delivered: true, attempts: 1, status: 200, error: null };
      }
      case "delete_hook_endpoint":
        endpoints.splice(endpoints.findIndex((x) => x.id === args.id), 1);
        return true;
      default:
        throw { code: "internal", message: `unexpected ${cmd}` };
    }
  });
  render(<Notifications />);
  return calls;
}

describe("the Notifications section", () => {
  it("adds an endpoint, shows only its host, tests it and logs the delivery", async () => {
    const calls = shell();
    await screen.findByText("No webhook endpoints");
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "team" } });
    fireEvent.change(screen.getByLabelText("Preset"), { target: { value: "slack" } });
    fireEvent.change(screen.getByTestId("hook-url"), { target: { value: SECRET_URL } });
    expect((screen.getByTestId("hook-url") as HTMLInputElement).type).toBe("password");
    fireEvent.click(screen.getByLabelText("Import done"));
    await act(async () => fireEvent.click(screen.getByText("Add endpoint")));

    const added = calls.find((c) => c.cmd === "add_hook_endpoint")!.args;
    expect(added).toEqual({ name: "team", preset: "slack", events: ["run.finished", "run.failed", "import.done"], url: SECRET_URL, secret: null });
    const row = await screen.findByTestId("hook-endpoint");
    expect(row.textContent).toContain("hooks.slack.com");
    expect(document.body.textContent).not.toContain("sekrit");
    expect((screen.getByTestId("hook-url") as HTMLInputElement).value).toBe("");

    await act(async () => fireEvent.click(screen.getByLabelText("Test team")));
    expect((await screen.findByTestId("hook-test-outcome")).textContent).toBe("Delivered to hooks.slack.com (HTTP 200).");
    const logRow = await screen.findByRole("row", { name: /test/ });
    expect(logRow.getAttribute("data-outcome")).toBe("delivered");

    await act(async () => fireEvent.click(screen.getByLabelText("Delete team")));
    await screen.findByText("No webhook endpoints");
  });

  it("shows the shell's refusal and turns desktop notifications off", async () => {
    const calls = shell();
    const desktop = (await screen.findByLabelText("Show desktop notifications")) as HTMLInputElement;
    expect(desktop.checked).toBe(true);
    await act(async () => fireEvent.click(desktop));
    expect(calls.find((c) => c.cmd === "set_desktop_notifications")?.args).toEqual({ enabled: false });
    await waitFor(() => expect((screen.getByLabelText("Show desktop notifications") as HTMLInputElement).checked).toBe(false));

    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "plain" } });
    fireEvent.change(screen.getByTestId("hook-url"), { target: { value: "http://example.com/x" } });
    await act(async () => fireEvent.click(screen.getByText("Add endpoint")));
    expect((await screen.findByTestId("admin-notifications-error")).textContent).toBe("use https://");
  });

  it("describes a failed test with its reason", () => {
    const failed = { eventId: "e", endpoint: "x", host: "h:1", delivered: false, attempts: 1, status: 500, error: "the endpoint answered 500" };
    expect(describeOutcome(failed)).toBe("Not delivered to h:1: the endpoint answered 500.");
  });
});
