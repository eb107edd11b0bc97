// Charts (issue 16, point 4): a time series (lines, or steps) and grouped
// bars over categories, drawn by uPlot on a canvas. uPlot positions its
// parts through the CSSOM (element.style), which the shell's CSP allows, and
// its stylesheet is bundled into the shell's CSS with the kit's own: nothing
// injects a <style> element. Colours are the kit's CSS variables, read when
// drawing and read again when <html data-theme> changes. Every chart is an
// image with a name and a one-line summary, plus its numbers as a table
// ("Show as table"); without a 2D canvas (tests, a locked-down webview) the
// table is all there is, open. uPlot itself is loaded on the first draw (its
// own chunk), so it adds nothing to the shell's start. It needs a valid
// navigator.language when imported (shell-ui/src/language.ts sees to it).
import { useEffect, useId, useMemo, useRef, useState, type ReactNode, type RefObject } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** A series' colour: one of the kit's variables, so both themes work. */
export type ChartColor = "accent" | "success" | "danger" | "warning" | "muted";

export interface ChartSeries {
  label: string;
  /** One value per time or category; `null` is a gap. */
  values: (number | null)[];
  color?: ChartColor;
}

interface ChartCommon {
  /** The chart's accessible name and visible caption. */
  label: string;
  series: ChartSeries[];
  /** How a value reads on the axis and in the table (default: a grouped number). */
  formatValue?: (value: number) => string;
  /** Canvas height in CSS pixels (default 180); the width follows the container. */
  height?: number;
  testId?: string;
}

export interface TimeChartProps extends ChartCommon {
  /** Unix seconds, ascending, one per value. */
  times: number[];
  /** How a time reads in the table (default: the local date and time). */
  formatTime?: (unixSeconds: number) => string;
  /** Hold each value until the next (a level that changes at events, like a size). */
  steps?: boolean;
}

export interface BarChartProps extends ChartCommon {
  /** One group of bars per category. */
  categories: string[];
}

const PALETTE: ChartColor[] = ["accent", "success", "danger", "warning", "muted"];

/** The colour of series `index`: its own, else the palette's in turn. */
export function seriesColor(series: ChartSeries, index: number): ChartColor {
  return series.color ?? PALETTE[index % PALETTE.length];
}

export interface ChartTheme {
  colors: Record<ChartColor, string>;
  text: string;
  grid: string;
  font: string;
}

/** The kit's colours as the theme in effect sets them (`read` is getComputedStyle's getPropertyValue). */
export function chartTheme(read: (variable: string) => string): ChartTheme {
  const value = (name: string, fallback: string) => read(`--aui-${name}`).trim() || fallback;
  return {
    colors: {
      accent: value("accent", "#2f6fde"),
      success: value("success", "#24834a"),
      danger: value("danger", "#c62f2f"),
      warning: value("warning", "#a86a00"),
      muted: value("muted", "#5d6776"),
    },
    text: value("muted", "#5d6776"),
    grid: value("border", "#d9dde3"),
    font: `12px ${value("font", "system-ui, sans-serif")}`,
  };
}

const defaultFormat = (value: number) => value.toLocaleString(undefined, { maximumFractionDigits: 2 });
const defaultTime = (unixSeconds: number) => new Date(unixSeconds * 1000).toLocaleString();

/** The chart's numbers as rows of text: the first column names the time or category. */
export function chartTable(keys: string[], series: ChartSeries[], format: (value: number) => string): { head: string[]; rows: string[][] } {
  return {
    head: ["", ...series.map((s) => s.label)],
    rows: keys.map((key, i) => [key, ...series.map((s) => (s.values[i] == null ? "—" : format(s.values[i])))]),
  };
}

/** One sentence a screen reader says for the image: what is there, and the extremes. */
export function chartSummary(label: string, keys: string[], series: ChartSeries[], format: (value: number) => string): string {
  if (keys.length === 0) return `${label}: no data.`;
  const parts = series.map((s) => {
    const values = s.values.filter((v): v is number => v != null);
    if (values.length === 0) return `${s.label}: no values`;
    return `${s.label} from ${format(Math.min(...values))} to ${format(Math.max(...values))}`;
  });
  return `${label}: ${keys.length} ${keys.length === 1 ? "point" : "points"}, ${keys[0]} to ${keys[keys.length - 1]}; ${parts.join("; ")}.`;
}

