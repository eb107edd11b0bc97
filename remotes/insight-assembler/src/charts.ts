// What the Insight Assembler's charts draw, from `response_stats`: per model
// the mean answer length and the list-price cost, and the tag counts. Pure,
// so it is tested without a shell or canvas.
import type { ResponseStats } from "@augment-it/host-client";
import type { ChartSeries } from "@augment-it/ui-kit";

export interface Bars {
  categories: string[];
  series: ChartSeries[];
}

const modelName = (m: { provider: string; model: string }) => `${m.provider}/${m.model}`;

/** Mean characters of an answer per model (no bar for a model with no answer). */
export function answerLength(stats: ResponseStats): Bars {
  return {
    categories: stats.models.map(modelName),
    series: [{ label: "Mean answer length (characters)", values: stats.models.map((m) => (m.meanAnswerChars == null ? null : Math.round(m.meanAnswerChars))) }],
  };
}

/** Cost per model in US dollars at list price (no bar for a model without a listed price). */
export function costPerModel(stats: ResponseStats): Bars {
  return {
    categories: stats.models.map(modelName),
    series: [{ label: "Cost (USD)", values: stats.models.map((m) => m.costUsd), color: "warning" }],
  };
}

/** Responses per tag, the most used first. */
export function tagCounts(stats: ResponseStats): Bars {
  return {
    categories: stats.tags.map((t) => t.tag),
    series: [{ label: "Responses", values: stats.tags.map((t) => t.count), color: "success" }],
  };
}

/** Models whose cost is unknown (not in the price table), for a note under the chart. */
export function unpricedModels(stats: ResponseStats): string[] {
  return stats.models.filter((m) => m.costUsd == null && m.answers > 0).map(modelName);
}

/** "$0.0123" below a cent, "$1.23" above. */
export function formatUsd(value: number): string {
  return value !== 0 && Math.abs(value) < 0.01 ? `$${value.toPrecision(3)}` : `$${value.toFixed(2)}`;
}
