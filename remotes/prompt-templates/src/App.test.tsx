// The Prompt Template Manager against Tauri's IPC mock answering like the
// shell, with the shell's bus installed as the shell does.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { Dataset, Template, TemplateVersion } from "@augment-it/host-client";
import { Toaster } from "@augment-it/ui-kit";
import PromptTemplates from "./App";
import { DEBOUNCE_MS } from "./useLivePreview";
import { deferred } from "../../testing";

const bus = createEventBus<AugmentEvents>();
const templateEvents: AugmentEvents["template.selected"][] = [];
beforeAll(() => {
  installShellBus(bus);
  bus.on("template.selected", (p) => templateEvents.push(p));
});
afterEach(() => {
  clearMocks();
  templateEvents.length = 0;
});

const people: Dataset = {
  id: 7,
  name: "people",
  format: "csv",
  columns: [
    { name: "name", type: "string" },
    { name: "city", type: "string" },
  ],
  row_count: 3,
  created_at: 0,
};

function version(id: number, n: number, body: string): TemplateVersion {
  return { id, template_id: 3, version: n, body, created_at: 0 };
}

const v1 = version(11, 1, "Hi {{ name }}");
const v2 = version(12, 2, "Hello {{ name }} from {{ city }}");
const greet: Template = { id: 3, name: "greet", current: v2, version_count: 2, created_at: 0 };

type Call = { cmd: string; args: Record<string, unknown> };

