// The dashboard's price table (issue 17, point 7) against the IPC mock: a
// cell is edited in place and saved as the whole row, an override is reset to
// its list price, a local model is priced by hand, and what is not a price is
// refused before anything is sent.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { PriceRow, Rates } from "@augment-it/host-client";
import { Prices } from "./Prices";
import { formatRate, parseRate } from "./prices";

afterEach(() => {
  cleanup();
  clearMocks();
});

const LIST: Rates = { input: 0.15, output: 0.6, cachedInput: 0.075, batchInput: 0.075, batchOutput: 0.3 };

/** A shell keeping a price table: list prices plus overrides. */
function shell() {
  const overrides = new Map<string, Rates>();
  const calls: { cmd: string; args: unknown }[] = [];
  const rows = (): PriceRow[] => {
    const mini = overrides.get("openai/gpt-4o-mini");
    const out: PriceRow[] = [{ provider: "openai", model: "gpt-4o-mini", rates: mini ?? LIST, default: LIST, overridden: mini !== undefined }];
    for (const [key, rates] of overrides) {
      const [provider, model] = key.split("/") as [string, string];
      if (key !== "openai/gpt-4o-mini") out.push({ provider, model, rates, default: null, overridden: true });
    }
    return out;
  };
  mockIPC((cmd, raw) => {
    const args = raw as { provider: string; model: string; rates: Rates };
    calls.push({ cmd, args });
    if (cmd === "list_prices") return rows();
    if (cmd === "set_price") {
      if (args.provider.trim() === "") throw { code: "invalidInput", message: "price: the provider of a price is 1 to 200 characters" };
      overrides.set(`${args.provider}/${args.model}`, args.rates);
      return rows().find((r) => r.model === args.model);
    }
    if (cmd === "reset_price") {
      overrides.delete(`${args.provider}/${args.model}`);
      return rows().find((r) => r.model === args.model) ?? null;
    }
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  render(<Prices />);
  return calls;
}

const cell = (model: string, column: string) =>
  within(screen.getByRole("grid", { name: "Prices" }))
    .getByText(model)
    .closest("[role=row]")
    ?.querySelector(`[data-column=${column}]`) as HTMLElement;

describe("the price table", () => {
  it("lists the list prices, saves an edited cell as the whole row, and resets it", async () => {
    const calls = shell();
    await screen.findByRole("grid", { name: "Prices" });
    expect(cell("gpt-4o-mini", "batchInput").textContent).toBe("$0.075");
    expect(cell("gpt-4o-mini", "source").textContent).toBe("list price");

    fireEvent.doubleClick(cell("gpt-4o-mini", "input"));
    const editor = screen.getByLabelText("Input price of openai/gpt-4o-mini") as HTMLInputElement;
    expect(editor.value).toBe("0.15");
    fireEvent.change(editor, { target: { value: "0.2" } });
    await act(async () => fireEvent.keyDown(editor, { key: "Enter" }));
    await waitFor(() => expect(cell("gpt-4o-mini", "input").textContent).toBe("$0.2"));
    expect(calls.find((c) => c.cmd === "set_price")?.args).toEqual({ provider: "openai", model: "gpt-4o-mini", rates: { ...LIST, input: 0.2 } });

    await act(async () => fireEvent.click(screen.getByLabelText("Reset openai/gpt-4o-mini to its list price")));
    await waitFor(() => expect(cell("gpt-4o-mini", "input").textContent).toBe("$0.15"));
    expect(cell("gpt-4o-mini", "source").textContent).toBe("list price");
  });

  it("keeps the editor open with the reason when the text is not a price, sending nothing", async () => {
    const calls = shell();
    await screen.findByRole("grid", { name: "Prices" });
    fireEvent.doubleClick(cell("gpt-4o-mini", "output"));
    const editor = screen.getByLabelText("Output price of openai/gpt-4o-mini") as HTMLInputElement;
    fireEvent.change(editor, { target: { value: "cheap" } });
    await act(async () => fireEvent.keyDown(editor, { key: "Enter" }));
    expect((await screen.findByRole("alert")).textContent).toContain("US dollars per million tokens");
    expect(screen.getByLabelText("Output price of openai/gpt-4o-mini")).toBeTruthy();
    expect(calls.filter((c) => c.cmd === "set_price")).toEqual([]);
  });

  it("prices a local model by hand and shows the shell's refusal after Add", async () => {
    const calls = shell();
    await screen.findByRole("grid", { name: "Prices" });
    fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "ollama" } });
    fireEvent.change(screen.getByLabelText("Model"), { target: { value: "llama3.2" } });
    fireEvent.change(screen.getByLabelText("Input $/M"), { target: { value: "0" } });
    fireEvent.change(screen.getByLabelText("Output $/M"), { target: { value: "0" } });
    await act(async () => fireEvent.click(screen.getByText("Add price")));
    await waitFor(() => expect(cell("llama3.2", "input").textContent).toBe("$0"));
    expect(cell("llama3.2", "batchInput").textContent).toBe("—");
    expect(calls.find((c) => c.cmd === "set_price")?.args).toEqual({
      provider: "ollama",
      model: "llama3.2",
      rates: { input: 0, output: 0, cachedInput: null, batchInput: null, batchOutput: null },
    });

    fireEvent.change(screen.getByLabelText("Provider"), { target: { value: " " } });
    fireEvent.change(screen.getByLabelText("Model"), { target: { value: "x" } });
    expect((screen.getByText("Add price") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "ollama" } });
    fireEvent.change(screen.getByLabelText("Input $/M"), { target: { value: "-1" } });
    await act(async () => fireEvent.click(screen.getByText("Add price")));
    expect(screen.getByTestId("admin-prices-error").textContent).toContain("US dollars per million tokens");
  });
});

describe("parseRate", () => {
  it("reads dollars per million tokens, empty as unknown, and refuses the rest", () => {
    expect(parseRate("0.15")).toBe(0.15);
    expect(parseRate(" $2 ")).toBe(2);
    expect(parseRate(".5")).toBe(0.5);
    expect(parseRate("")).toBeNull();
    expect(parseRate("unknown")).toBeNull();
    for (const bad of ["-1", "1e3", "abc", "1,5", "0.1.2"]) expect(parseRate(bad)).toBeUndefined();
    expect(formatRate(null)).toBe("—");
    expect(formatRate(0.075)).toBe("$0.075");
  });
});
