// A long bench wait says how far it got, but not at every poll: a line at most
// every `intervalMs`, its text made only when it is due (it may cost a scrape).

export type Progress = (line: () => string | Promise<string>) => Promise<void>;

export function progressEvery(intervalMs: number, log: (line: string) => void): Progress {
  let last = performance.now();
  return async (line) => {
    if (performance.now() - last < intervalMs) return;
    last = performance.now();
    log(await line());
  };
}