/**
 * Where each bar of grouped bars goes: categories sit at x = 0, 1, …; a
 * group spans `groupWidth` around its category, split evenly between the
 * series. Returns each series' left edges and the bar width (x units).
 */
export function groupedBarLayout(categories: number, seriesCount: number, groupWidth = 0.8): { left: number[][]; width: number } {
  const width = groupWidth / Math.max(1, seriesCount);
  const left = Array.from({ length: seriesCount }, (_, s) => Array.from({ length: categories }, (_, c) => c - groupWidth / 2 + s * width));
  return { left, width };
}

/** Whether this document can draw on a canvas (happy-dom cannot). */
export function canvasAvailable(): boolean {
  try {
    return typeof document !== "undefined" && document.createElement("canvas").getContext("2d") != null;
  } catch {
    return false;
  }
}

/** uPlot, imported once for every chart (on the first draw). */
let uplotLibrary: Promise<typeof uPlot> | null = null;
function loadUplot(): Promise<typeof uPlot> {
  uplotLibrary ??= import("uplot").then((module) => module.default);
  return uplotLibrary;
}

/**
 * Calls `listener` when <html data-theme> changes. One observer serves every
 * chart, and a theme change reaches the plots without re-rendering React:
 * re-rendering every (mostly hidden) chart on each switch piled up memory in
 * the web process (~140 KB a switch, measured by tests/shell/endurance.rs).
 */
const themeListeners = new Set<() => void>();
let themeObserver: MutationObserver | null = null;
function onThemeChange(listener: () => void): () => void {
  themeListeners.add(listener);
  if (!themeObserver) {
    themeObserver = new MutationObserver(() => themeListeners.forEach((call) => call()));
    themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }
  return () => {
    themeListeners.delete(listener);
    if (themeListeners.size === 0) {
      themeObserver?.disconnect();
      themeObserver = null;
    }
  };
}

type UPlot = typeof uPlot;
type MakeOptions = (lib: UPlot, theme: ChartTheme, width: number, height: number) => { options: uPlot.Options; data: uPlot.AlignedData };

/**
 * Keeps one uPlot in `host`, sized to it. A hidden remote (display: none)
 * has no width: the plot is made once the ResizeObserver sees one, so a
 * chart mounted hidden draws when shown. Data changes remake it (a few
 * dozen points: cheaper than reconciling); a theme change marks it stale,
 * and it is remade with the new colours now if it is on screen, else when
 * it is shown.
 */
function usePlot(host: RefObject<HTMLDivElement | null>, make: MakeOptions | null, height: number): { drawn: boolean; error: string | null } {
  const [drawn, setDrawn] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const element = host.current;
    if (!element || !make) return;
    let plot: uPlot | null = null;
    let stale = false;
    let live = true;
    let width = 0;
    const draw = () => {
      if (width <= 0) return;
      if (plot && !stale) {
        plot.setSize({ width, height });
        return;
      }
      plot?.destroy();
      plot = null;
      stale = false;
      loadUplot()
        .then((lib) => {
          if (!live || plot || stale || width <= 0) return;
          const theme = chartTheme((name) => getComputedStyle(element).getPropertyValue(name));
          const { options, data } = make(lib, theme, width, height);
          plot = new lib(options, data, element);
          setDrawn(true);
        })
        // The table stays the way to the numbers; the figure says why nothing is drawn.
        .catch((err: unknown) => live && setError(err instanceof Error ? err.message : String(err)));
    };
    width = element.clientWidth;
    draw();
    const observer = new ResizeObserver((entries) => {
      width = Math.floor(entries[entries.length - 1].contentRect.width);
      draw();
    });
    observer.observe(element);
    const stopFollowingTheme = onThemeChange(() => {
      stale = true;
      draw();
    });
    return () => {
      live = false;
      stopFollowingTheme();
      observer.disconnect();
      plot?.destroy();
      setDrawn(false);
    };
  }, [host, make, height]);
  return { drawn, error };
}

