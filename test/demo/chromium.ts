import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Headless Chromium for the report test. The binary is `MEDSTREAM_CHROMIUM` when set, else
 * `chromium` or `chromium-browser` on PATH. `scripts/test.sh` installs Debian's package when it
 * runs as root; elsewhere the test fails with `HOW_TO_INSTALL`.
 */

export const HOW_TO_INSTALL =
  'Chromium not found (looked for MEDSTREAM_CHROMIUM, then chromium and chromium-browser on ' +
  'PATH). Install it with `bash scripts/chromium.sh` (as root on Debian/Ubuntu: ' +
  '`apt-get install -y --no-install-recommends chromium`), or set MEDSTREAM_CHROMIUM to a ' +
  'Chromium or Chrome binary.';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findChromium(): string | undefined {
  const configured = process.env['MEDSTREAM_CHROMIUM'];
  if (configured !== undefined && configured !== '') {
    if (!executable(configured)) {
      throw new Error(`MEDSTREAM_CHROMIUM=${configured} is not an executable file`);
    }
    return configured;
  }
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (executable(candidate)) return candidate;
    }
  }
  return undefined;
}

export interface ChromiumRun {
  stdout: string;
  stderr: string;
}

/**
 * One headless run with its own profile directory (parallel runs on a shared machine must not
 * share a profile lock) and the browser console logged to stderr.
 */
export async function runChromium(
  binary: string,
  profileDir: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<ChromiumRun> {
  const common = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-extensions',
    '--no-first-run',
    '--no-default-browser-check',
    '--hide-scrollbars',
    `--user-data-dir=${profileDir}`,
    '--enable-logging=stderr',
    '--v=0',
  ];
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...common, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/**
 * Messages the page wrote to the browser console: script errors, Content-Security-Policy
 * violations (a blocked script or external resource), console.* calls. Chromium logs them as
 * `[…:INFO:CONSOLE:n] "message", source: url (line)` (older versions: `CONSOLE(n)`).
 */
export function consoleMessages(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /:CONSOLE[:(]/.test(line));
}
