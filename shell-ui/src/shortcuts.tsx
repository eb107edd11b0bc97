// Keyboard shortcuts (issue 16, point 5): one table, used both to act on a
// key and to list the shortcuts in the help overlay that `?` opens. Keys
// typed into a field are the field's, except Alt chords, which no field uses.
import { useEffect, useRef } from "react";
import { WORKFLOW, type Screen } from "./routes";

export type ShortcutAction = { kind: "screen"; screen: Screen } | { kind: "check" } | { kind: "help" };

export interface Shortcut {
  keys: string;
  what: string;
  matches: (key: KeyLike) => boolean;
  action: ShortcutAction;
}

/** The parts of a KeyboardEvent a shortcut looks at. */
export interface KeyLike {
  key: string;
  code?: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
}

const WORKFLOW_TITLES = ["Record Collector", "Prompt Template Manager", "Request Reviewer", "Insight Assembler", "Admin Dashboard"];

// `code` too: with Alt held, some layouts turn the digit or letter into another character.
const alt = (key: string, code: string) => (k: KeyLike) =>
  k.altKey && !k.ctrlKey && !k.metaKey && (k.key.toLowerCase() === key || k.code === code);

export const SHORTCUTS: Shortcut[] = [
  ...WORKFLOW.map((name, i) => ({
    keys: `Alt+${i + 1}`,
    what: `Open step ${i + 1}, ${WORKFLOW_TITLES[i] ?? name}`,
    matches: alt(String(i + 1), `Digit${i + 1}`),
    action: { kind: "screen", screen: { kind: "remote", name } } as const,
  })),
  { keys: "Alt+R", what: "Open Remotes", matches: alt("r", "KeyR"), action: { kind: "screen", screen: { kind: "page", page: "remotes" } } },
  { keys: "Alt+L", what: "Open Local stack", matches: alt("l", "KeyL"), action: { kind: "screen", screen: { kind: "page", page: "stack" } } },
  { keys: "Alt+S", what: "Open Settings", matches: alt("s", "KeyS"), action: { kind: "screen", screen: { kind: "page", page: "settings" } } },
  { keys: "Alt+U", what: "Check for updates", matches: alt("u", "KeyU"), action: { kind: "check" } },
  { keys: "?", what: "Show these shortcuts", matches: (k) => k.key === "?" && !k.altKey && !k.ctrlKey && !k.metaKey, action: { kind: "help" } },
];

/** Whether a key typed with focus on `target` belongs to what is focused (a field) rather than the shell. */
function typingInto(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** The action for a key press, or null. */
export function shortcutFor(key: KeyLike, target: EventTarget | null): ShortcutAction | null {
  const shortcut = SHORTCUTS.find((s) => s.matches(key));
  if (!shortcut) return null;
  if (!key.altKey && typingInto(target)) return null;
  return shortcut.action;
}

/** Calls `onAction` for each shortcut pressed anywhere in the shell page. */
export function useShortcuts(onAction: (action: ShortcutAction) => void) {
  const latest = useRef(onAction);
  latest.current = onAction;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const action = shortcutFor(event, event.target);
      if (!action) return;
      event.preventDefault();
      latest.current(action);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/**
 * The help overlay: a modal <dialog>, so the browser keeps focus inside it,
 * closes it on Escape and gives focus back to where it was.
 */
export function ShortcutsHelp({ open, onClose }: { open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) {
      if (typeof element.showModal === "function") element.showModal();
      else element.setAttribute("open", "");
    } else if (!open && element.open) {
      element.close();
    }
  }, [open]);
  return (
    <dialog ref={dialog} className="shortcuts-help" data-testid="shortcuts-help" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <th scope="row">
                <kbd>{s.keys}</kbd>
              </th>
              <td>{s.what}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">
              <kbd>Esc</kbd>
            </th>
            <td>Close this list</td>
          </tr>
        </tbody>
      </table>
      {/* showModal() focuses the first focusable element: this button. */}
      <button type="button" data-testid="shortcuts-close" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}
