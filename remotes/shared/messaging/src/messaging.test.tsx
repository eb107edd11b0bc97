import { describe, expect, it, vi } from "vitest";
import { act, render, screen } from "@testing-library/react";
import { createEventBus, installShellBus, shellBus, useEvent, useLastEvent, type AugmentEvents } from "./index";

describe("event bus", () => {
  it("delivers a typed payload to every subscriber until it unsubscribes", () => {
    const bus = createEventBus<AugmentEvents>();
    const got: number[] = [];
    const off = bus.on("dataset.selected", (p) => got.push(p.datasetId));
    bus.emit("dataset.selected", { datasetId: 1, name: "First" });
    off();
    bus.emit("dataset.selected", { datasetId: 2, name: "Second" });
    expect(got).toEqual([1]);
    expect(bus.last("dataset.selected")?.datasetId).toBe(2);
  });

  it("a throwing handler does not stop the others", () => {
    const errors: string[] = [];
    const bus = createEventBus<AugmentEvents>((type) => errors.push(type));
    const second = vi.fn();
    bus.on("run.finished", () => {
      throw new Error("boom");
    });
    bus.on("run.finished", second);
    bus.emit("run.finished", { runId: 1, datasetId: 1, answered: 3, failed: 0, status: "completed" });
    expect(second).toHaveBeenCalledOnce();
    expect(errors).toEqual(["run.finished"]);
  });
});

describe("the shell's bus", () => {
  it("remotes reach the bus the shell installed, through hooks", () => {
    const bus = createEventBus<AugmentEvents>();
    installShellBus(bus);
    expect(shellBus()).toBe(bus);
    const finished: number[] = [];
    function Listener() {
      useEvent("run.finished", (p) => finished.push(p.runId));
      const dataset = useLastEvent("dataset.selected");
      return <p>{dataset ? `dataset ${dataset.name}` : "no dataset"}</p>;
    }
    render(<Listener />);
    expect(screen.getByText("no dataset")).toBeTruthy();
    act(() => {
      bus.emit("dataset.selected", { datasetId: 7, name: "Reviews" });
      bus.emit("run.finished", { runId: 9, datasetId: 7, answered: 1, failed: 1, status: "completed" });
    });
    expect(screen.getByText("dataset Reviews")).toBeTruthy();
    expect(finished).toEqual([9]);
  });
});
