// AI provider keys: write-only. A key typed here goes to Rust, which stores it
// in the OS keychain; nothing ever sends it back, so the panel shows only
// "set" / "not set". The input is cleared as soon as the key is saved.
// Types mirror src-tauri/src/commands/keys.rs (serde camelCase).
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { useCallback, useEffect, useRef, useState } from "react";
import { ErrorState } from "@augment-it/ui-kit";
import { asCommandError } from "./ipc";

// The views are host-client's, the one copy the shell and the remotes share.
import type { KeyState, KeyTest, ProviderSettings, ProviderView } from "./ipc";

const keys = {
  status: () => invoke<ProviderView[]>("provider_status"),
  set: (provider: string, key: string) => invoke<KeyState>("set_api_key", { provider, key }),
  remove: (provider: string) => invoke<KeyState>("delete_api_key", { provider }),
  test: (provider: string) => invoke<KeyTest>("test_api_key", { provider }),
  models: (provider: string) => invoke<{ id: string; displayName: string | null }[]>("provider_models", { provider }),
  saveSettings: (provider: string, baseUrl: string, defaultModel: string) =>
    invoke<ProviderSettings>("save_provider_settings", { provider, baseUrl, defaultModel }),
  add: (provider: string, kind: ProviderKind, baseUrl: string, defaultModel: string) =>
    invoke<ProviderSettings>("add_provider", { provider, kind, baseUrl, defaultModel }),
  removeProvider: (provider: string) => invoke<null>("remove_provider", { provider }),
};

type ProviderKind = NonNullable<ProviderSettings["kind"]>;

/** The kinds a person can add, with the address each listens on by default (crates/providers' `ProviderKind`). */
export const KINDS: { kind: ProviderKind; label: string; defaultBaseUrl: string | null }[] = [
  { kind: "ollama", label: "Ollama", defaultBaseUrl: "http://localhost:11434" },
  { kind: "lm-studio", label: "LM Studio", defaultBaseUrl: "http://localhost:1234" },
  { kind: "vllm", label: "vLLM", defaultBaseUrl: "http://localhost:8000" },
  { kind: "openai-compatible", label: "Other OpenAI-compatible", defaultBaseUrl: null },
];

/** What is wrong with a new provider's id before asking the shell (which checks it again), or null. */
export function providerIdProblem(id: string): string | null {
  if (id === "") return "Name the provider, e.g. ollama or my-vllm.";
  if (!/^[a-z0-9-]{1,40}$/.test(id)) return "A provider's name is 1 to 40 lowercase letters, digits or dashes.";
  return null;
}

const LABEL: Record<KeyState, string> = { set: "set", notSet: "not set", fromEnvironment: "set (from environment)" };

export function KeysPanel() {
  // null until the shell has answered (the list is the shell's known providers, never empty).
  const [providers, setProviders] = useState<ProviderView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setProviders(await keys.status());
      setError(null);
    } catch (err) {
      setError(asCommandError(err).message);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <section className="panel" data-testid="keys">
      <h2>AI provider keys</h2>
      <p className="muted">Keys are kept in the OS keychain and never shown again. Only the app's Rust side reads them, to sign requests.</p>
      {error && <ErrorState title="Could not read the providers' keys" detail={error} onRetry={() => void refresh()} />}
      {providers === null && !error && (
        <p className="aui-muted" role="status">
          Loading the providers…
        </p>
      )}
      {providers?.map((p) => (
        <ProviderRow key={p.provider} view={p} onChanged={refresh} />
      ))}
      {providers && <AddProvider existing={providers.map((p) => p.provider)} onAdded={refresh} />}
    </section>
  );
}

/** Ollama, LM Studio, vLLM or any OpenAI-compatible endpoint, as a provider of its own (issue 17, point 7). */
function AddProvider(props: { existing: string[]; onAdded: () => Promise<void> }) {
  const [id, setId] = useState("");
  const [kind, setKind] = useState<ProviderKind>("ollama");
  const [baseUrl, setBaseUrl] = useState("");
  const [model, setModel] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const preset = KINDS.find((k) => k.kind === kind);

  const add = async () => {
    const name = id.trim();
    const problem =
      providerIdProblem(name) ??
      (props.existing.includes(name) ? `There is already a provider named ${name}.` : null) ??
      (preset?.defaultBaseUrl === null && baseUrl.trim() === "" ? "An OpenAI-compatible provider needs its base URL." : null);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    try {
      await keys.add(name, kind, baseUrl, model);
      setError(null);
      setId("");
      setBaseUrl("");
      setModel("");
      await props.onAdded();
    } catch (err) {
      setError(asCommandError(err).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="provider provider-add"
      data-testid="provider-add"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <h3>Add a provider</h3>
      <p className="muted">A local server or any OpenAI-compatible endpoint, with or without a key. The base URL may end in /v1.</p>
      <select aria-label="Kind of provider" data-testid="provider-add-kind" value={kind} onChange={(e) => setKind(e.target.value as ProviderKind)}>
        {KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label}
          </option>
        ))}
      </select>{" "}
      <input aria-label="Provider name" data-testid="provider-add-id" value={id} placeholder={kind === "openai-compatible" ? "e.g. my-llm" : kind} onChange={(e) => setId(e.target.value)} />{" "}
      <input aria-label="Base URL" data-testid="provider-add-url" value={baseUrl} placeholder={preset?.defaultBaseUrl ?? "https://llm.example.com/v1"} onChange={(e) => setBaseUrl(e.target.value)} />{" "}
      <input aria-label="Default model" data-testid="provider-add-model" value={model} placeholder="default model" onChange={(e) => setModel(e.target.value)} />{" "}
      <button type="submit" data-testid="provider-add-save" disabled={busy}>
        Add provider
      </button>
      {error && (
        <p className="error" role="alert" data-testid="provider-add-error">
          {error}
        </p>
      )}
    </form>
  );
}

