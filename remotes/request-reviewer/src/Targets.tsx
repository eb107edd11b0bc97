// Which provider/model pairs to generate requests for: a provider (with its
// key state) and a model, plus any extra pairs added to a small list.
import { Button, SelectField, TextField } from "@augment-it/ui-kit";
import type { ModelTarget, ProviderView } from "@augment-it/host-client";
import { keyLabel, sameTarget, targetLabel } from "./logic";

export interface TargetsProps {
  /** null while the shell lists them. */
  providers: ProviderView[] | null;
  current: ModelTarget;
  onCurrent: (target: ModelTarget) => void;
  onProvider: (provider: string) => void;
  chosen: ModelTarget[];
  onChosen: (targets: ModelTarget[]) => void;
}

export function Targets({ providers, current, onCurrent, onProvider, chosen, onChosen }: TargetsProps) {
  const model = current.model.trim();
  const add = () => {
    if (model && !chosen.some((t) => sameTarget(t, { ...current, model }))) onChosen([...chosen, { ...current, model }]);
    onCurrent({ ...current, model: "" });
  };
  return (
    <div className="rr-targets">
      {providers === null ? (
        <p className="aui-muted" role="status">
          Loading providers…
        </p>
      ) : providers.length > 0 ? (
        <SelectField
          label="Provider"
          testId="rr-provider"
          value={current.provider}
          options={providers.map((p) => ({ value: p.provider, label: `${p.provider} (${keyLabel(p)})` }))}
          onChange={onProvider}
        />
      ) : (
        // The providers could not be listed (the error says why): the id can still be typed.
        <TextField
          label="Provider"
          testId="rr-provider"
          value={current.provider}
          placeholder="e.g. openai"
          onChange={(provider) => onCurrent({ ...current, provider: provider.trim() })}
        />
      )}
      <TextField
        label="Model"
        testId="rr-model"
        required
        value={current.model}
        placeholder="e.g. gpt-4o-mini"
        onChange={(typed) => onCurrent({ ...current, model: typed })}
      />
      <Button onClick={add} disabled={!model}>
        Add model
      </Button>
      {chosen.length > 0 && (
        <ul className="rr-target-list" aria-label="Chosen models">
          {chosen.map((target) => (
            <li key={targetLabel(target)}>
              {targetLabel(target)}{" "}
              <Button aria-label={`Remove ${targetLabel(target)}`} onClick={() => onChosen(chosen.filter((t) => !sameTarget(t, target)))}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