/** Renders `{{ field }}` against record 100+offset like the shell; "oops" is a missing field. */
function shell(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const calls: Call[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const override = overrides[cmd];
    if (override) return override(args);
    if (cmd === "list_datasets") return [people];
    if (cmd === "list_templates") return [greet];
    if (cmd === "template_versions") return [v2, v1];
    if (cmd === "dataset_records") {
      const q = args.query as { offset: number };
      return { total: 3, items: q.offset < 3 ? [{ id: 100 + q.offset, position: q.offset, fields: {} }] : [] };
    }
    if (cmd === "check_template") {
      const missing = [...String(args.body).matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).filter((f) => f === "oops");
      return { missing_fields: missing, warning: missing.length ? "1 field is not a column of this dataset" : null };
    }
    if (cmd === "preview_template") {
      if (String(args.body).includes("{%")) throw { code: "templateSyntax", message: "syntax error: unexpected end of input (line 1)" };
      return String(args.body).replace(/\{\{\s*(\w+)\s*\}\}/g, (_, f) => `<${f}@${args.recordId}>`);
    }
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

function selectPeople() {
  bus.emit("dataset.selected", { datasetId: 7, name: "people" });
}

function typeBody(text: string) {
  fireEvent.change(screen.getByTestId("pt-body"), { target: { value: text } });
}

describe("without a dataset", () => {
  it("says to pick one in the Record Collector", () => {
    shell();
    const fresh = createEventBus<AugmentEvents>();
    installShellBus(fresh);
    try {
      render(<PromptTemplates />);
      expect(screen.getByText(/Pick or import a dataset in the Record Collector/)).toBeTruthy();
      expect(screen.queryByTestId("pt-body")).toBeNull();
    } finally {
      installShellBus(bus);
    }
  });
});

describe("editor", () => {
  it("shows no error before anything is typed, and none again once the body is cleared", async () => {
    const calls = shell({
      check_template: (args) => {
        if (String(args.body).trim() === "") throw { code: "invalidInput", message: "body: the template is empty: write the prompt to send" };
        return { missing_fields: [], warning: null };
      },
    });
    selectPeople();
    render(<PromptTemplates />);
    await screen.findByRole("button", { name: "city" });
    typeBody("{{ name }}");
    await waitFor(() => expect(screen.getByTestId("pt-preview").textContent).toBe("<name@100>"));
    vi.useFakeTimers();
    try {
      typeBody("");
      await act(() => vi.advanceTimersByTimeAsync(DEBOUNCE_MS * 2));
    } finally {
      vi.useRealTimers();
    }
    expect(calls.filter((c) => c.cmd === "check_template").map((c) => c.args.body)).toEqual(["{{ name }}"]);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(document.querySelector(".aui-field-error")).toBeNull();
  });

  it("inserts a column chip and previews the first record after the typing settles", async () => {
    const calls = shell();
    selectPeople();
    render(<PromptTemplates />);
    const chip = await screen.findByRole("button", { name: "city" });
    typeBody("From ");
    fireEvent.click(chip);
    expect((screen.getByTestId("pt-body") as HTMLTextAreaElement).value).toBe("From {{ city }}");
    await waitFor(() => expect(screen.getByTestId("pt-preview").textContent).toBe("From <city@100>"));
    expect(calls.filter((c) => c.cmd === "dataset_records").at(-1)?.args).toEqual({ datasetId: 7, query: { offset: 0, limit: 1 } });
    expect(calls.filter((c) => c.cmd === "check_template").at(-1)?.args).toEqual({ body: "From {{ city }}", datasetId: 7 });
    // Debounced: the intermediate body "From " was never previewed on its own after the chip replaced it.
    expect(calls.filter((c) => c.cmd === "preview_template").map((c) => c.args.body)).not.toContain("From ");
    expect(screen.queryByTestId("pt-missing")).toBeNull();
  });

  it("previews another record by number", async () => {
    shell();
    selectPeople();
    render(<PromptTemplates />);
    typeBody("{{ name }}");
    await waitFor(() => expect(screen.getByTestId("pt-preview").textContent).toBe("<name@100>"));
    fireEvent.change(screen.getByTestId("pt-record"), { target: { value: "3" } });
    await waitFor(() => expect(screen.getByTestId("pt-preview").textContent).toBe("<name@102>"));
  });

  it("flags missing fields and warns next to save", async () => {
    shell();
    selectPeople();
    render(<PromptTemplates />);
    typeBody("{{ name }} {{ oops }}");
    const missing = await screen.findByTestId("pt-missing");
    expect(missing.textContent).toContain("oops");
    expect(missing.textContent).not.toContain("name,");
    expect(screen.getByTestId("pt-save-warning").textContent).toContain("can't be generated");
    typeBody("{{ name }}");
    await waitFor(() => expect(screen.queryByTestId("pt-missing")).toBeNull());
  });

  it("checks the same body against a newly selected dataset", async () => {
    const calls = shell({
      list_datasets: () => [people, { ...people, id: 8, name: "cities", columns: [{ name: "city", type: "string" }] }],
    });
    selectPeople();
    render(<PromptTemplates />);
    typeBody("{{ city }}");
    await waitFor(() => expect(calls.filter((c) => c.cmd === "check_template").at(-1)?.args).toEqual({ body: "{{ city }}", datasetId: 7 }));
    bus.emit("dataset.selected", { datasetId: 8, name: "cities" });
    expect(await screen.findByText("cities")).toBeTruthy();
    expect((screen.getByTestId("pt-body") as HTMLTextAreaElement).value).toBe("{{ city }}");
    await waitFor(() => expect(calls.filter((c) => c.cmd === "check_template").at(-1)?.args).toEqual({ body: "{{ city }}", datasetId: 8 }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "name" })).toBeNull());
  });

  it("shows a syntax error from the preview", async () => {
    shell();
    selectPeople();
    render(<PromptTemplates />);
    typeBody("{% if name ");
    expect((await screen.findByTestId("pt-preview-error")).textContent).toContain("unexpected end of input (line 1)");
  });
});