function ProviderRow(props: { view: ProviderView; onChanged: () => Promise<void> }) {
  const { view } = props;
  const id = view.provider;
  // Uncontrolled on purpose: React would mirror a controlled value into the
  // input's `value` attribute, putting the key into the DOM while typing.
  const input = useRef<HTMLInputElement>(null);
  const [hasDraft, setHasDraft] = useState(false);
  const [baseUrl, setBaseUrl] = useState(view.settings.baseUrl ?? "");
  const [model, setModel] = useState(view.settings.defaultModel ?? "");
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // Retries ("rate limited, retrying in 12 s") while a test waits.
    const unlisten = listen<{ provider: string; message: string }>("provider-progress", (event) => {
      if (event.payload.provider === id) setResult({ ok: true, text: event.payload.message });
    });
    return () => {
      void unlisten.then((stop) => stop());
    };
  }, [id]);

  const run = async (action: () => Promise<{ ok: boolean; text: string } | null>) => {
    setBusy(true);
    try {
      const outcome = await action();
      if (outcome) setResult(outcome);
    } catch (err) {
      setResult({ ok: false, text: asCommandError(err).message });
    } finally {
      setBusy(false);
      await props.onChanged();
    }
  };

  const saveKey = () =>
    run(async () => {
      const field = input.current;
      if (!field) return null;
      const key = field.value;
      // Cleared before the reply: the key stays in the page no longer than needed.
      field.value = "";
      setHasDraft(false);
      await keys.set(id, key);
      return { ok: true, text: "Key saved in the OS keychain." };
    });

  return (
    <div className="provider" data-provider={id} data-key-state={view.key}>
      <h3>
        {id} {view.settings.kind && <span className="muted">({KINDS.find((k) => k.kind === view.settings.kind)?.label ?? view.settings.kind})</span>}{" "}
        <span data-testid={`key-status-${id}`}>{view.settings.kind && view.key === "notSet" ? "no key (optional)" : LABEL[view.key]}</span>
      </h3>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void saveKey();
        }}
      >
        <input
          type="password"
          aria-label={`${id} API key`}
          data-testid={`key-input-${id}`}
          autoComplete="off"
          spellCheck={false}
          placeholder={view.key === "notSet" ? "paste the API key" : "paste a new key to replace it"}
          ref={input}
          onChange={(e) => setHasDraft(e.target.value.trim() !== "")}
        />
        <button type="submit" data-testid={`key-save-${id}`} disabled={busy || !hasDraft}>
          Save
        </button>{" "}
        <button
          type="button"
          data-testid={`key-delete-${id}`}
          disabled={busy || view.key !== "set"}
          onClick={() =>
            run(async () => {
              await keys.remove(id);
              return { ok: true, text: "Key deleted from the OS keychain." };
            })
          }
        >
          Delete
        </button>{" "}
        <button
          type="button"
          data-testid={`key-test-${id}`}
          disabled={busy}
          onClick={() =>
            run(async () => {
              setResult({ ok: true, text: "Testing…" });
              const outcome = await keys.test(id);
              return { ok: outcome.ok, text: outcome.message };
            })
          }
        >
          Test
        </button>
      </form>
      {view.key === "fromEnvironment" && <p className="muted">{view.envVar} is set and wins over the keychain.</p>}
      {view.key !== "notSet" && view.settings.keyOrigin && (
        <p className="muted" data-testid={`key-origin-${id}`}>
          The key is sent only to {view.settings.keyOrigin}.
        </p>
      )}
      <div className="provider-settings">
        <input aria-label={`${id} base URL`} data-testid={`base-url-${id}`} value={baseUrl} placeholder={view.defaultBaseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
        <input aria-label={`${id} default model`} data-testid={`model-${id}`} value={model} placeholder="default model" onChange={(e) => setModel(e.target.value)} />
        <button
          type="button"
          data-testid={`settings-save-${id}`}
          disabled={busy}
          onClick={() =>
            run(async () => {
              await keys.saveSettings(id, baseUrl, model);
              return { ok: true, text: "Provider settings saved." };
            })
          }
        >
          Save settings
        </button>{" "}
        <button
          type="button"
          data-testid={`models-${id}`}
          disabled={busy}
          onClick={() =>
            run(async () => {
              const models = await keys.models(id);
              return { ok: true, text: `Models: ${models.map((m) => m.id).join(", ") || "none"}` };
            })
          }
        >
          List models
        </button>
        {view.settings.kind && (
          <>
            {" "}
            <button
              type="button"
              data-testid={`provider-remove-${id}`}
              disabled={busy}
              onClick={() =>
                run(async () => {
                  await keys.removeProvider(id);
                  return null;
                })
              }
            >
              Remove provider
            </button>
          </>
        )}
      </div>
      {result && (
        <p className={result.ok ? "muted" : "error"} data-testid={`key-result-${id}`} data-ok={String(result.ok)} role={result.ok ? undefined : "alert"}>
          {result.text}
        </p>
      )}
    </div>
  );
}
