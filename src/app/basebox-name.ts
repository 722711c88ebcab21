/** Observe the box definition dir in git and name the builder box from it. */
import { join } from 'node:path';
import { computeBaseboxName, type BaseboxIdentity } from '../core/basebox.js';
import { messages } from '../core/messages/index.js';
import type { ProjectConfig } from '../core/project.js';
import type { Deps } from './deps.js';

export interface BaseboxNameResult extends BaseboxIdentity {
  readonly definitionDir: string;
  /** Author time of the commit the box is named after: the box's SOURCE_DATE_EPOCH. */
  readonly sourceDateEpoch: number;
  /** Uncommitted changes in the definition dir that the name does not reflect (only with ignoreChanges). */
  readonly uncommittedChanges: readonly string[];
}

export async function findBaseboxName(
  deps: Pick<Deps, 'git' | 'files'>,
  project: ProjectConfig,
  options: { ignoreChanges: boolean },
): Promise<BaseboxNameResult> {
  const dir = project.boxDefinitionDir;
  await deps.git.readHead(project.root); // a repository without commits gets its own message
  if (!(await deps.files.isDirectory(join(project.root, dir)))) {
    throw messages.basebox.definitionDirMissing(project.root, dir);
  }
  const status = await deps.git.readStatus(project.root, dir);
  if (status.length > 0 && !options.ignoreChanges) throw messages.basebox.dirtyDefinition(dir, status);
  const last = await deps.git.findLastCommitTouching(project.root, dir);
  if (last === undefined) throw messages.basebox.noCommitTouching(project.root, dir);
  const identity = computeBaseboxName({
    prefix: project.boxNamePrefix,
    arch: project.arch,
    codename: project.codename,
    date: last.authorDate,
    shortId: last.shortId,
  });
  return { ...identity, definitionDir: dir, sourceDateEpoch: last.authorTime, uncommittedChanges: status };
}
