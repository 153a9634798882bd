import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Link, Span, Tracer } from '@opentelemetry/api';
import { isMedStreamError } from '../errors.js';
import { AttributeKeys } from './instruments.js';

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Given at creation so samplers see them (batch consumers link to their inputs). */
  links?: Link[];
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
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      attributes: options.attributes ?? {},
      ...(options.links === undefined ? {} : { links: options.links }),
    },
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        recordFailure(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Marks `span` failed: exception event, error status, the MedStreamError code as an attribute. */
export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  if (isMedStreamError(error)) span.setAttribute(AttributeKeys.errorCode, error.code);
}
