// Helpers shared by the vitest suites of the remotes and the shell UI.

/** A reply held until the test resolves or rejects it (Node 20 has no Promise.withResolvers). */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
