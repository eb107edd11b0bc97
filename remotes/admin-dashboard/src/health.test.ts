import { describe, expect, it } from "vitest";
import type { StackView } from "@augment-it/host-client";
import { formatBytes, stackSummary } from "./health";

const service = (name: string, health: "healthy" | "unhealthy", state: "running" | "exited" = "running") => ({
  service: name,
  state,
  health,
  port: null,
  detail: null,
});
const view = (services: StackView["services"], healthy: boolean): StackView => ({
  stack: "augment-it",
  engine: { endpoint: "unix:///var/run/docker.sock", kind: "docker", api_version: "1.45" },
  services,
  healthy,
  busy: null,
  lastImport: null,
});

describe("formatBytes", () => {
  it("keeps bytes whole and scales by 1024", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(10 * 1024 * 1024)).toBe("10.0 MiB");
  });
});

describe("stackSummary", () => {
  it("says how to start the engine when none answers", () => {
    expect(stackSummary({ error: { code: "engineNotRunning", message: "Docker is not running" } })).toContain("start Docker or Podman");
  });
  it("counts healthy services", () => {
    expect(stackSummary({ view: view([service("gateway", "healthy"), service("parsers", "healthy")], true) })).toBe(
      "Healthy: all 2 services up.",
    );
    expect(stackSummary({ view: view([service("gateway", "healthy"), service("parsers", "unhealthy")], false) })).toBe(
      "Degraded: 1 of 2 services healthy.",
    );
    expect(stackSummary({ view: view([service("gateway", "unhealthy", "exited")], false) })).toContain("Stopped");
  });
});
