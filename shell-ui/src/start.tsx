import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { preloadStartScreen } from "./preload";
import { readStartState } from "./start-state";

performance.mark("augment:react-loaded");
// The first screen's code loads while React renders the app (preload.ts).
void preloadStartScreen(readStartState(), window.location.hash.replace(/^#/, "") || "/");
const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
