export { startSidecar, type SidecarHandle, type SidecarIo, type SidecarDeps } from './sidecar.js';
export { EXIT_CODES, exitCodeForError, type ExitCode } from './exit-codes.js';
