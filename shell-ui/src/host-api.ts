// What the shell hands to every remote, and what a remote module exports.
// Kept apart from federation.ts so importing the types does not pull in the
// Module Federation runtime.
import type { ComponentType } from "react";

/** What a remote's exposed module may look like: a React component as the
 * default export, or a framework-free `mount(element) → unmount`. */
export type RemoteModule =
  | { default: ComponentType<{ host: HostApi }> }
  | { mount: (element: HTMLElement, host: HostApi) => (() => void) | void };

/** What the shell hands to every remote. Deliberately small: no IPC. */
export interface HostApi {
  hostApiVersion: string;
  remote: { name: string; version: string };
}

export const HOST_API_VERSION = "1.11.0";

