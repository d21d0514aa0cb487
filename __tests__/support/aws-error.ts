// An error shaped as the SDK throws EC2's: the error code is the name.
export function awsError(code: string, message = code): Error {
  const error = new Error(message)
  error.name = code
  return error
}
