// Which provider/model pairs to generate requests for: a provider (with its
// key state) and a model, plus any extra pairs added to a small list.
import { Button } from "@augment-it/ui-kit";
import type { ModelTarget, ProviderView } from "@augment-it/host-client";
import { InputField, SelectBox } from "./Field";
import { keyIsSet, sameTarget, targetLabel } from "./logic";

export interface TargetsProps {
  providers: ProviderView[];
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
      {providers.length > 0 ? (
        <SelectBox label="Provider" testId="rr-provider" value={current.provider} onChange={(e) => onProvider(e.target.value)}>
          {providers.map((p) => (
            <option key={p.provider} value={p.provider}>
              {p.provider} ({keyIsSet(p) ? "key set" : "no key"})
            </option>
          ))}
        </SelectBox>
      ) : (
        // The providers could not be listed (the error says why): the id can still be typed.
        <InputField
          label="Provider"
          testId="rr-provider"
          value={current.provider}
          placeholder="e.g. openai"
          onChange={(e) => onCurrent({ ...current, provider: e.target.value.trim() })}
        />
      )}
      <InputField
        label="Model"
        testId="rr-model"
        required
        value={current.model}
        placeholder="e.g. gpt-4o-mini"
        onChange={(e) => onCurrent({ ...current, model: e.target.value })}
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
