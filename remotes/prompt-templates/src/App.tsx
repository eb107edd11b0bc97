// The Prompt Template Manager: templates over the selected dataset's record
// fields (minijinja `{{ field }}` on the Rust side), a live preview against a
// chosen record, missing fields flagged before any request is made, and
// template versions. The dataset comes from the Record Collector through
// "dataset.selected" on the shell's bus.
import { useLastEvent } from "@augment-it/messaging";
import { EmptyState, Page } from "@augment-it/ui-kit";
import { TemplateManager } from "./TemplateManager";

/** What the shell passes to every remote (shell-ui/src/federation.ts HostApi). */
export interface PromptTemplatesProps {
  host?: { hostApiVersion: string; remote: { name: string; version: string } };
}

export default function PromptTemplates(_props: PromptTemplatesProps) {
  const dataset = useLastEvent("dataset.selected");
  return (
    <Page title="Prompt Template Manager">
      {dataset ? (
        // Not keyed by dataset: switching datasets keeps the body being edited
        // and checks it against the new dataset's columns.
        <TemplateManager datasetId={dataset.datasetId} datasetName={dataset.name} />
      ) : (
        <EmptyState title="No dataset selected" hint="Pick or import a dataset in the Record Collector first; its fields become the template's placeholders." />
      )}
    </Page>
  );
}
