import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { isMedStreamError } from '../errors.js';
import { AttributeKeys } from './instruments.js';

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` in an active span that ends when `fn` settles. A failure is recorded on the span
 * (exception event, error status, the MedStreamError code as an attribute) and rethrown.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        if (isMedStreamError(error)) span.setAttribute(AttributeKeys.errorCode, error.code);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
