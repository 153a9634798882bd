import { Neo4jError } from 'neo4j-driver';
import { MedStreamError, isMedStreamError } from '../../errors.js';

/**
 * Failures of the Neo4j driver, sorted by what the loader does about them:
 *
 *   retriable  the server or the connection is gone or busy — ServiceUnavailable,
 *              SessionExpired, any `Neo.TransientError.*` except memory limits (deadlocks, a
 *              database still starting, a leader switch), raw socket errors. The batch is
 *              retried with backoff until the write's signal aborts. (SERVICE_UNAVAILABLE or
 *              NETWORK)
 *   record     the server refused the data of this transaction — a constraint violation, a
 *              value it cannot store or index, a transaction too big for its memory or time
 *              limits. Retrying the same batch fails again; the batch is bisected until the
 *              record that fails alone is found and rejected. (SINK_REJECTED)
 *   fatal      configuration or programming errors — bad credentials, a missing database, a
 *              Cypher syntax error. Thrown, never retried: no batch can succeed until someone
 *              fixes them. (CONFIG_INVALID; unknown errors are rethrown as they are)
 *
 * Classification uses the server's status codes (`Neo.ClientError.Schema.…`), never message
 * text.
 */
export type Neo4jFailureKind = 'retriable' | 'record' | 'fatal';

/** The error to report or throw: a MedStreamError, or for `fatal` also the original error. */
export type ClassifiedFailure =
  | { readonly kind: 'retriable' | 'record'; readonly error: MedStreamError }
  | { readonly kind: 'fatal'; readonly error: unknown };

/** Transient by class, but a smaller transaction is the cure, not a later one. */
const MEMORY_LIMITS = new Set([
  'Neo.TransientError.General.MemoryPoolOutOfMemoryError',
  'Neo.TransientError.General.TransactionMemoryLimit',
  'Neo.TransientError.General.OutOfMemoryError',
]);

const RECORD_ERRORS = new Set([
  'Neo.ClientError.Schema.ConstraintValidationFailed',
  'Neo.ClientError.Statement.ArgumentError',
  'Neo.ClientError.Statement.TypeError',
  'Neo.ClientError.Statement.ArithmeticError',
  'Neo.ClientError.Statement.ConstraintVerificationFailed',
  'Neo.ClientError.Transaction.TransactionTimedOut',
  'Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration',
  // E.g. "Property value is too large to index".
  'Neo.DatabaseError.Statement.ExecutionFailed',
]);

/** Leader switches and read-only phases of a cluster: the next try may reach a writer. */
const ROUTING_ERRORS = new Set([
  'Neo.ClientError.Cluster.NotALeader',
  'Neo.ClientError.General.ForbiddenOnReadOnlyDatabase',
  'Neo.ClientError.Security.AuthorizationExpired',
]);

const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function classifyNeo4jError(error: unknown, what: string): ClassifiedFailure {
  if (isMedStreamError(error)) {
    // Already classified (e.g. by the retry loop inside a bisected write).
    if (error.code === 'SINK_REJECTED') return { kind: 'record', error };
    return error.retriable ? { kind: 'retriable', error } : { kind: 'fatal', error };
  }
  if (error instanceof Neo4jError) {
    const code = error.code;
    const message = `${what}: ${code}: ${error.message}`;
    const details = { neo4jCode: code };
    if (MEMORY_LIMITS.has(code) || RECORD_ERRORS.has(code)) {
      return {
        kind: 'record',
        error: new MedStreamError('SINK_REJECTED', message, { cause: error, details }),
      };
    }
    if (
      code === 'ServiceUnavailable' ||
      code === 'SessionExpired' ||
      code.startsWith('Neo.TransientError.') ||
      ROUTING_ERRORS.has(code)
    ) {
      return {
        kind: 'retriable',
        error: new MedStreamError('SERVICE_UNAVAILABLE', message, { cause: error, details }),
      };
    }
    if (code.startsWith('Neo.ClientError.Security.')) {
      return {
        kind: 'fatal',
        error: new MedStreamError(
          'CONFIG_INVALID',
          `${message} (check NEO4J_USER / NEO4J_PASSWORD and the user's privileges)`,
          { cause: error, details },
        ),
      };
    }
    if (code === 'Neo.ClientError.Database.DatabaseNotFound') {
      return {
        kind: 'fatal',
        error: new MedStreamError(
          'CONFIG_INVALID',
          `${message} (check NEO4J_DATABASE; Neo4j Community Edition has only \`neo4j\`)`,
          { cause: error, details },
        ),
      };
    }
    return { kind: 'fatal', error };
  }
  const errno = (error as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && SOCKET_ERRORS.has(errno)) {
    return {
      kind: 'retriable',
      error: new MedStreamError('NETWORK', `${what}: ${errorMessage(error)}`, {
        cause: error,
        details: { errno },
      }),
    };
  }
  return { kind: 'fatal', error };
}
