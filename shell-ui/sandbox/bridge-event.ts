// `@tauri-apps/api/event` inside a sandboxed remote's frame: the shell does
// not forward its events to sandboxed remotes (yet), so listening fails
// with a clear error instead of silently never firing.
export type UnlistenFn = () => void;
export interface Event<T> {
  event: string;
  id: number;
  payload: T;
}

export async function listen<T>(event: string, _handler: (event: Event<T>) => void): Promise<UnlistenFn> {
  throw { code: "refused", message: `sandboxed remotes cannot listen to shell events (${event}); poll the matching command instead` };
}
