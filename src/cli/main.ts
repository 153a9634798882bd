#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isMedStreamError } from '../errors.js';
import { registerAnnotateCommand } from './commands/annotate.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerParseCommand } from './commands/parse.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerExportTrainingCommand } from './commands/export-training.js';
import { registerBuildDictionaryCommand } from './commands/build-dictionary.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerExportTextCommand } from './commands/export-text.js';
import { registerProcessCommand } from './commands/process.js';
import { registerSinkCommand } from './commands/sink.js';
import { registerExportGraphCommand } from './commands/export-graph.js';

/**
 * Entrypoint. Each command lives in its own module under ./commands and registers itself on
 * the program; this file only wires them together and turns errors into exit codes.
 */
export function buildProgram(): Command {
  const program = new Command()
    .name('medstream')
    .description('PubMed abstracts → normalized biomedical entities, as a stream.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerDemoCommand(program);
  registerEvalCommand(program);
  registerAnnotateCommand(program);
  registerParseCommand(program);
  registerIngestCommand(program);
  registerExportTrainingCommand(program);
  registerBuildDictionaryCommand(program);
  registerBenchCommand(program);
  registerExportTextCommand(program);
  registerProcessCommand(program);
  registerSinkCommand(program);
  registerExportGraphCommand(program);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isMedStreamError(error)) {
      process.stderr.write(`medstream: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv);
