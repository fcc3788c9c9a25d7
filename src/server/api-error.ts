/** The `type` of an OpenAI error object, by the kind of failure. */
export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

/** The body OpenAI's API (and its clients) use for every error. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/**
 * A request the server refuses or could not serve, with its HTTP status and OpenAI's error shape:
 * `param` names the offending field so a client can tell which of its inputs to change.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly opts: { type?: ApiErrorType; param?: string; code?: string; retryAfterS?: number } = {},
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    const type = this.opts.type ?? defaultType(this.status);
    return { error: { message: this.message, type, param: this.opts.param ?? null, code: this.opts.code ?? null } };
  }
}

/** A 400 naming the field at fault. */
export function badField(param: string, message: string): ApiError {
  return new ApiError(400, `${param}: ${message}`, { param });
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}
