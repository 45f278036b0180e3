// What an unexpected end of a connection means for the next step: try again (with the server's hint), or
// stop because retrying cannot help. Closes the application asked for never get here.
import { CloseCodes, retryHintOf } from '../core/protocol.js';
import type { CloseInfo } from './ports.js';
import type { ClientErrorCode } from './types.js';

export type CloseVerdict =
  { readonly retry: true; readonly hintMs: number | null } | { readonly retry: false; readonly code: ClientErrorCode; readonly message: string };

// 1008 covers both "slow consumer" (come back, and catch up via since) and rejected credentials (coming
// back only hammers the server). The reason text is the only thing that tells them apart.
const AUTH_REASON = /auth|token|credential|forbidden|unauthori[sz]ed|permission/i;

export function judgeClose(info: CloseInfo): CloseVerdict {
  const status = info.httpStatus;
  if (status === 401 || status === 403) {
    return { retry: false, code: 'auth_rejected', message: `upgrade refused with HTTP ${status}` };
  }
  // 408 and 429 are the 4xx answers that mean "later"; any other 4xx will be refused the same way again.
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { retry: false, code: 'refused', message: `upgrade refused with HTTP ${status}` };
  }
  if (info.code === CloseCodes.policy && AUTH_REASON.test(info.reason)) {
    return { retry: false, code: 'auth_rejected', message: `closed 1008: ${info.reason}` };
  }
  return { retry: true, hintMs: info.retryAfterMs ?? retryHintOf(info.reason) };
}
