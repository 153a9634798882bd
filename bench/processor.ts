/**
 * Processor benchmark: `npm run bench -- --json` (the same command as `medstream bench --json`;
 * options: `npm run bench -- --help`). The logic lives in src/processors/bench/.
 */
import { Command, CommanderError } from 'commander';
import { registerBenchCommand } from '../src/cli/commands/bench.js';
import { isMedStreamError } from '../src/errors.js';

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command().name('bench').exitOverride();
  registerBenchCommand(program);
  try {
    await program.parseAsync(['node', 'bench', 'bench', ...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isMedStreamError(error)) {
      process.stderr.write(`bench: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