describe("stale replies", () => {
  it("never lets a slow reply for an older body overwrite the newer preview", async () => {
    let releaseSlow: (() => void) | null = null;
    shell({
      preview_template: (args) =>
        args.body === "slow"
          ? new Promise<string>((resolve) => {
              releaseSlow = () => resolve("rendered slow");
            })
          : `rendered ${String(args.body)}`,
    });
    selectPeople();
    render(<PromptTemplates />);
    typeBody("slow");
    await waitFor(() => expect(releaseSlow).not.toBeNull());
    typeBody("fast");
    await waitFor(() => expect(screen.getByTestId("pt-preview").textContent).toBe("rendered fast"));
    (releaseSlow as unknown as () => void)();
    // A macrotask boundary: every microtask of the released reply has run by then.
    await act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    expect(screen.getByTestId("pt-preview").textContent).toBe("rendered fast");
  });
});

describe("saving and versions", () => {
  it("creates a template, emits it and toasts its version", async () => {
    const created: Template = { id: 4, name: "intro", current: version(20, 1, "Hi {{ name }}"), version_count: 1, created_at: 0 };
    const calls = shell({ create_template: () => created, template_versions: () => [created.current] });
    selectPeople();
    render(<PromptTemplates />);
    fireEvent.change(screen.getByTestId("pt-name"), { target: { value: "intro" } });
    typeBody("Hi {{ name }}");
    fireEvent.click(screen.getByTestId("pt-save"));
    await waitFor(() => expect(templateEvents).toContainEqual({ templateId: 4, versionId: 20, version: 1, name: "intro" }));
    expect(calls.find((c) => c.cmd === "create_template")?.args).toEqual({ name: "intro", body: "Hi {{ name }}" });
    expect(calls.some((c) => c.cmd === "add_template_version")).toBe(false);
    await waitFor(() => expect((screen.getByTestId("pt-save") as HTMLButtonElement).disabled).toBe(false));
  });

  it("attaches a JSON Schema to the version, and says when it is not JSON before sending it", async () => {
    const schema = '{"type": "object", "properties": {"score": {"type": "integer"}}}';
    const created: Template = { id: 5, name: "rate", current: { ...version(21, 1, "Rate {{ name }}"), schema }, version_count: 1, created_at: 0 };
    const calls = shell({ create_template: () => created, template_versions: () => [created.current] });
    selectPeople();
    render(<PromptTemplates />);
    fireEvent.change(screen.getByTestId("pt-name"), { target: { value: "rate" } });
    typeBody("Rate {{ name }}");
    fireEvent.change(screen.getByTestId("pt-schema"), { target: { value: '{"type": "object",' } });
    expect(screen.getByTestId("pt-schema-error").textContent).toContain("The schema is not JSON");
    fireEvent.click(screen.getByTestId("pt-save"));
    expect((await screen.findByText(/fix it or clear it/)).textContent).toBeTruthy();
    expect(calls.some((c) => c.cmd === "create_template")).toBe(false);

    fireEvent.change(screen.getByTestId("pt-schema"), { target: { value: schema } });
    expect(screen.queryByTestId("pt-schema-error")).toBeNull();
    fireEvent.click(screen.getByTestId("pt-save"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "create_template")?.args).toEqual({ name: "rate", body: "Rate {{ name }}", schema }));
    await waitFor(() => expect((screen.getByTestId("pt-schema") as HTMLTextAreaElement).value).toBe(schema));
  });

  it("shows the host's schema error with its path", async () => {
    const calls = shell({
      create_template: () => {
        throw { code: "invalid_schema", message: "the schema is not usable at `/properties/score/type`: \"integr\" is not valid; fix it and save again" };
      },
    });
    selectPeople();
    render(<PromptTemplates />);
    fireEvent.change(screen.getByTestId("pt-name"), { target: { value: "rate" } });
    typeBody("Rate {{ name }}");
    fireEvent.change(screen.getByTestId("pt-schema"), { target: { value: '{"type": "object", "properties": {"score": {"type": "integr"}}}' } });
    fireEvent.click(screen.getByTestId("pt-save"));
    expect((await screen.findByText(/\/properties\/score\/type/)).textContent).toContain("not usable");
    expect(calls.filter((c) => c.cmd === "create_template")).toHaveLength(1);
  });

  it("refuses to save without a name", async () => {
    const calls = shell();
    selectPeople();
    render(<PromptTemplates />);
    typeBody("Hi");
    fireEvent.click(screen.getByTestId("pt-save"));
    expect((await screen.findByText(/Give the template a name/)).textContent).toBeTruthy();
    expect(calls.some((c) => c.cmd === "create_template")).toBe(false);
  });

  it("selects a template, saves a new version and makes an old one current", async () => {
    const v3 = version(13, 3, "Yo {{ name }}");
    let current = greet;
    const calls = shell({
      list_templates: () => [current],
      add_template_version: () => v3,
      set_current_template_version: (args) => {
        const v = [v1, v2, v3].find((x) => x.id === args.versionId) ?? v1;
        current = { ...greet, current: v, version_count: 3 };
        return current;
      },
      template_versions: () => [v3, v2, v1],
    });
    selectPeople();
    render(
      <>
        <PromptTemplates />
        <Toaster autoDismissMs={0} />
      </>,
    );
    const list = await waitFor(() => {
      const el = screen.getByTestId("pt-templates").querySelector('[data-template-id="3"]');
      if (!el) throw new Error("not yet");
      return el as HTMLElement;
    });
    expect(list.textContent).toContain("greet");
    expect(list.textContent).toContain("v2");
    // The item itself is clickable, as the end-to-end test clicks `[data-template-id]`.
    fireEvent.click(list);
    await waitFor(() => expect((screen.getByTestId("pt-body") as HTMLTextAreaElement).value).toBe(v2.body));
    expect(templateEvents.at(-1)).toEqual({ templateId: 3, versionId: 12, version: 2, name: "greet" });
    await waitFor(() => expect(screen.getByTestId("pt-versions").querySelector('[data-version-id="11"]')).toBeTruthy());

    typeBody("Yo {{ name }}");
    fireEvent.click(screen.getByTestId("pt-save"));
    await waitFor(() => expect(templateEvents.at(-1)).toEqual({ templateId: 3, versionId: 13, version: 3, name: "greet" }));
    expect(calls.find((c) => c.cmd === "add_template_version")?.args).toEqual({ templateId: 3, body: "Yo {{ name }}" });
    expect(calls.find((c) => c.cmd === "set_current_template_version")?.args).toEqual({ templateId: 3, versionId: 13 });
    expect(await screen.findByText("Saved version 3")).toBeTruthy();

    const old = screen.getByTestId("pt-versions").querySelector('[data-version-id="11"]') as HTMLElement;
    fireEvent.click(old);
    expect((screen.getByTestId("pt-body") as HTMLTextAreaElement).value).toBe(v1.body);
    fireEvent.click(within(old).getByText("Make current"));
    await waitFor(() => expect(templateEvents.at(-1)).toEqual({ templateId: 3, versionId: 11, version: 1, name: "greet" }));
    expect(calls.filter((c) => c.cmd === "set_current_template_version").at(-1)?.args).toEqual({ templateId: 3, versionId: 11 });
  });

  it("shows the shell's error when saving fails", async () => {
    shell({
      create_template: () => {
        throw { code: "conflict", message: "a template named greet exists: choose another name" };
      },
    });
    selectPeople();
    render(<PromptTemplates />);
    fireEvent.change(screen.getByTestId("pt-name"), { target: { value: "greet" } });
    typeBody("x");
    fireEvent.click(screen.getByTestId("pt-save"));
    expect((await screen.findByText(/choose another name \(conflict\)/)).textContent).toBeTruthy();
  });
});

