// Request Reviewer: the rendered requests for the selected dataset and
// template version, per provider/model: generate, review (approve, reject,
// edit, bulk), estimate tokens and cost, and send them as a run.
import { useCallback, useEffect, useState } from "react";
import { call, type ModelTarget, type ProviderView } from "@augment-it/host-client";
import { useLastEvent } from "@augment-it/messaging";
import { Button, EmptyState, ErrorState, Page, toast } from "@augment-it/ui-kit";
import { Estimate } from "./Estimate";
import { defaultModelOf, describeError, initialProvider, parseRepeats, targetsToGenerate } from "./logic";
import { Requests } from "./Requests";
import { Runs } from "./Runs";
import { Targets } from "./Targets";
import { useBusy } from "./useBusy";

/** What the shell passes to every remote (shell-ui/src/federation.ts HostApi). */
export interface RemoteProps {
  host?: { hostApiVersion: string; remote: { name: string; version: string } };
}

export default function RequestReviewer(_props: RemoteProps) {
  const dataset = useLastEvent("dataset.selected");
  const template = useLastEvent("template.selected");
  // null until the shell has listed them; [] when it could not (the provider is typed then).
  const [providers, setProviders] = useState<ProviderView[] | null>(null);
  const [providersError, setProvidersError] = useState<string | null>(null);
  const [current, setCurrent] = useState<ModelTarget>({ provider: "", model: "" });
  const [chosen, setChosen] = useState<ModelTarget[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  // How many times the run asks each prompt, as typed in the run form; the estimate counts them.
  const [repeats, setRepeats] = useState("1");
  const repeatCount = parseRepeats(repeats);
  const { busy, run } = useBusy();
  const reload = useCallback(() => setVersion((v) => v + 1), []);

  const listProviders = useCallback(() => {
    call("provider_status")
      .then((list) => {
        setProviders(list);
        setProvidersError(null);
        const first = initialProvider(list);
        if (first) setCurrent((c) => (c.provider ? c : { provider: first.provider, model: c.model || defaultModelOf(first) }));
      })
      .catch((err: unknown) => {
        setProviders([]);
        setProvidersError(describeError(err));
      });
  }, []);
  useEffect(listProviders, [listProviders]);

  if (!dataset || !template) {
    return (
      <Page title="Request Reviewer">
        <EmptyState
          title={!dataset ? "No dataset selected" : "No template selected"}
          hint={
            !dataset
              ? "Select or import a dataset in the Record Collector, and a template in the Prompt Template Manager."
              : "Select or save a template in the Prompt Template Manager."
          }
        />
      </Page>
    );
  }

  const chooseProvider = (provider: string) =>
    setCurrent({ provider, model: defaultModelOf(providers?.find((p) => p.provider === provider)) });

  const generate = () =>
    run("generate", async () => {
      const targets = targetsToGenerate(chosen, current);
      if (targets.length === 0) {
        setError("Type a model (or add one) to generate requests for.");
        return;
      }
      try {
        const n = await call("generate_requests", { datasetId: dataset.datasetId, templateVersionId: template.versionId, targets });
        setError(null);
        toast(`${n} requests generated`, "success");
        reload();
      } catch (err) {
        setError(describeError(err));
      }
    });

  return (
    <Page title="Request Reviewer">
      <p data-testid="rr-selection">
        Dataset <strong>{dataset.name}</strong> × template <strong>{template.name}</strong> v{template.version}
      </p>
      <Targets providers={providers} current={current} onCurrent={setCurrent} onProvider={chooseProvider} chosen={chosen} onChosen={setChosen} />
      {providersError && (
        <ErrorState
          title="Could not list the providers: type a provider id instead"
          detail={providersError}
          onRetry={() => {
            setProviders(null);
            setProvidersError(null);
            listProviders();
          }}
        />
      )}
      <Button variant="primary" data-testid="rr-generate" disabled={busy("generate") || !current.provider} onClick={() => void generate()}>
        Generate requests
      </Button>
      {error && (
        <p className="aui-field-error" role="alert" data-testid="rr-error">
          {error}
        </p>
      )}
      <Requests datasetId={dataset.datasetId} templateVersionId={template.versionId} version={version} onChanged={reload} />
      <Estimate
        datasetId={dataset.datasetId}
        templateVersionId={template.versionId}
        version={version}
        repeats={repeatCount === "invalid" ? 1 : repeatCount}
      />
      <Runs datasetId={dataset.datasetId} templateVersionId={template.versionId} onFinished={reload} repeats={repeats} onRepeatsChange={setRepeats} />
    </Page>
  );
}
