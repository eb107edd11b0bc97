// The data-store wrappers through Tauri's IPC mock: the command names and
// argument shapes src-tauri/src/commands/datastores.rs takes (camelCase keys),
// a credential sent only when given, and rejections as HostError.
import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { datastores, HostError, type DatastoreSource } from "./index";

afterEach(() => clearMocks());

const source: DatastoreSource = { kind: "nocodb", base_url: "http://127.0.0.1:9", table_id: "m1", token_kind: "xc-token" };

function record() {
  const seen: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    seen.push({ cmd, args });
    if (cmd === "save_datastore_connection") return { name: "crm", kind: "nocodb", source, hasCredential: true };
    return null;
  });
  return seen;
}

describe("datastores", () => {
  it("sends the credential only when one is given, so a save without it keeps the stored one", async () => {
    const seen = record();
    await datastores.save("crm", source, "tok-1");
    await datastores.save("crm", source);
    expect(seen[0]).toEqual({ cmd: "save_datastore_connection", args: { name: "crm", source, credential: "tok-1" } });
    expect(seen[1]?.args).toEqual({ name: "crm", source });
    expect(seen[1]?.args).not.toHaveProperty("credential");
  });

  it("names the commands and arguments as the shell does", async () => {
    const seen = record();
    await datastores.list();
    await datastores.preview("crm", 50);
    await datastores.import("crm", "customers", { keyColumn: "Id", columns: [{ source: "Name", target: "name" }] });
    await datastores.writeBack(3, "crm", { answer: "AI answer" }, true);
    await datastores.remove("crm");
    expect(seen.map((s) => s.cmd)).toEqual([
      "list_datastore_connections",
      "preview_datastore",
      "import_datastore",
      "write_back_run",
      "delete_datastore_connection",
    ]);
    expect(seen[1]?.args).toEqual({ connection: "crm", rows: 50 });
    expect(seen[2]?.args).toEqual({ connection: "crm", name: "customers", mapping: { keyColumn: "Id", columns: [{ source: "Name", target: "name" }] } });
    expect(seen[3]?.args).toEqual({ run: 3, connection: "crm", columns: { answer: "AI answer" }, createColumns: true });
  });

  it("turns a refusal into a HostError naming the command", async () => {
    mockIPC(() => {
      throw { code: "unauthorized", message: "nocodb refused the credential (401)" };
    });
    const err = (await datastores.preview("crm").catch((e: unknown) => e)) as HostError;
    expect(err).toBeInstanceOf(HostError);
    expect(err.command).toBe("preview_datastore");
    expect(err.message).toContain("refused the credential");
  });
});
