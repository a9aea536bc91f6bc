/** The one error @tsnet/test adds: a run that cannot start (no files, a bad option, a reporter that does not load). */
import { TsnetError } from '@tsnet/core';

export class TestRunError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'TSNET_ERR_TEST' });
  }
}
