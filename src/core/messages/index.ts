/**
 * Every user-facing text of tails-build, in one place: one file per domain,
 * each naming the problem, the fact behind it and the next command.
 *
 * - build.ts: the project, its git checkout, the builder box, ISO builds and build options
 * - doctor.ts: `tails-build doctor` (titles, install commands, details)
 * - snapshots.ts: APT snapshot serials and fetching snapshots
 * - snapshot-store.ts: the local snapshot store (`snapshots mirror`, `snapshots serve`)
 * - box-store.ts: importing, listing and removing builder boxes
 * - tails-git.ts: the git state of a Tails build (branch or tag, base branch, changelog date)
 * - tails-submodules.ts: a Tails build's submodules, which the build VM clones from the checkout's .git/modules
 * - vm.ts: `tails-build vm …` (status, ssh)
 * - files.ts: host filesystem failures (full, quota, permissions, read-only)
 */
export { messages } from './build.js';
export { doctorMessages } from './doctor.js';
export { snapshotMessages } from './snapshots.js';
export { snapshotStoreMessages } from './snapshot-store.js';
export { boxStoreMessages } from './box-store.js';
export { vmMessages } from './vm.js';
export { tailsGitMessages } from './tails-git.js';
export { tailsSubmoduleMessages } from './tails-submodules.js';
export { classifyFilesystemError, fileMessages } from './files.js';
