// The one error type the client throws. It carries what the server said (status, code, message
// and the extra fields of the JSON error body) so callers can branch on `code` without parsing
// text. Failures that never reached a server use status 0 and a client-side code.

/** Codes the client produces itself, next to the server's catalogue codes (docs/errors.md). */
export type ClientSideCode = 'connection_failed' | 'invalid_response' | 'invalid_key';

export class KvsClientError extends Error {
  /** HTTP status, or 0 when no response was received. */
  readonly status: number;
  /** The server's error code (e.g. `not_found`, `version_mismatch`), or a ClientSideCode. */
  readonly code: string;
  /** Every other field of the server's error object (limit, currentVersion, failed, ...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KvsClientError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Builds the error for a non-2xx response from its JSON error body (or plain text on seed routes). */
export async function errorFromResponse(response: Response): Promise<KvsClientError> {
  const text = await response.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isErrorBody(parsed)) {
      const { code, message, ...details } = parsed.error;
      return new KvsClientError(response.status, code, typeof message === 'string' ? message : code, details);
    }
  } catch {
    // Not JSON: the seed routes answer errors in plain text; fall through.
  }
  const message = text.trim() !== '' ? text.trim() : `${response.status} ${response.statusText}`;
  // The seed routes' plain text is `MESSAGE (code)`.
  const seed = /^(.*) \(([a-z_]+)\)$/s.exec(message);
  if (seed) return new KvsClientError(response.status, seed[2]!, seed[1]!);
  return new KvsClientError(response.status, `http_${response.status}`, message);
}

function isErrorBody(
  value: unknown,
): value is { error: { code: string; message?: unknown } & Record<string, unknown> } {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}
