// The chart calls name their commands and pass the arguments the shell reads.
import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { chartData, utcOffsetMinutes } from "./index";

afterEach(() => clearMocks());

describe("chart data", () => {
  it("the UTC offset is minutes east of UTC", () => {
    // getTimezoneOffset is minutes west: UTC+2 reports -120.
    expect(utcOffsetMinutes({ getTimezoneOffset: () => -120 } as Date)).toBe(120);
    expect(utcOffsetMinutes({ getTimezoneOffset: () => 300 } as Date)).toBe(-300);
    expect(Object.is(utcOffsetMinutes({ getTimezoneOffset: () => 0 } as Date), 0)).toBe(true); // not -0
  });

  it("each call invokes its command with camelCase arguments", async () => {
    const seen: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      seen.push({ cmd, args });
      return cmd === "run_activity" ? { days: [], providers: [] } : [];
    });
    await chartData.cacheSizeHistory();
    await chartData.remoteLoadStats(7);
    expect(await chartData.runActivity(30)).toEqual({ days: [], providers: [] });
    await chartData.responseStats(4, null);
    expect(seen.map((s) => s.cmd)).toEqual(["cache_size_history", "remote_load_stats", "run_activity", "response_stats"]);
    expect(seen[1].args).toEqual({ days: 7 });
    expect(seen[2].args).toEqual({ days: 30, utcOffsetMinutes: utcOffsetMinutes() });
    expect(seen[3].args).toEqual({ datasetId: 4, templateVersionId: null });
  });
});
