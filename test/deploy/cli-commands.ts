import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

/**
 * The `medstream` command tree as the entrypoint builds it, for checking the arguments that
 * deployment files pass to the image. src/cli/main.ts runs the program when imported, so it is
 * read instead: every `registerXCommand(program)` it calls, imported from the module it names,
 * is applied to a fresh program. A command module that exists but is not wired into main.ts is
 * therefore not a command, just as for the real CLI.
 */

const MAIN_URL = new URL('../../src/cli/main.ts', import.meta.url);

interface Registration {
  readonly fn: string;
  readonly module: URL;
}

export function registrationsInMain(source = readFileSync(MAIN_URL, 'utf8')): Registration[] {
  const modules = new Map<string, string>();
  for (const m of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(\.\/commands\/[\w-]+)\.js'/g)) {
    for (const name of m[1].split(',').map((s) => s.trim())) {
      if (name !== '') modules.set(name, m[2]);
    }
  }
  const body = /function buildProgram\(\)[^{]*\{([\s\S]*?)\n\}/.exec(source)?.[1];
  if (body === undefined) throw new Error('src/cli/main.ts: buildProgram() not found');
  const calls = [...body.matchAll(/\b(register\w+Command)\(program\)/g)].map((m) => m[1]);
  if (calls.length === 0) throw new Error('src/cli/main.ts: no register*Command(program) calls');
  return calls.map((fn) => {
    const module = modules.get(fn);
    if (module === undefined)
      throw new Error(`src/cli/main.ts: ${fn} is not imported from ./commands`);
    return { fn, module: new URL(`${module.replace('./', '../../src/cli/')}.ts`, import.meta.url) };
  });
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap((c) => allCommands(c))];
}

/** The full path of a command below the program, e.g. `sink opensearch`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent != null; at = at.parent)
    names.unshift(at.name());
  return names.join(' ');
}

/**
 * A fresh program with every command registered as main.ts does, with actions replaced by one
 * that only records which command was chosen and output silenced.
 */
export async function buildInertProgram(
  mainSource?: string,
): Promise<{ program: Command; chosen: () => string | undefined }> {
  const program = new Command().name('medstream');
  for (const { fn, module } of registrationsInMain(mainSource)) {
    const exports = (await import(module.href)) as Record<string, unknown>;
    const register = exports[fn];
    if (typeof register !== 'function') throw new Error(`${module.pathname} does not export ${fn}`);
    (register as (program: Command) => void)(program);
  }
  let chosen: string | undefined;
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    if (command.commands.length === 0 && command !== program) {
      command.action(() => {
        chosen = commandPath(command);
      });
    }
  }
  return { program, chosen: () => chosen };
}

/** Every runnable (leaf) command path, e.g. `process`, `ingest eutils`. */
export async function leafCommandPaths(): Promise<string[]> {
  const { program } = await buildInertProgram();
  return allCommands(program)
    .filter((c) => c !== program && c.commands.length === 0)
    .map((c) => commandPath(c))
    .sort();
}

/**
 * Parses `args` (what follows `node dist/cli/main.js`) exactly as the CLI would — unknown
 * commands and options, missing required options and invalid values fail — and returns the
 * command it selects. Throws an Error naming the problem otherwise.
 */
export async function resolveCliArgs(
  args: readonly string[],
  mainSource?: string,
): Promise<string> {
  const { program, chosen } = await buildInertProgram(mainSource);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      throw new Error(`medstream ${args.join(' ')}: ${error.code}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const path = chosen();
  if (path === undefined) throw new Error(`medstream ${args.join(' ')}: selects no command`);
  return path;
}
