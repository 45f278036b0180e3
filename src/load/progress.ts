// The progress display: on a terminal, a cli-progress bar (connections while ramping, seconds while
// holding, bursts while bursting) with the interval lines printed above it; anywhere else (a pipe, CI, a
// file) just the interval lines, so logs stay readable.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Shows `value` of `total` with a label (the stage) and a short status after the bar. */
  show(stage: string, value: number, total: number, status: string): void;
  log(line: string): void;
  stop(): void;
}

export function progressOn(stream: NodeJS.WriteStream, bar: boolean): Progress {
  if (!bar || stream.isTTY !== true) {
    return { show: () => undefined, log: (line) => void stream.write(`${line}\n`), stop: () => undefined };
  }
  const multibar = new cliProgress.MultiBar(
    { stream, format: ' {stage} [{bar}] {value}/{total} · {status}', barsize: 30, hideCursor: true, clearOnComplete: true, fps: 5, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const single = multibar.create(1, 0, { stage: 'starting', status: '' });
  return {
    show(stage, value, total, status) {
      single.setTotal(Math.max(1, total));
      single.update(Math.min(value, Math.max(1, total)), { stage: stage.padEnd(11), status });
    },
    log(line) {
      multibar.log(`${line}\n`);
    },
    stop() {
      multibar.stop();
    },
  };
}
