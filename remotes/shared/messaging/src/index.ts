// Typed events between remotes, through the shell. The shell creates one bus
// and installs it here at start-up; because the shell provides this module as
// a shared singleton, every remote's `shellBus()` is that same bus. Nothing is
// put on `window`.
import { useEffect, useRef, useSyncExternalStore } from "react";
import type { RegistryView } from "@augment-it/host-client";

export const MESSAGING_VERSION = "1.0.0";

/** The events of the Augment-It workflow. Add new ones here; payloads are plain data. */
export interface AugmentEvents {
  "dataset.selected": { datasetId: number; name: string };
  "template.selected": { templateId: number; versionId: number; version: number; name: string };
  "requests.approved": { datasetId: number; templateVersionId: number; approved: number };
  "run.started": { runId: number; datasetId: number; total: number };
  "run.finished": { runId: number; datasetId: number; answered: number; failed: number; status: "completed" | "cancelled" | "paused" };
  "remotes.changed": { reason: string };
  /** The shell's last registry check finished: every registry's state, reason and last verification (unix seconds for `checkedAt`). Read it with `useLastEvent`: a remote mounted later still sees it. */
  "registries.checked": { checkedAt: number; registries: RegistryView[] };
}

export type Handler<P> = (payload: P) => void;

export interface EventBus<Events> {
  emit<K extends keyof Events & string>(type: K, payload: Events[K]): void;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events & string>(type: K, handler: Handler<Events[K]>): () => void;
  /** The last payload emitted for `type`, so a remote mounted later still sees the current selection. */
  last<K extends keyof Events & string>(type: K): Events[K] | undefined;
}

/**
 * A bus where one failing handler cannot stop the others (its error is
 * reported to `onHandlerError`, the console by default).
 */
export function createEventBus<Events>(onHandlerError: (type: string, err: unknown) => void = defaultHandlerError): EventBus<Events> {
  const handlers = new Map<keyof Events, Set<Handler<never>>>();
  const lastPayload = new Map<keyof Events, unknown>();
  return {
    emit(type, payload) {
      lastPayload.set(type, payload);
      for (const handler of [...(handlers.get(type) ?? [])]) {
        try {
          (handler as Handler<typeof payload>)(payload);
        } catch (err) {
          onHandlerError(type, err);
        }
      }
    },
    on(type, handler) {
      let set = handlers.get(type);
      if (!set) handlers.set(type, (set = new Set()));
      set.add(handler as Handler<never>);
      return () => {
        set.delete(handler as Handler<never>);
      };
    },
    last(type) {
      return lastPayload.get(type) as Events[typeof type] | undefined;
    },
  };
}

function defaultHandlerError(type: string, err: unknown) {
  console.error(`a handler of "${type}" threw`, err);
}

let installed: EventBus<AugmentEvents> | null = null;

/** Called once by the shell with the bus it owns. */
export function installShellBus(bus: EventBus<AugmentEvents>): void {
  installed = bus;
}

/** The shell's bus. Throws when no shell installed one (e.g. a remote opened outside the shell). */
export function shellBus(): EventBus<AugmentEvents> {
  if (!installed) {
    throw new Error("no shell bus is installed: remotes get it from the shell, which calls installShellBus() at start-up");
  }
  return installed;
}

/** Runs `handler` for every `type` event while the component is mounted. */
export function useEvent<K extends keyof AugmentEvents & string>(type: K, handler: Handler<AugmentEvents[K]>): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => shellBus().on(type, (payload) => latest.current(payload)), [type]);
}

/** The latest payload of `type` (undefined until one is emitted), re-rendering on each new one. */
export function useLastEvent<K extends keyof AugmentEvents & string>(type: K): AugmentEvents[K] | undefined {
  return useSyncExternalStore(
    (notify) => shellBus().on(type, notify),
    () => shellBus().last(type),
    () => shellBus().last(type),
  );
}
