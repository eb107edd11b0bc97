// Unmount what a test rendered, so tests do not see each other's DOM.
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";

afterEach(() => cleanup());
