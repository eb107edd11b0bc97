// Prompt Template Manager: placeholder until the screen lands.
import { Page } from "@augment-it/ui-kit";

export default function App() {
  return <Page title="Prompt Template Manager"><p>Prompt templates over record fields, with live preview, missing-field checks and versions.</p></Page>;
}
