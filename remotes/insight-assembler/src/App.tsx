// Insight Assembler: placeholder until the screen lands.
import { Page } from "@augment-it/ui-kit";

export default function App() {
  return <Page title="Insight Assembler"><p>Responses next to their records: tag, group, compare models and export.</p></Page>;
}
