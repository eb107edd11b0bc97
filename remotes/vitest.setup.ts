// Unmount what a test rendered, so tests do not see each other's DOM.
import { afterEach } from "vitest";
import { cleanup, configure } from "@testing-library/react";

afterEach(() => cleanup());

// `findBy…`/`waitFor` are deadlines, not delays: on a loaded CI machine
// (builds on both cores) a re-render can take over testing-library's default
// 1 s, which failed a correct test once; 5 s keeps a real hang failing.
configure({ asyncUtilTimeout: 5000 });
