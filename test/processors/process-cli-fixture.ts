// `medstream process` exactly as the CLI registers it, with the deterministic keyword annotator
// instead of the ONNX model: the kill -9 test runs this when no served model is available.
//   node --import tsx test/processors/process-cli-fixture.ts process [options]
// TEST_ANNOTATOR_DELAY_MS simulates model time per article.
import { Command, CommanderError } from 'commander';
import { registerProcessCommand } from '../../src/cli/commands/process.js';
import { isMedStreamError } from '../../src/errors.js';
import { KeywordAnnotator } from './keyword-annotator.js';

const program = new Command().name('medstream').exitOverride();
registerProcessCommand(program, {
  annotatorFactory: () =>
    Promise.resolve(
      new KeywordAnnotator({ delayMsPerArticle: Number(process.env.TEST_ANNOTATOR_DELAY_MS ?? 0) }),
    ),
});
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (isMedStreamError(error)) {
    process.stderr.write(`medstream: ${error.message} [${error.code}]\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
