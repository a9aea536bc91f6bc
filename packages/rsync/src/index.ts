export { RSyncError, UnsafePathError } from './errors.js';
export { type PullOptions, pullDir } from './pull.js';
export {
  type ProgressEvent,
  RSync,
  type RSyncOptions,
  RSyncTargetError,
  type SendOptions,
  type SyncReport,
  type TargetOptions,
  type TargetReport,
} from './rsync.js';