describe("loading, empty and error states (issue 16, point 5)", () => {
  it("says the templates are loading, not that there are none, until the shell answers", async () => {
    const list = deferred<Template[]>();
    shell({ list_templates: () => list.promise });
    selectPeople();
    render(<PromptTemplates />);
    expect(screen.getByText("Loading templates…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("No templates yet")).toBeNull();
    await act(async () => list.resolve([]));
    const empty = await screen.findByText("No templates yet");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Write a body and save it");
    expect(screen.queryByText("Loading templates…")).toBeNull();
  });

  it("shows a failed template list in the list, with a retry that lists them", async () => {
    let failing = true;
    const calls = shell({
      list_templates: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return [greet];
      },
    });
    selectPeople();
    render(<PromptTemplates />);
    const alert = (await screen.findByText("Could not load templates")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("the database is locked (database)");
    // A load is not a save: the save's error stays away.
    expect(screen.queryByText("The template could not be saved or loaded")).toBeNull();
    expect(screen.queryByText("No templates yet")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("pt-templates").querySelector('[data-template-id="3"]')).toBeTruthy());
    expect(calls.filter((c) => c.cmd === "list_templates")).toHaveLength(2);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("says the fields are loading, and shows a failure to read them with a retry", async () => {
    const first = deferred<Dataset[]>();
    let attempts = 0;
    shell({ list_datasets: () => (++attempts === 1 ? first.promise : [people]) });
    selectPeople();
    render(<PromptTemplates />);
    expect(screen.getByText("Loading the dataset's fields…").getAttribute("role")).toBe("status");
    await act(async () => first.reject({ code: "database", message: "the database is locked" }));
    const alert = (await screen.findByText("Could not read the dataset's columns")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("the database is locked (database)");
    fireEvent.click(within(alert).getByText("Retry"));
    expect(await screen.findByRole("button", { name: "city" })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("says when the dataset has no fields and no records to preview", async () => {
    shell({
      list_datasets: () => [{ ...people, columns: [], row_count: 0 }],
      dataset_records: () => ({ total: 0, items: [] }),
    });
    selectPeople();
    render(<PromptTemplates />);
    const empty = (await screen.findByText("This dataset has no fields")).closest("[data-state=empty]");
    expect(empty?.textContent).toContain("Record Collector");
    expect((await screen.findByText(/no records to preview/)).textContent).toContain("import some in the Record Collector");
    expect(screen.queryByText(/choose a number from 1 to 0/)).toBeNull();
  });

  it("says a template's versions are loading, and shows their failure with a retry", async () => {
    const first = deferred<TemplateVersion[]>();
    shell({ template_versions: () => first.promise });
    selectPeople();
    render(<PromptTemplates />);
    const item = await waitFor(() => {
      const el = screen.getByTestId("pt-templates").querySelector('[data-template-id="3"]');
      if (!el) throw new Error("not yet");
      return el as HTMLElement;
    });
    fireEvent.click(item);
    expect((await screen.findByText("Loading the versions…")).getAttribute("role")).toBe("status");
    expect(screen.queryByTestId("pt-versions")).toBeNull();
    await act(async () => first.resolve([v2, v1]));
    await waitFor(() => expect(screen.getByTestId("pt-versions").querySelector('[data-version-id="11"]')).toBeTruthy());

    // Asked again (a save of a new version) and failing: the error with a retry, and the save still counts.
    const v3 = version(13, 3, "Yo {{ name }}");
    clearMocks();
    let fail = true;
    shell({
      add_template_version: () => v3,
      set_current_template_version: () => ({ ...greet, current: v3, version_count: 3 }),
      template_versions: () => {
        if (fail) throw { code: "database", message: "the database is locked" };
        return [v3, v2, v1];
      },
    });
    typeBody("Yo {{ name }}");
    fireEvent.click(screen.getByTestId("pt-save"));
    const alert = (await screen.findByText("Could not load the versions")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("the database is locked (database)");
    expect(screen.queryByText("The template could not be saved or loaded")).toBeNull();
    fail = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("pt-versions").querySelector('[data-version-id="13"]')).toBeTruthy());
  });
});
