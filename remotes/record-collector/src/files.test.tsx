// Files like a desktop app (issue 16, point 2): a file dropped on the window
// is picked while the Record Collector is on screen (and only then), a drop
// of a folder says what to drop instead, and the recent files are offered
// again through Rust's tokens.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { FilesDropped, RecentFile } from "@augment-it/host-client";
import { ImportForm } from "./ImportForm";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

const RECENT: RecentFile[] = [{ id: "recent-1", name: "people.csv", folder: "/home/ana/data", usedAt: 0 }];

function shell(recent: RecentFile[] = RECENT) {
  const calls: Call[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "recent_files") return recent;
      if (cmd === "choose_recent_file") {
        if (args.id === "recent-gone") throw { code: "invalidInput", message: "old.csv is no longer in /tmp: it was moved or deleted; choose the file again" };
        return { token: "file-recent", name: "people.csv" };
      }
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const drop = (dropped: FilesDropped) => act(() => emit("files-dropped", dropped));
const chosen = () => screen.getByTestId("rc-file");

describe("a drop on the window", () => {
  it("picks the first file while the form is on screen, with its format and name", async () => {
    shell();
    render(<ImportForm onSaved={() => {}} />);
    await screen.findByTestId("rc-recent");
    await drop({ files: [{ token: "file-d1", name: "cities.json" }], skipped: [] });
    await waitFor(() => expect(chosen().textContent).toBe("cities.json"));
    expect(chosen().dataset.chosen).toBe("true");
    expect((screen.getByTestId("rc-format") as HTMLSelectElement).value).toBe("json");
    expect((screen.getByTestId("rc-name") as HTMLInputElement).value).toBe("cities");
  });

  it("is ignored while another screen is shown", async () => {
    shell();
    render(
      <div hidden>
        <ImportForm onSaved={() => {}} />
      </div>,
    );
    await screen.findByTestId("rc-recent");
    await drop({ files: [{ token: "file-d1", name: "cities.json" }], skipped: [] });
    expect(chosen().dataset.chosen).toBe("false");
  });

  it("of a folder says to drop a file", async () => {
    shell();
    render(<ImportForm onSaved={() => {}} />);
    await screen.findByTestId("rc-recent");
    await drop({ files: [], skipped: ["photos"] });
    expect((await screen.findByTestId("rc-error")).textContent).toContain("photos is not a file");
    expect(chosen().dataset.chosen).toBe("false");
  });
});

describe("recent files", () => {
  it("are offered by name and folder and chosen through Rust", async () => {
    const calls = shell();
    render(<ImportForm onSaved={() => {}} />);
    const select = (await screen.findByTestId("rc-recent")) as HTMLSelectElement;
    expect(select.textContent).toContain("people.csv — /home/ana/data");
    fireEvent.change(select, { target: { value: "recent-1" } });
    await waitFor(() => expect(chosen().textContent).toBe("people.csv"));
    expect(calls.find((c) => c.cmd === "choose_recent_file")?.args).toEqual({ id: "recent-1" });
  });

  it("say when a file has moved", async () => {
    shell([{ id: "recent-gone", name: "old.csv", folder: "/tmp", usedAt: 0 }]);
    render(<ImportForm onSaved={() => {}} />);
    fireEvent.change(await screen.findByTestId("rc-recent"), { target: { value: "recent-gone" } });
    expect((await screen.findByTestId("rc-error")).textContent).toContain("old.csv is no longer in /tmp");
  });

  it("are not shown when there are none", async () => {
    const calls = shell([]);
    render(<ImportForm onSaved={() => {}} />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "recent_files")).toBe(true));
    expect(screen.queryByTestId("rc-recent")).toBeNull();
  });
});
