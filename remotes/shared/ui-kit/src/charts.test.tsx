// The charts' data shaping is pure and tested directly; the components are
// tested here without a canvas (happy-dom has no 2D context: the table is
// what shows) and with a stand-in 2D context and ResizeObserver, which is
// enough for uPlot to build its DOM but not to check pixels. What a chart
// looks like is checked in the real webview (tests/shell).
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, act, render, screen, waitFor } from "@testing-library/react";
import axe from "axe-core";
import { BarChart, TimeChart, canvasAvailable, chartSummary, chartTable, chartTheme, groupedBarLayout, type ChartSeries } from "./index";

const SERIES: ChartSeries[] = [
  { label: "Answered", values: [3, 5, null] },
  { label: "Failed", values: [0, 1, 2], color: "danger" },
];

async function violations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
}

afterEach(() => {
  // Unmounted first: a chart still on the page would redraw when the theme is reset below.
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  document.documentElement.removeAttribute("data-theme");
});

describe("chart data", () => {
  it("a table has a row per key and a column per series, gaps as a dash", () => {
    expect(chartTable(["Mon", "Tue", "Wed"], SERIES, String)).toEqual({
      head: ["", "Answered", "Failed"],
      rows: [
        ["Mon", "3", "0"],
        ["Tue", "5", "1"],
        ["Wed", "—", "2"],
      ],
    });
  });

  it("the summary names the range and each series' extremes", () => {
    expect(chartSummary("Runs", ["Mon", "Tue", "Wed"], SERIES, String)).toBe("Runs: 3 points, Mon to Wed; Answered from 3 to 5; Failed from 0 to 2.");
    expect(chartSummary("Runs", [], SERIES, String)).toBe("Runs: no data.");
    expect(chartSummary("Runs", ["Mon"], [{ label: "A", values: [null] }], String)).toBe("Runs: 1 point, Mon to Mon; A: no values.");
  });

  it("grouped bars split each category's group evenly between the series", () => {
    const { left, width } = groupedBarLayout(2, 2, 0.8);
    expect(width).toBeCloseTo(0.4);
    expect(left[0][0]).toBeCloseTo(-0.4);
    expect(left[1][0]).toBeCloseTo(0);
    expect(left[0][1]).toBeCloseTo(0.6);
    expect(left[1][1]).toBeCloseTo(1);
  });

  it("colours come from the kit's variables, with fallbacks when unset", () => {
    const theme = chartTheme((name) => (name === "--aui-accent" ? " #5b93f0 " : name === "--aui-border" ? "#333b48" : ""));
    expect(theme.colors.accent).toBe("#5b93f0");
    expect(theme.grid).toBe("#333b48");
    expect(theme.colors.danger).toBe("#c62f2f");
  });
});

describe("without a canvas", () => {
  it("happy-dom has no 2D context", () => {
    expect(canvasAvailable()).toBe(false);
  });

  it("a time chart is its table, open, named by its caption; axe finds nothing", async () => {
    // In a landmark, as on a page (axe's "region" rule).
    render(
      <main>
        <TimeChart label="Runs per day" testId="runs" times={[0, 86_400, 172_800]} series={SERIES} formatTime={(t) => `day ${t / 86_400}`} />
      </main>,
    );
    const figure = screen.getByTestId("runs");
    expect(figure.dataset.drawn).toBe("false");
    expect(screen.queryByRole("img")).toBeNull();
    expect(screen.getByRole("figure", { name: "Runs per day" })).toBe(figure);
    expect(figure.querySelector("details")?.open).toBe(true);
    expect(screen.getByRole("rowheader", { name: "day 1" })).toBeTruthy();
    expect(screen.getAllByRole("cell").map((c) => c.textContent)).toEqual(["", "3", "0", "5", "1", "—", "2"]);
    expect(await violations()).toEqual([]);
  });

  it("a bar chart lists its categories", async () => {
    render(
      <main>
        <BarChart label="Mounts per remote" categories={["alpha", "beta"]} series={[{ label: "Mounts", values: [4, 2] }]} />
      </main>,
    );
    expect(screen.getByRole("rowheader", { name: "beta" })).toBeTruthy();
    expect(await violations()).toEqual([]);
  });
});

/** A 2D context that accepts every call: enough for uPlot to build, nothing is drawn. */
function fakeContext(): CanvasRenderingContext2D {
  const calls: Record<string, unknown> = { measureText: () => ({ width: 10 }) };
  return new Proxy(calls, { get: (target, key: string) => (key in target ? target[key] : () => undefined), set: () => true }) as unknown as CanvasRenderingContext2D;
}

describe("with a canvas", () => {
  it("draws only once its container has a width, so a chart mounted hidden draws when shown", async () => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(() => fakeContext() as never);
    vi.stubGlobal("Path2D", class {
      moveTo() {}
      lineTo() {}
      rect() {}
      arc() {}
      closePath() {}
      addPath() {}
    });
    const observers: ResizeObserverCallback[] = [];
    vi.stubGlobal(
      "ResizeObserver",
      class {
        constructor(callback: ResizeObserverCallback) {
          observers.push(callback);
        }
        observe() {}
        disconnect() {}
      },
    );
    const read = vi.spyOn(CSSStyleDeclaration.prototype, "getPropertyValue");

    render(
      <main>
        <TimeChart label="Cache size" testId="size" times={[0, 60]} series={[{ label: "Bytes", values: [1, 2] }]} steps />
      </main>,
    );

    const figure = screen.getByTestId("size");
    expect(figure.dataset.drawn).toBe("false"); // hidden: no width yet
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("Cache size: 2 points, " + new Date(0).toLocaleString() + " to " + new Date(60_000).toLocaleString() + "; Bytes from 1 to 2.");
    expect(figure.querySelector("details")?.open).toBe(false);

    const shown = [{ contentRect: { width: 480, height: 180 } }] as unknown as ResizeObserverEntry[];
    act(() => observers.forEach((callback) => callback(shown, {} as ResizeObserver)));

    await waitFor(() => expect(figure.dataset.drawn).toBe("true")); // uPlot is imported on the first draw
    expect(figure.querySelector(".uplot canvas")).toBeTruthy();
    expect(read).toHaveBeenCalledWith("--aui-accent");
    expect(document.querySelectorAll("style")).toHaveLength(0);
    expect(await violations()).toEqual([]);

    // A theme change on screen draws again at once, with the colours read afresh.
    read.mockClear();
    await act(async () => {
      document.documentElement.dataset.theme = "dark";
      await new Promise((resolve) => setTimeout(resolve)); // MutationObserver callbacks run as microtasks
    });
    await waitFor(() => expect(read).toHaveBeenCalledWith("--aui-accent"));
    expect(figure.querySelectorAll(".uplot")).toHaveLength(1);

    // Hidden, a theme change draws nothing; shown again, the chart has the new colours.
    const hidden = [{ contentRect: { width: 0, height: 0 } }] as unknown as ResizeObserverEntry[];
    act(() => observers.forEach((callback) => callback(hidden, {} as ResizeObserver)));
    read.mockClear();
    await act(async () => {
      document.documentElement.dataset.theme = "light";
      await new Promise((resolve) => setTimeout(resolve));
    });
    expect(read).not.toHaveBeenCalled();
    act(() => observers.forEach((callback) => callback(shown, {} as ResizeObserver)));
    await waitFor(() => expect(read).toHaveBeenCalledWith("--aui-accent"));
    expect(figure.querySelectorAll(".uplot")).toHaveLength(1);
    // uPlot finishes a draw in a microtask: let it, before the mocks go.
    await act(async () => new Promise((resolve) => setTimeout(resolve)));
  });
});
