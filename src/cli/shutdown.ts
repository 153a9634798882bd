/**
 * The shutdown protocol of long-running commands (`process`, `sink …`): the first SIGTERM or
 * SIGINT aborts a signal the command's stage watches (finish the batch, commit, close); a
 * second one, or the hard timeout armed when the stop begins, exits at once with
 * {@link EXIT_FORCED}. Whatever was not committed is re-read by the next run.
 */

/** Exit code when the shutdown was cut short (second signal or hard timeout). */
export const EXIT_FORCED = 3;
/** How long a finished command may linger on open handles before it exits anyway. */
export const LINGER_MS = 2_000;

export interface Shutdown {
  readonly signal: AbortSignal;
  /** Arms the hard timeout (idempotent): call when the shutdown path begins. */
  arm(): void;
  /** Removes the handlers and the timer; lets the process exit after {@link LINGER_MS}. */
  dispose(): void;
}

export function handleShutdown(command: string, timeoutMs: number): Shutdown {
  const controller = new AbortController();
  const forceExit = (why: string): void => {
    process.stderr.write(`medstream ${command}: ${why}; exiting without a clean shutdown\n`);
    process.exit(EXIT_FORCED);
  };
  const handler = (name: NodeJS.Signals) => (): void => {
    if (controller.signal.aborted) {
      forceExit(`second ${name}`);
      return;
    }
    process.stderr.write(`medstream ${command}: ${name}, finishing the current batch\n`);
    controller.abort();
  };
  const onTerm = handler('SIGTERM');
  const onInt = handler('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  let timer: NodeJS.Timeout | undefined;
  return {
    signal: controller.signal,
    arm: () => {
      timer ??= setTimeout(() => forceExit(`shutdown took longer than ${timeoutMs} ms`), timeoutMs);
      timer.unref();
    },
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      // A client still retrying a connection (stopped while a server was unreachable) must
      // not keep the finished command alive; unref'd, so a clean exit is not delayed.
      setTimeout(() => process.exit(), LINGER_MS).unref();
    },
  };
}
