// Settings: the update-check interval is validated before saving, with a
// message a person can act on, and saved with the registries.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { MAX_UPDATE_CHECK_MINUTES, parseCheckMinutes, SettingsPage } from "./SettingsPage";
import { deferred } from "../../remotes/testing";

// Unmount first: a provider row's listener unregisters through the mock, a tick later.
afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
});

function settings(save: (args: unknown) => unknown = () => null) {
  const saved: unknown[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "get_settings") return { saved: { registries: [{ url: "/srv/reg" }] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
    if (cmd === "save_settings") {
      saved.push(args);
      return save(args);
    }
    if (cmd === "provider_status") return [];
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  let checks = 0;
  render(<SettingsPage notify={() => {}} onSaved={async () => void checks++} registries={[]} />);
  return { saved, checks: () => checks };
}

const field = () => screen.getByTestId("update-check-minutes") as HTMLInputElement;

describe("the update check interval", () => {
  it("shows the interval in effect and saves a new one with the registries", async () => {
    const { saved, checks } = settings();
    await waitFor(() => expect(field().value).toBe("60"));
    fireEvent.change(field(), { target: { value: " 15 " } });
    fireEvent.click(screen.getByText("Save"));
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0]).toEqual({ settings: { registries: [{ url: "/srv/reg", trust: null }], updateCheckMinutes: 15 } });
    await waitFor(() => expect(checks()).toBe(1));
  });

  it("refuses what is not whole minutes in range, saying what to enter, and saves nothing", async () => {
    const { saved } = settings();
    await waitFor(() => expect(field().value).toBe("60"));
    for (const bad of ["-5", "1.5", "abc", "", String(MAX_UPDATE_CHECK_MINUTES + 1)]) {
      fireEvent.change(field(), { target: { value: bad } });
      fireEvent.click(screen.getByText("Save"));
      const error = await screen.findByTestId("update-check-error");
      expect(error.textContent).toContain(`from 1 to ${MAX_UPDATE_CHECK_MINUTES}`);
    }
    expect(saved).toEqual([]);
  });

  it("shows the shell's refusal", async () => {
    settings(() => {
      throw { code: "invalidInput", message: "updateCheckMinutes must be at most 10080" };
    });
    await waitFor(() => expect(field().value).toBe("60"));
    fireEvent.click(screen.getByText("Save"));
    expect((await screen.findByText("updateCheckMinutes must be at most 10080")).getAttribute("role")).toBe("alert");
  });
});

describe("parseCheckMinutes", () => {
  it("takes 0 (off) to a week", () => {
    expect(parseCheckMinutes("0")).toEqual({ minutes: 0 });
    expect(parseCheckMinutes("10080")).toEqual({ minutes: 10080 });
    expect("error" in parseCheckMinutes("10081")).toBe(true);
  });
});

const SETTINGS = { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
const OPENAI = { provider: "openai", key: "notSet", envVar: "AUGMENT_OPENAI_API_KEY", defaultBaseUrl: "https://api.openai.com/v1", settings: { baseUrl: null, defaultModel: null, keyOrigin: null } };

describe("loading, empty and error states (issue 16, point 5)", () => {
  it("says the settings and the keys are loading, with no form to save before they are read", async () => {
    const settingsReply = deferred<unknown>();
    const keysReply = deferred<unknown>();
    mockIPC((cmd) => {
      if (cmd === "get_settings") return settingsReply.promise;
      if (cmd === "provider_status") return keysReply.promise;
      throw { code: "internal", message: `unexpected ${cmd}` };
    }, { shouldMockEvents: true }); // a provider's row listens for its key test's progress
    render(<SettingsPage notify={() => {}} onSaved={async () => {}} registries={[]} />);
    expect(screen.getByText("Loading the settings…").getAttribute("role")).toBe("status");
    expect(screen.getByText("Loading the providers…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("Save")).toBeNull();
    expect(screen.queryByText("No registry saved")).toBeNull();
    await act(async () => {
      settingsReply.resolve(SETTINGS);
      keysReply.resolve([OPENAI]);
    });
    await waitFor(() => expect(field().value).toBe("60"));
    expect((await screen.findByTestId("key-status-openai")).textContent).toBe("not set");
    // No registry saved: what to do about it.
    expect(screen.getByText("No registry saved").closest("[data-state=empty]")?.textContent).toContain("Add a registry");
    expect(screen.queryAllByRole("status")).toEqual([]);
  });

  it("shows settings that could not be read with a retry, and no form that would save blanks", async () => {
    let failing = true;
    const notices: string[] = [];
    mockIPC((cmd) => {
      if (cmd === "get_settings") {
        if (failing) throw { code: "io", message: "settings.json is not readable" };
        return { ...SETTINGS, saved: { registries: [{ url: "/srv/reg" }] } };
      }
      if (cmd === "provider_status") return [];
      throw { code: "internal", message: `unexpected ${cmd}` };
    });
    render(<SettingsPage notify={(text) => notices.push(text)} onSaved={async () => {}} registries={[]} />);
    const alert = (await screen.findByText("Could not read the settings")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("settings.json is not readable");
    expect(screen.queryByText("Save")).toBeNull();
    expect(screen.queryByText("Loading the settings…")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect((screen.getByLabelText("registry URL") as HTMLInputElement).value).toBe("/srv/reg"));
    expect(screen.queryByText("No registry saved")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows keys that could not be read with a retry that reads them", async () => {
    let failing = true;
    mockIPC((cmd) => {
      if (cmd === "get_settings") return SETTINGS;
      if (cmd === "provider_status") {
        if (failing) throw { code: "keychain", message: "the keychain is locked" };
        return [OPENAI];
      }
      throw { code: "internal", message: `unexpected ${cmd}` };
    }, { shouldMockEvents: true }); // a provider's row listens for its key test's progress
    render(<SettingsPage notify={() => {}} onSaved={async () => {}} registries={[]} />);
    const alert = (await screen.findByText("Could not read the providers' keys")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("the keychain is locked");
    expect(screen.queryByText("Loading the providers…")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    expect((await screen.findByTestId("key-status-openai")).textContent).toBe("not set");
    expect(screen.queryByText("Could not read the providers' keys")).toBeNull();
  });
});
