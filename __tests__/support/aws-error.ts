// An error shaped as the SDK throws AWS's: the error code is the name; `$metadata` as the SDK's
// retry layer leaves it (the last answer's HTTP status, and how many attempts were made).
export function awsError(code: string, message = code, metadata?: { httpStatusCode?: number; attempts?: number }): Error {
  const error = new Error(message) as Error & { $metadata?: typeof metadata }
  error.name = code
  if (metadata) error.$metadata = metadata
  return error
}
