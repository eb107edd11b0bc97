// Record Collector: placeholder until the screen lands.
import { Page } from "@augment-it/ui-kit";

export default function App() {
  return <Page title="Record Collector"><p>Import CSV, JSON, JSON Lines, YAML and Markdown tables; browse, filter and edit records.</p></Page>;
}
