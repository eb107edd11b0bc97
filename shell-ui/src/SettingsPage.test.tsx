// Settings: the update-check interval is validated before saving, with a
// message a person can act on, and saved with the registries.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { MAX_UPDATE_CHECK_MINUTES, parseCheckMinutes, SettingsPage } from "./SettingsPage";

afterEach(() => {
  cleanup();
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
