/** An error caused by the user's input: printed as one line, without a stack trace (exit status 1). */
export class UserError extends Error {}

/** A command line that does not parse: printed with the command's usage (exit status 2). */
export class UsageError extends UserError {
  constructor(
    message: string,
    readonly usage: string
  ) {
    super(message);
  }
}
