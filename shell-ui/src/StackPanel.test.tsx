// The Local stack panel's states (issue 16, point 5): loading until the
// stack's state is read; a state that could not be read (no container engine,
// the usual case) as an error with a retry; a failed Start beside the button.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { StackPanel } from "./StackPanel";
import type { StackView } from "./stackIpc";

// Unmount first: the panel's event listeners unregister through the mock, a tick later.
afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
});

const VIEW: StackView = {
  stack: "augment-it",
  engine: { endpoint: "unix:///var/run/docker.sock", kind: "docker", api_version: "1.45" },
  services: [],
  healthy: false,
  busy: null,
  lastImport: null,
  versionMismatch: null,
};
const NO_ENGINE = { code: "engineNotRunning", message: "Docker is not running: start Docker Desktop or Podman, or set DOCKER_HOST" };

describe("StackPanel", () => {
  it("says it is loading until the stack's state is read", async () => {
    let answer!: (view: StackView) => void;
    mockIPC((cmd) => {
      if (cmd === "stack_status") return new Promise<StackView>((resolve) => (answer = resolve));
      throw { code: "internal", message: `unexpected ${cmd}` };
    }, { shouldMockEvents: true });
    render(<StackPanel />);
    expect(screen.getByText("Loading the local stack's state…").getAttribute("role")).toBe("status");
    expect(screen.queryByTestId("stack-error")).toBeNull();
    await waitFor(() => expect(answer).toBeTypeOf("function"));
    await act(async () => answer(VIEW));
    expect((await screen.findByTestId("stack-summary")).textContent).toContain("not running");
    expect(screen.queryByText("Loading the local stack's state…")).toBeNull();
  });

  it("shows a state it could not read as an error with a retry that reads it again", async () => {
    let failing = true;
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd !== "stack_status") throw { code: "internal", message: `unexpected ${cmd}` };
      if (failing) throw NO_ENGINE;
      return VIEW;
    }, { shouldMockEvents: true });
    render(<StackPanel />);
    const error = await screen.findByTestId("stack-error");
    expect(within(error).getByRole("alert").textContent).toContain("Could not read the local stack's state");
    expect(error.textContent).toContain(NO_ENGINE.message);
    expect(screen.queryByText("Loading the local stack's state…")).toBeNull();
    failing = false;
    fireEvent.click(within(error).getByText("Retry"));
    expect(await screen.findByTestId("stack-summary")).toBeTruthy();
    expect(screen.queryByTestId("stack-error")).toBeNull();
    expect(calls).toEqual(["stack_status", "stack_status"]);
  });

  it("shows a failed Start beside the buttons in place of the read's error", async () => {
    mockIPC((cmd) => {
      if (cmd === "stack_status" || cmd === "stack_up") throw NO_ENGINE;
      throw { code: "internal", message: `unexpected ${cmd}` };
    }, { shouldMockEvents: true });
    render(<StackPanel />);
    await screen.findByText("Could not read the local stack's state");
    fireEvent.click(screen.getByTestId("stack-start"));
    await waitFor(() => expect(screen.queryByText("Could not read the local stack's state")).toBeNull());
    const errors = screen.getAllByTestId("stack-error");
    expect(errors).toHaveLength(1);
    expect(errors[0].tagName).toBe("P");
    expect(errors[0].getAttribute("role")).toBe("alert");
    expect(errors[0].textContent).toBe(NO_ENGINE.message);
  });

  // Issue 18, point 1: in a source checkout Start builds the service
  // binaries first, line by line; a stack made by another version says so.
  it("shows the binaries' build while Start runs, and a stack of another version", async () => {
    const mismatch = "the stack runs 0.1.0, this app is 0.2.0: press Start to update";
    mockIPC((cmd) => {
      if (cmd === "stack_status") return { ...VIEW, versionMismatch: mismatch };
      if (cmd === "stack_up") return true;
      throw { code: "internal", message: `unexpected ${cmd}` };
    }, { shouldMockEvents: true });
    render(<StackPanel />);
    expect((await screen.findByTestId("stack-version-mismatch")).textContent).toBe(mismatch);
    expect(screen.queryByTestId("stack-building")).toBeNull();
    fireEvent.click(screen.getByTestId("stack-start"));
    await act(() => emit("stack-progress", { operation: "up", phase: "started", error: null }));
    await act(() => emit("stack-progress", { operation: "up", phase: "started", error: null, building: "Compiling gateway v0.1.0" }));
    expect((await screen.findByTestId("stack-building")).textContent).toBe("Building the service binaries: Compiling gateway v0.1.0");
    expect(screen.getByTestId("stack-start").textContent).toBe("Starting…");
    await act(() => emit("stack-progress", { operation: "up", phase: "done", error: null }));
    await waitFor(() => expect(screen.queryByTestId("stack-building")).toBeNull());
    expect(screen.getByTestId("stack-start").textContent).toBe("Start");
  });
});