function axisOptions(theme: ChartTheme): uPlot.Axis {
  return { stroke: theme.text, font: theme.font, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
}

/** The frame every chart shares: caption, the image, its legend and its table. */
function ChartFrame(props: {
  label: string;
  testId?: string;
  keys: string[];
  series: ChartSeries[];
  format: (value: number) => string;
  drawable: boolean;
  plot: { drawn: boolean; error: string | null };
  host: RefObject<HTMLDivElement | null>;
}): ReactNode {
  const { label, keys, series, format } = props;
  const drawable = props.drawable && props.plot.error == null;
  const captionId = useId();
  const table = chartTable(keys, series, format);
  return (
    <figure className="aui-chart" data-testid={props.testId} data-drawn={props.plot.drawn ? "true" : "false"} data-error={props.plot.error ?? undefined} aria-labelledby={captionId}>
      <figcaption id={captionId} className="aui-chart-caption">
        {label}
      </figcaption>
      {props.drawable && (
        <>
          <div ref={props.host} hidden={!drawable} className="aui-chart-canvas" role="img" aria-label={chartSummary(label, keys, series, format)} />
          <ul className="aui-chart-legend" aria-hidden="true" hidden={!drawable}>
            {series.map((s, i) => (
              <li key={s.label}>
                <span className="aui-chart-swatch" data-color={seriesColor(s, i)} />
                {s.label}
              </li>
            ))}
          </ul>
        </>
      )}
      <details className="aui-chart-table" open={!drawable}>
        <summary>Show as table</summary>
        <table>
          <caption className="aui-visually-hidden">{label}</caption>
          <thead>
            <tr>
              {table.head.map((cell, i) => (i === 0 ? <td key={i} /> : <th key={i} scope="col">{cell}</th>))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, r) => (
              <tr key={r}>
                <th scope="row">{row[0]}</th>
                {row.slice(1).map((cell, i) => (
                  <td key={i}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Values over time: lines, or steps for a level that changes at events. Pass stable arrays (useMemo): new ones redraw. */
export function TimeChart({ label, times, series, formatValue = defaultFormat, formatTime = defaultTime, steps = false, height = 180, testId }: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const [drawable] = useState(canvasAvailable);
  const make = useMemo<MakeOptions | null>(() => {
    if (!drawable) return null;
    return (lib, theme, width, h) => ({
      data: [times, ...series.map((s) => s.values)] as uPlot.AlignedData,
      options: {
        width,
        height: h,
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [axisOptions(theme), { ...axisOptions(theme), size: 64, values: (_u, splits) => splits.map(formatValue) }],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: theme.colors[seriesColor(s, i)],
            width: 2,
            points: { show: times.length < 40 },
            ...(steps ? { paths: lib.paths.stepped?.({ align: 1 }) } : {}),
          })),
        ],
      },
    });
  }, [drawable, times, series, formatValue, steps]);
  const plot = usePlot(host, make, height);
  const keys = useMemo(() => times.map(formatTime), [times, formatTime]);
  return <ChartFrame label={label} testId={testId} keys={keys} series={series} format={formatValue} drawable={drawable} plot={plot} host={host} />;
}

/** Grouped bars: one group per category, one bar per series. Pass stable arrays (useMemo): new ones redraw. */
export function BarChart({ label, categories, series, formatValue = defaultFormat, height = 180, testId }: BarChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const [drawable] = useState(canvasAvailable);
  const make = useMemo<MakeOptions | null>(() => {
    if (!drawable) return null;
    const layout = groupedBarLayout(categories.length, series.length);
    const xs = categories.map((_, i) => i);
    return (lib, theme, width, h) => ({
      data: [xs, ...series.map((s) => s.values)] as uPlot.AlignedData,
      options: {
        width,
        height: h,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: () => [-0.5, categories.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          { ...axisOptions(theme), grid: { show: false }, splits: () => xs, values: (_u, splits) => splits.map((v) => categories[v] ?? "") },
          { ...axisOptions(theme), size: 64, values: (_u, splits) => splits.map(formatValue) },
        ],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            fill: theme.colors[seriesColor(s, i)],
            stroke: theme.colors[seriesColor(s, i)],
            width: 0,
            points: { show: false },
            paths: lib.paths.bars?.({
              disp: { x0: { unit: 1, values: () => layout.left[i] }, size: { unit: 1, values: () => [layout.width] } },
            }),
          })),
        ],
      },
    });
  }, [drawable, categories, series, formatValue]);
  const plot = usePlot(host, make, height);
  return <ChartFrame label={label} testId={testId} keys={categories} series={series} format={formatValue} drawable={drawable} plot={plot} host={host} />;
}
