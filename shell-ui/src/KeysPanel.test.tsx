// Settings → Keys: providers the person adds (issue 17, point 7). Adding
// checks what it can before asking the shell and shows the shell's refusal
// after the person acts; an added provider is listed with its kind and can be
// removed; the built-in ones cannot.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { KeysPanel, providerIdProblem } from "./KeysPanel";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
});

type View = { provider: string; key: string; envVar: string; defaultBaseUrl: string; settings: Record<string, unknown> };

const builtin = (provider: string): View => ({ provider, key: "notSet", envVar: `AUGMENT_${provider.toUpperCase()}_API_KEY`, defaultBaseUrl: "https://api.example.com", settings: {} });

/** A shell whose provider list grows and shrinks with add_provider and remove_provider. */
function shell(refuse?: (args: Record<string, unknown>) => string | null) {
  const views: View[] = [builtin("openai"), builtin("anthropic"), builtin("groq")];
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "provider_status") return [...views];
      if (cmd === "add_provider") {
        const why = refuse?.(args);
        if (why) throw { code: "invalidInput", message: why };
        const kind = args.kind as string;
        views.push({ provider: args.provider as string, key: "notSet", envVar: "AUGMENT_X_API_KEY", defaultBaseUrl: kind === "ollama" ? "http://localhost:11434" : "", settings: { kind, baseUrl: (args.baseUrl as string) || null } });
        return views[views.length - 1]?.settings;
      }
      if (cmd === "remove_provider") {
        views.splice(views.findIndex((v) => v.provider === args.provider), 1);
        return null;
      }
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  render(<KeysPanel />);
  return { calls, adds: () => calls.filter((c) => c.cmd === "add_provider") };
}

const type = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

describe("adding a provider", () => {
  it("adds an Ollama server under its name, lists it with its kind and no key needed, and removes it", async () => {
    const { calls } = shell();
    await screen.findByTestId("provider-add");
    type("provider-add-id", "ollama");
    fireEvent.click(screen.getByTestId("provider-add-save"));
    expect((await screen.findByTestId("key-status-ollama")).textContent).toBe("no key (optional)");
    expect(calls.find((c) => c.cmd === "add_provider")?.args).toEqual({ provider: "ollama", kind: "ollama", baseUrl: "", defaultModel: "" });
    const row = screen.getByTestId("key-status-ollama").closest("[data-provider]") as HTMLElement;
    expect(row.textContent).toContain("(Ollama)");
    expect((screen.getByTestId("provider-add-id") as HTMLInputElement).value).toBe("");
    expect(screen.queryByTestId("provider-remove-openai")).toBeNull();

    fireEvent.click(screen.getByTestId("provider-remove-ollama"));
    await waitFor(() => expect(screen.queryByTestId("key-status-ollama")).toBeNull());
    expect(calls.filter((c) => c.cmd === "remove_provider").map((c) => c.args)).toEqual([{ provider: "ollama" }]);
  });

  it("sends a generic endpoint with its base URL as typed (the shell drops a /v1)", async () => {
    const { adds } = shell();
    await screen.findByTestId("provider-add");
    fireEvent.change(screen.getByTestId("provider-add-kind"), { target: { value: "openai-compatible" } });
    type("provider-add-id", "my-llm");
    type("provider-add-url", "http://localhost:8080/v1");
    type("provider-add-model", "qwen2.5");
    fireEvent.click(screen.getByTestId("provider-add-save"));
    await screen.findByTestId("key-status-my-llm");
    expect(adds().map((c) => c.args)).toEqual([{ provider: "my-llm", kind: "openai-compatible", baseUrl: "http://localhost:8080/v1", defaultModel: "qwen2.5" }]);
  });

  it("says what is wrong before asking the shell, only after the person acts", async () => {
    const { adds } = shell();
    await screen.findByTestId("provider-add");
    expect(screen.queryByTestId("provider-add-error")).toBeNull();
    for (const [id, kind, expected] of [
      ["", "ollama", "Name the provider"],
      ["My LLM", "ollama", "lowercase letters, digits or dashes"],
      ["openai", "vllm", "already a provider named openai"],
      ["mine", "openai-compatible", "needs its base URL"],
    ] as const) {
      fireEvent.change(screen.getByTestId("provider-add-kind"), { target: { value: kind } });
      type("provider-add-id", id);
      fireEvent.click(screen.getByTestId("provider-add-save"));
      const error = await screen.findByTestId("provider-add-error");
      expect(error.textContent).toContain(expected);
      expect(error.getAttribute("role")).toBe("alert");
    }
    expect(adds()).toEqual([]);
  });

  it("shows the shell's refusal and keeps what was typed", async () => {
    shell(() => "invalid settings for provider lan: the base URL contains a user name or password");
    await screen.findByTestId("provider-add");
    fireEvent.change(screen.getByTestId("provider-add-kind"), { target: { value: "vllm" } });
    type("provider-add-id", "lan");
    type("provider-add-url", "http://u:p@localhost:8000");
    await act(async () => fireEvent.click(screen.getByTestId("provider-add-save")));
    expect((await screen.findByTestId("provider-add-error")).textContent).toContain("user name or password");
    expect((screen.getByTestId("provider-add-id") as HTMLInputElement).value).toBe("lan");
    expect(screen.queryByTestId("key-status-lan")).toBeNull();
  });
});

describe("providerIdProblem", () => {
  it("takes the ids the keychain and settings take", () => {
    for (const ok of ["ollama", "my-vllm-2", "a".repeat(40)]) expect(providerIdProblem(ok)).toBeNull();
    for (const bad of ["", "Ollama", "my_llm", "a b", "a".repeat(41)]) expect(providerIdProblem(bad)).not.toBeNull();
  });
});
